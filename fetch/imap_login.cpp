// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// IMAP LOGIN for credentials that a quoted string cannot carry. libetpan's mailimap_login()
// sends every userid and password as an atom or a quoted string, also when it holds 8-bit
// octets (a UTF-8 password), CR or LF, which RFC 9051's quoted (7-bit TEXT-CHARs only) does
// not allow: a strict server answers BAD. Such a credential goes as a synchronizing literal
// ("{n}" CRLF, the server's "+" continuation, then the n octets), which carries any octet.

#include <string.h>  // explicit_bzero

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

#include "fetch/imap_internal.hpp"

namespace clamfetch::fetch::imap {

namespace {

int write_bytes(mailstream* stream, std::string_view bytes) {
  ssize_t n = mailstream_write(stream, bytes.data(), bytes.size());
  return n == static_cast<ssize_t>(bytes.size()) ? MAILIMAP_NO_ERROR : MAILIMAP_ERROR_STREAM;
}

// After a literal's "{n}" CRLF: the server's continuation request ("+ ..."), untagged data
// skipped; anything else (its tagged NO or BAD) refuses the command.
int wait_continuation(mailimap* imap) {
  if (mailstream_flush(imap->imap_stream) == -1) return MAILIMAP_ERROR_STREAM;
  for (;;) {
    const char* line = mailimap_read_line(imap);
    if (line == nullptr) return MAILIMAP_ERROR_STREAM;
    if (line[0] == '+') return MAILIMAP_NO_ERROR;
    if (line[0] != '*') return MAILIMAP_ERROR_LOGIN;
  }
}

// An atom as libetpan's mailimap_login() sends one (letters, digits, "-"), so that the same
// user name looks the same on the wire whichever way the password goes.
bool plain_atom(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
  });
}

// astring = atom / quoted / literal: an atom or a quoted string when it can be, else a literal.
int send_astring(mailimap* imap, std::string_view text) {
  if (plain_atom(text)) return write_bytes(imap->imap_stream, text);
  if (imap_quotable(text)) {
    std::string quoted = "\"";
    for (char c : text) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    quoted += '"';
    int r = write_bytes(imap->imap_stream, quoted);
    explicit_bzero(quoted.data(), quoted.size());
    return r;
  }
  int r = write_bytes(imap->imap_stream, "{" + std::to_string(text.size()) + "}\r\n");
  if (r == MAILIMAP_NO_ERROR) r = wait_continuation(imap);
  if (r == MAILIMAP_NO_ERROR) r = write_bytes(imap->imap_stream, text);
  return r;
}

// "tag SP LOGIN SP userid SP password CRLF", written as private data (the trace masks it).
int send_login(mailimap* imap, std::string_view user, std::string_view password) {
  mailstream* stream = imap->imap_stream;
  mailstream_set_privacy(stream, 0);
  int r = mailimap_send_current_tag(imap);
  if (r == MAILIMAP_NO_ERROR) r = write_bytes(stream, "LOGIN ");
  if (r == MAILIMAP_NO_ERROR) r = send_astring(imap, user);
  if (r == MAILIMAP_NO_ERROR) r = write_bytes(stream, " ");
  if (r == MAILIMAP_NO_ERROR) r = send_astring(imap, password);
  if (r == MAILIMAP_NO_ERROR) r = write_bytes(stream, "\r\n");
  if (r == MAILIMAP_NO_ERROR && mailstream_flush(stream) == -1) r = MAILIMAP_ERROR_STREAM;
  mailstream_set_privacy(stream, 1);
  return r;
}

}  // namespace

bool imap_quotable(std::string_view text) {
  for (char c : text) {
    auto octet = static_cast<unsigned char>(c);
    if (octet == 0 || octet > 0x7f || c == '\r' || c == '\n') return false;
  }
  return true;
}

int login_with_literals(mailimap* imap, std::string_view user, std::string_view password) {
  if (imap->imap_state != MAILIMAP_STATE_NON_AUTHENTICATED) return MAILIMAP_ERROR_BAD_STATE;
  int r = send_login(imap, user, password);
  if (r != MAILIMAP_NO_ERROR) return r;
  if (mailimap_read_line(imap) == nullptr) return MAILIMAP_ERROR_STREAM;
  mailimap_response* response = nullptr;
  r = mailimap_parse_response(imap, &response);  // stores a [CAPABILITY ...] code too
  if (r != MAILIMAP_NO_ERROR) return r;
  int state = response->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->rsp_type;
  mailimap_response_free(response);
  if (state != MAILIMAP_RESP_COND_STATE_OK) return MAILIMAP_ERROR_LOGIN;
  imap->imap_state = MAILIMAP_STATE_AUTHENTICATED;
  return MAILIMAP_NO_ERROR;
}

}  // namespace clamfetch::fetch::imap
