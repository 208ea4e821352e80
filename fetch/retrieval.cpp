// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The rules bounding one message's retrieval (see retrieval.hpp).

#include "fetch/retrieval.hpp"

#include <algorithm>
#include <limits>

namespace clamfetch::fetch {

int message_seconds(uint64_t size, int timeout_seconds) {
  uint64_t transfer = size / kFloorBytesPerSecond + (size % kFloorBytesPerSecond != 0 ? 1 : 0);
  uint64_t total = static_cast<uint64_t>(std::max(timeout_seconds, 0)) + transfer;
  return static_cast<int>(std::min<uint64_t>(total, std::numeric_limits<int>::max()));
}

Deadline message_deadline(uint64_t size, int timeout_seconds, const Deadline& run) {
  return Deadline::earlier(Deadline::after(message_seconds(size, timeout_seconds)), run);
}

std::string pop3_body_problem(uint64_t announced, uint64_t received) {
  if (received == 0) {
    return "server announced " + std::to_string(announced) + " octets (LIST) but sent an empty body";
  }
  // Loose sizes are real (LF counted for CRLF, dot-stuffing); a body under half of what
  // LIST said is not one of them but a truncated or missing message.
  if (received < announced - announced / 2) {
    return "server announced " + std::to_string(announced) + " octets (LIST) but sent only " +
           std::to_string(received);
  }
  return {};
}

std::string imap_body_problem(uint64_t announced, uint64_t received) {
  std::string size = "RFC822.SIZE " + std::to_string(announced);
  if (received == 0) return "server announced " + size + " but sent an empty BODY[] (NIL or {0})";
  if (received != announced) {
    return "server announced " + size + " but sent a BODY[] of " + std::to_string(received) +
           " octets";
  }
  return {};
}

Error body_error(const std::string& account, const std::string& folder, const std::string& uid,
                 const std::string& problem) {
  return make_error(Kind::protocol, Scope::message,
                    account + ": message UID " + uid + " of " + folder + ": " + problem +
                        ": not delivered, left on the server");
}

Error deadline_error(const std::string& account, const Deadline& run, const std::string& uid,
                     uint64_t size, int timeout_seconds) {
  if (run.expired()) {
    return make_error(Kind::timeout, Scope::account,
                      account + ": poll ended by run_timeout while retrieving message UID " +
                          uid + " (nothing more is acknowledged in this run)");
  }
  return make_error(Kind::timeout, Scope::account,
                    account + ": message UID " + uid + " (" + std::to_string(size) +
                        " octets) not retrieved within " +
                        std::to_string(message_seconds(size, timeout_seconds)) +
                        " s (timeout + size / 10 KiB/s): server too slow, session ended");
}

}  // namespace clamfetch::fetch
