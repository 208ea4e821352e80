// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// One stream socket to the MTA (TCP or a unix socket), non-blocking, every wait bounded by a
// deadline through poll(). Private to deliver/.

#include <memory>
#include <string>
#include <string_view>

#include "core/deadline.hpp"
#include "deliver/deliver.hpp"

namespace clamfetch::deliver {

/// What an I/O step came to.
enum class Io {
  ok,
  closed,     ///< the peer closed or reset the connection (EOF, EPIPE, ECONNRESET)
  timeout,    ///< the deadline passed
  failed,     ///< another socket error
  malformed,  ///< the peer sent something that is not a reply
};

/// Owns a socket descriptor; closes it on destruction.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd();
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

class Connection {
 public:
  /// Connects to `target` before `deadline` (TCP: every address getaddrinfo gives, in order,
  /// with TCP_NODELAY; name resolution itself is not bounded). Returns null and sets `error`
  /// ("connect to HOST:PORT: Connection refused") on failure.
  static std::unique_ptr<Connection> open(const Target& target, Deadline deadline,
                                          std::string& error);

  /// Writes all of `data`; each wait for the socket to drain is bounded by `timeout_seconds`
  /// (an inactivity limit: a 10 MB message on a slow link is not cut off while it moves).
  Io write_all(std::string_view data, int timeout_seconds, std::string& error);

  /// Reads one complete reply before `deadline` into `out`.
  Io read_reply(Deadline deadline, ParsedReply& out, std::string& error);

  /// "host:port" or the socket path, for errors and traces.
  const std::string& peer() const { return peer_; }

 private:
  Connection(Fd fd, std::string peer) : fd_(std::move(fd)), peer_(std::move(peer)) {}

  Fd fd_;
  std::string peer_;
  std::string buffer_;   ///< received bytes not yet parsed into a reply
};

/// "host:port", "lmtp:host:port" or "lmtp:/path" for `target`.
std::string describe(const Target& target);

}  // namespace clamfetch::deliver
