// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// libFuzzer target: the POP3 logins other than USER/PASS - AUTH PLAIN, AUTH LOGIN (the
// server's "+ " challenges) and APOP (the greeting's timestamp) - as a hostile server answers
// them. The first input byte picks the rc's `auth` (plain, login, apop; over plaintext, where
// auto would use USER/PASS), the rest is what the server says on the connection.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "loopback_server.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using clamfetch::fetch::AuthMethod;
  constexpr AuthMethod kMethods[] = {AuthMethod::plain, AuthMethod::login, AuthMethod::apop};
  AuthMethod auth = kMethods[data[0] % 3];
  clamfetch::fuzz::drive_session(clamfetch::fetch::Protocol::pop3,
                                 std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1), auth);
  return 0;
}
