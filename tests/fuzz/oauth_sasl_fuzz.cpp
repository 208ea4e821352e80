// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// libFuzzer target: an OAuth2 SASL failure challenge (RFC 7628 3.2.2) as a hostile server
// sends it, through decode_oauth_failure() (base64, then nlohmann-json) and into the error
// text. The first input byte picks the layer: even, the rest is the challenge line as sent
// (base64 as far as it goes); odd, the rest is the JSON itself, base64-encoded here so that
// the fuzzer reaches the JSON parser directly. Whatever the input, the decoded fields and the
// error text stay printable one-liners of bounded length.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fetch/oauth_sasl.hpp"

namespace {

std::string encode(std::string_view in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out += k[(n >> 18) & 63];
    out += k[(n >> 12) & 63];
    out += i + 1 < in.size() ? k[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? k[n & 63] : '=';
  }
  return out;
}

void require_printable(const std::string& text, std::size_t limit) {
  if (text.size() > limit) std::abort();
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string challenge = data[0] % 2 == 0 ? std::string(rest) : encode(rest);
  auto failure = clamfetch::fetch::decode_oauth_failure(challenge);
  if (!failure) {
    require_printable(failure.error().text, 200);
    return 0;
  }
  require_printable(failure->status, 200);
  require_printable(failure->scope, 200);
  require_printable(failure->openid_configuration, 200);
  require_printable(clamfetch::fetch::describe_oauth_failure(*failure), 450);
  return 0;
}
