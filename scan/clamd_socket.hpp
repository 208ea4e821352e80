// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Private to scan/: the sockets under the clamd client. Every wait is bounded by a Deadline
// (poll), never by a signal.

#include <string>
#include <string_view>

#include "core/deadline.hpp"
#include "core/error.hpp"

namespace clamfetch::scan::detail {

/// Owns a file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return fd_; }
  int release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

/// A parsed scan.clamd entry: "unix:/path" or "tcp:host:port" ("tcp:[v6addr]:port").
struct ClamdAddress {
  std::string text;  ///< as configured, for messages
  bool is_unix = false;
  std::string path;  ///< unix
  std::string host;  ///< tcp
  std::string port;  ///< tcp
};

/// Errors: Kind::config naming the entry.
Result<ClamdAddress> parse_clamd_address(const std::string& text);

/// A connected non-blocking socket. Errors: Kind::connect / Kind::timeout / Kind::dns.
Result<Fd> connect_to(const ClamdAddress& address, const Deadline& deadline);

/// Writes all of `data` (MSG_NOSIGNAL: a peer that went away is an error, not SIGPIPE).
/// Errors: Kind::connect (reset, broken pipe) / Kind::timeout.
Status send_all(int fd, std::string_view data, const Deadline& deadline);

/// Reads up to the first NUL (or end of stream) and returns what came before it.
/// Errors: Kind::connect / Kind::timeout / Kind::protocol (closed without any reply, or a
/// reply longer than 64 KB).
Result<std::string> read_reply(int fd, const Deadline& deadline);

}  // namespace clamfetch::scan::detail
