// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Private to scan/: finding the local clamd for engine = auto (scan.hpp: choose_engine).

#include <istream>
#include <string>

namespace clamfetch::scan::detail {

/// The last LocalSocket value of a clamd.conf, empty when it has none. Pure.
std::string local_socket_from(std::istream& conf);

/// LocalSocket of `clamd_conf`, else /run/clamav/clamd.ctl (Debian's default). Reads the file.
std::string local_clamd_socket(const std::string& clamd_conf);

/// True when a clamd at `address` ("unix:/path" or "tcp:host:port") answers zPING with PONG
/// within 2 seconds. Blocks up to that long.
bool clamd_answers_ping(const std::string& address);

}  // namespace clamfetch::scan::detail
