// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The SASL part of the strict client grammars (grammar_sasl.hpp): RFC 4422 responses and the
// OAUTHBEARER (RFC 7628) and XOAUTH2 messages inside AUTH / AUTHENTICATE exchanges.

#include "fake/grammar_sasl.hpp"

#include <cctype>

#include "fake/grammar.hpp"

namespace clamfetch::test::grammar {
namespace {

const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string decode_base64(std::string_view text) {
  std::string out;
  unsigned bits = 0, value = 0;
  for (char ch : text) {
    std::size_t index = std::string_view(kBase64).find(ch);
    if (index == std::string_view::npos) break;  // padding
    value = (value << 6) | static_cast<unsigned>(index);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((value >> bits) & 0xff);
    }
  }
  return out;
}

bool is_oauth_mechanism(std::string_view mech) {
  return iequal(mech, "OAUTHBEARER") || iequal(mech, "XOAUTH2");
}

// "auth=Bearer " 1*(%x21-7E) ^A ^A at the end of `rest` (RFC 7628 3.1, RFC 6750 b64token
// widened to VCHAR as Google and Microsoft send them).
bool bearer_tail(std::string_view rest) {
  static constexpr std::string_view kAuth = "auth=Bearer ";
  if (rest.size() < kAuth.size() + 3 || rest.substr(0, kAuth.size()) != kAuth ||
      rest.substr(rest.size() - 2) != "\x01\x01") {
    return false;
  }
  std::string_view token = rest.substr(kAuth.size(), rest.size() - kAuth.size() - 2);
  for (char ch : token) {
    if (ch < 0x21 || ch > 0x7e) return false;
  }
  return !token.empty();
}

// The decoded initial response of OAUTHBEARER (gs2-header "n,a=user," then kvpairs, the auth
// one last as clamfetch sends it) or XOAUTH2 ("user=U^Aauth=Bearer T^A^A"). Empty when valid.
std::string oauth_payload_problem(std::string_view mech, std::string_view base64) {
  if (!is_base64(base64)) return "SASL response not base64: " + show(base64);
  std::string payload = decode_base64(base64);
  std::string_view p = payload;
  if (iequal(mech, "XOAUTH2")) {
    std::size_t user_end = p.find('\x01');
    bool ok = p.substr(0, 5) == "user=" && user_end != std::string_view::npos && user_end > 5 &&
              bearer_tail(p.substr(user_end + 1));
    return ok ? "" : "not an XOAUTH2 response (user=U^Aauth=Bearer T^A^A): " + show(payload);
  }
  std::size_t header_end = p.find(",\x01");
  bool ok = header_end != std::string_view::npos && (p.substr(0, 4) == "n,a=" || p.substr(0, 3) == "n,,");
  std::string_view rest = ok ? p.substr(header_end + 2) : std::string_view();
  // Optional host= and port= kvpairs before auth=.
  while (ok && !rest.empty() && rest.substr(0, 5) != "auth=") {
    std::size_t end = rest.find('\x01');
    std::size_t equal = rest.find('=');
    ok = end != std::string_view::npos && equal != std::string_view::npos && equal < end && equal > 0;
    if (ok) rest.remove_prefix(end + 1);
  }
  ok = ok && bearer_tail(rest);
  return ok ? "" : "not an OAUTHBEARER response (RFC 7628 3.1): " + show(payload);
}

}  // namespace

std::string check_sasl_response(std::string_view line, Sasl& sasl, bool& handled) {
  handled = true;
  if (line == "*") return sasl.active = false, "";
  if (!is_oauth_mechanism(sasl.mech)) {
    if (line.empty() || line == "=" || is_base64(line)) return "";
  } else if (sasl.responses == 0) {
    ++sasl.responses;
    return oauth_payload_problem(sasl.mech, line);
  } else if (sasl.responses == 1 && line == (iequal(sasl.mech, "XOAUTH2") ? "" : "AQ==")) {
    ++sasl.responses;
    return "";
  }
  sasl.active = false;  // the exchange is over: this is the next command
  handled = false;
  return "";
}

std::string start_sasl(std::string_view mech, std::optional<std::string_view> initial, Sasl& sasl) {
  sasl = Sasl{};
  sasl.mech = std::string(mech);
  sasl.active = !initial || is_oauth_mechanism(mech);
  if (!initial || !is_oauth_mechanism(mech)) return "";
  sasl.responses = 1;
  return oauth_payload_problem(mech, *initial);
}

}  // namespace clamfetch::test::grammar
