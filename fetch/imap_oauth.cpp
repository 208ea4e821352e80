// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// IMAP AUTHENTICATE OAUTHBEARER / XOAUTH2 (RFC 7628 over RFC 9051 6.2.2), written on the
// stream by hand: libetpan's mailimap_authenticate() goes through Cyrus SASL, which has no
// such mechanisms here, and it cannot answer a failure challenge. With SASL-IR (RFC 4959) the
// initial response goes on the command line, else after the server's "+". A failure
// challenge ("+ " base64 JSON) is decoded, then answered as RFC 7628 3.2.3 asks; the tagged
// NO follows. The response is written as private data: the trace shows ********.

#include <string.h>  // explicit_bzero

#include <optional>
#include <string>
#include <string_view>

#include "fetch/imap_internal.hpp"
#include "fetch/pop3_auth.hpp"  // base64()

namespace clamfetch::fetch::imap {
namespace {

int write_line(mailimap* imap, std::string_view text, bool secret) {
  mailstream* stream = imap->imap_stream;
  if (secret) mailstream_set_privacy(stream, 0);
  std::string line = std::string(text) + "\r\n";
  ssize_t n = mailstream_write(stream, line.data(), line.size());
  int r = n == static_cast<ssize_t>(line.size()) && mailstream_flush(stream) != -1
              ? MAILIMAP_NO_ERROR
              : MAILIMAP_ERROR_STREAM;
  if (secret) {
    mailstream_set_privacy(stream, 1);
    explicit_bzero(line.data(), line.size());
  }
  return r;
}

/// The text of a continuation line ("+ text" or a bare "+").
std::string_view continuation_text(const char* line) {
  std::string_view text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  text.remove_prefix(text.size() >= 2 && text[1] == ' ' ? 2 : 1);
  return text;
}

/// Reads lines up to the next continuation request ('+', returned) or tagged reply (nullptr
/// returned, the line left in libetpan's buffer), skipping untagged data (a CAPABILITY, an
/// ALERT). Sets `r` to a stream error when the connection fails.
const char* next_continuation(mailimap* imap, int& r) {
  for (;;) {
    const char* line = mailimap_read_line(imap);
    if (line == nullptr) {
      r = MAILIMAP_ERROR_STREAM;
      return nullptr;
    }
    if (line[0] == '+') return line;
    if (line[0] != '*') return nullptr;
  }
}

/// Parses the tagged reply in libetpan's buffer, so that it keeps its text and response code.
int tagged_outcome(mailimap* imap) {
  mailimap_response* response = nullptr;
  int r = mailimap_parse_response(imap, &response);  // stores a [CAPABILITY ...] code too
  if (r != MAILIMAP_NO_ERROR) return r;
  int state = response->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->rsp_type;
  mailimap_response_free(response);
  if (state != MAILIMAP_RESP_COND_STATE_OK) return MAILIMAP_ERROR_LOGIN;
  imap->imap_state = MAILIMAP_STATE_AUTHENTICATED;
  return MAILIMAP_NO_ERROR;
}

/// After the response was sent: one failure challenge may come, answered, then the tagged
/// reply.
int read_outcome(mailimap* imap, OAuthMechanism mechanism, std::optional<OAuthFailure>& failure) {
  int r = MAILIMAP_NO_ERROR;
  const char* line = next_continuation(imap, r);
  if (r != MAILIMAP_NO_ERROR) return r;
  if (line == nullptr) return tagged_outcome(imap);
  Result<OAuthFailure> decoded = decode_oauth_failure(continuation_text(line));
  if (decoded) failure = *decoded;  // an undecodable challenge still gets its answer
  r = write_line(imap, base64(oauth_failure_answer(mechanism)), false);
  if (r == MAILIMAP_NO_ERROR) line = next_continuation(imap, r);
  if (r != MAILIMAP_NO_ERROR) return r;
  return line == nullptr ? tagged_outcome(imap) : MAILIMAP_ERROR_PROTOCOL;  // a second challenge
}

}  // namespace

int authenticate_oauth(mailimap* imap, OAuthMechanism mechanism, std::string_view response,
                       bool sasl_ir, std::optional<OAuthFailure>& failure) {
  if (imap->imap_state != MAILIMAP_STATE_NON_AUTHENTICATED) return MAILIMAP_ERROR_BAD_STATE;
  std::string command = std::string("AUTHENTICATE ") + oauth_mechanism_name(mechanism);
  std::string encoded = base64(response);
  int r = mailimap_send_current_tag(imap);  // "tag SP"
  if (r == MAILIMAP_NO_ERROR && sasl_ir) {
    std::string line = command + " " + encoded;
    r = write_line(imap, line, true);
    explicit_bzero(line.data(), line.size());
  } else if (r == MAILIMAP_NO_ERROR) {
    r = write_line(imap, command, false);
    const char* line = r == MAILIMAP_NO_ERROR ? next_continuation(imap, r) : nullptr;
    if (r == MAILIMAP_NO_ERROR && line == nullptr) {  // refused before the response was due
      explicit_bzero(encoded.data(), encoded.size());
      return tagged_outcome(imap);
    }
    if (r == MAILIMAP_NO_ERROR) r = write_line(imap, encoded, true);
  }
  explicit_bzero(encoded.data(), encoded.size());
  if (r != MAILIMAP_NO_ERROR) return r;
  return read_outcome(imap, mechanism, failure);
}

}  // namespace clamfetch::fetch::imap
