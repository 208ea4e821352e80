// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// libFuzzer target: POP3 reply handling as clamfetch drives libetpan and its own Pop3Wire.
// The input is everything a hostile server says on one connection (greeting, CAPA, USER/PASS
// replies, LIST, UIDL, RETR bodies, DELE and QUIT replies); see loopback_server.hpp.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "loopback_server.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  clamfetch::fuzz::drive_session(clamfetch::fetch::Protocol::pop3,
                                 std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
