// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Sockets to the MTA with deadlines: non-blocking connect, writes and reads behind poll().

#include "deliver/connection.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/resolve.hpp"

namespace clamfetch::deliver {
namespace {

// Waits for `events` on `fd` until `deadline`. Returns ok, timeout or failed.
Io wait_for(int fd, short events, const Deadline& deadline, std::string& error) {
  while (true) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, deadline.remaining_ms());
    if (n > 0) return Io::ok;
    if (n == 0) return Io::timeout;
    if (errno != EINTR) {
      error = std::string("poll: ") + std::strerror(errno);
      return Io::failed;
    }
  }
}

// connect() on a fresh non-blocking socket, finished within `deadline`. Returns 0 or an errno
// (ETIMEDOUT when the deadline passed).
int connect_socket(const Fd& fd, const sockaddr* addr, socklen_t len, const Deadline& deadline) {
  if (::connect(fd.get(), addr, len) == 0) return 0;
  if (errno != EINPROGRESS && errno != EINTR) return errno;
  std::string ignored;
  Io io = wait_for(fd.get(), POLLOUT, deadline, ignored);
  if (io == Io::timeout) return ETIMEDOUT;
  if (io != Io::ok) return errno;
  int so_error = 0;
  socklen_t so_len = sizeof so_error;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &so_len) != 0) return errno;
  return so_error;
}

Fd open_tcp(const Target& target, const Deadline& deadline, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  std::string port = std::to_string(target.port);
  Resolved resolved = resolve(target.host, port, hints, deadline);  // bounded like the connect
  if (!resolved.list) {
    error = "cannot resolve " + target.host + ": " + resolved.error;
    return Fd();
  }
  AddrinfoList list = std::move(resolved.list);
  int last_errno = ECONNREFUSED;
  for (addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                   ai->ai_protocol));
    if (fd.get() < 0) {
      last_errno = errno;
      continue;
    }
    last_errno = connect_socket(fd, ai->ai_addr, ai->ai_addrlen, deadline);
    if (last_errno != 0) continue;
    // Commands and replies are small and pipelined: never wait for a delayed ACK.
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
  }
  error = "connect to " + target.host + ":" + port + ": " + std::strerror(last_errno);
  return Fd();
}

Fd open_unix(const Target& target, const Deadline& deadline, std::string& error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (target.path.empty() || target.path.size() >= sizeof addr.sun_path) {
    error = "connect to " + target.path + ": socket path empty or too long";
    return Fd();
  }
  std::memcpy(addr.sun_path, target.path.data(), target.path.size());
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  int err = fd.get() < 0 ? errno
                         : connect_socket(fd, reinterpret_cast<const sockaddr*>(&addr),
                                          sizeof addr, deadline);
  if (err != 0) {
    error = "connect to " + target.path + ": " + std::strerror(err);
    return Fd();
  }
  return fd;
}

}  // namespace

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

std::string describe(const Target& target) {
  switch (target.kind) {
    case Target::Kind::smtp: return target.host + ":" + std::to_string(target.port);
    case Target::Kind::lmtp_tcp: return "lmtp:" + target.host + ":" + std::to_string(target.port);
    case Target::Kind::lmtp_unix: return "lmtp:" + target.path;
  }
  return target.host;
}

std::unique_ptr<Connection> Connection::open(const Target& target, Deadline deadline,
                                             std::string& error) {
  Fd fd = target.kind == Target::Kind::lmtp_unix ? open_unix(target, deadline, error)
                                                 : open_tcp(target, deadline, error);
  if (fd.get() < 0) return nullptr;
  return std::unique_ptr<Connection>(new Connection(std::move(fd), describe(target)));
}

Io Connection::write_all(std::string_view data, int timeout_seconds, std::string& error) {
  while (!data.empty()) {
    ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      Io io = wait_for(fd_.get(), POLLOUT, Deadline::after(timeout_seconds), error);
      if (io == Io::timeout) error = "timeout writing to " + peer_;
      if (io != Io::ok) return io;
      continue;
    }
    error = "write to " + peer_ + ": " + std::strerror(errno);
    return (errno == EPIPE || errno == ECONNRESET) ? Io::closed : Io::failed;
  }
  return Io::ok;
}

Io Connection::read_reply(Deadline deadline, ParsedReply& out, std::string& error) {
  while (true) {
    out = parse_reply(buffer_);
    if (out.state == ParsedReply::State::complete) {
      buffer_.erase(0, out.consumed);
      return Io::ok;
    }
    if (out.state == ParsedReply::State::malformed) {
      error = "malformed reply from " + peer_;
      return Io::malformed;
    }
    Io io = wait_for(fd_.get(), POLLIN, deadline, error);
    if (io == Io::timeout) error = "timeout waiting for a reply from " + peer_;
    if (io != Io::ok) return io;
    char chunk[8192];
    ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
    } else if (n == 0 || errno == ECONNRESET) {
      error = "connection closed by " + peer_;
      return Io::closed;
    } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      error = "read from " + peer_ + ": " + std::strerror(errno);
      return Io::failed;
    }
  }
}

}  // namespace clamfetch::deliver
