// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The authorization server's replies: token endpoint and device authorization JSON. Whatever
// the bytes, decoding ends with a value or an Error, the texts one line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "oauth/reply.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // The first byte picks the HTTP status class.
  static constexpr long kStatus[] = {200, 400, 401, 500};
  long status = kStatus[data[0] % 4];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  auto token = clamfetch::oauth::decode_token_reply(status, body);
  if (token.ok()) {
    if (token->error_description.find('\n') != std::string::npos) std::abort();
    if (token->ok() && token->access_token.empty()) std::abort();
  } else if (token.error().text.find('\n') != std::string::npos) {
    std::abort();
  }
  auto device = clamfetch::oauth::decode_device_reply(status, body);
  if (device.ok() && (device->device_code.empty() || device->interval <= 0)) std::abort();
  return 0;
}
