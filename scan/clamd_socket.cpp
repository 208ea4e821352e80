// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "scan/clamd_socket.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace clamfetch::scan::detail {
namespace {

constexpr std::size_t kMaxReply = 64 * 1024;

Error failure(Kind kind, std::string text) {
  return make_error(kind, Scope::message, std::move(text));
}

std::string errno_text() { return std::strerror(errno); }

// Waits for `events` on fd until the deadline. Errors: Kind::timeout, Kind::connect.
Status wait_for(int fd, short events, const Deadline& deadline, const char* what) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = poll(&p, 1, deadline.remaining_ms());
    if (n > 0) return {};
    if (n == 0) return failure(Kind::timeout, std::string("timeout ") + what);
    if (errno != EINTR) return failure(Kind::connect, std::string("poll: ") + errno_text());
  }
}

// Finishes a non-blocking connect() that returned EINPROGRESS.
Status finish_connect(int fd, const Deadline& deadline) {
  if (Status s = wait_for(fd, POLLOUT, deadline, "connecting"); !s) return s;
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) return failure(Kind::connect, std::strerror(err));
  return {};
}

Result<Fd> connect_addr(const sockaddr* addr, socklen_t len, int family, const Deadline& deadline) {
  Fd fd(socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return failure(Kind::connect, "socket: " + errno_text());
  if (connect(fd.get(), addr, len) == 0) return fd;
  if (errno != EINPROGRESS && errno != EAGAIN) return failure(Kind::connect, errno_text());
  if (Status s = finish_connect(fd.get(), deadline); !s) return s.error();
  return fd;
}

Result<Fd> connect_unix(const std::string& path, const Deadline& deadline) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return failure(Kind::connect, "socket path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return connect_addr(reinterpret_cast<const sockaddr*>(&addr), sizeof addr, AF_UNIX, deadline);
}

struct AddrinfoFree {
  void operator()(addrinfo* ai) const { freeaddrinfo(ai); }
};

Result<Fd> connect_tcp(const ClamdAddress& address, const Deadline& deadline) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  if (int rc = getaddrinfo(address.host.c_str(), address.port.c_str(), &hints, &raw); rc != 0) {
    return failure(Kind::dns, address.host + ": " + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, AddrinfoFree> list(raw);
  Error last = failure(Kind::connect, "no address");
  for (addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    auto fd = connect_addr(ai->ai_addr, ai->ai_addrlen, ai->ai_family, deadline);
    if (fd) return fd;
    last = fd.error();
    if (deadline.expired()) break;
  }
  return last;
}

}  // namespace

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) close(fd_);
}

Result<ClamdAddress> parse_clamd_address(const std::string& text) {
  ClamdAddress a;
  a.text = text;
  auto bad = [&](const char* why) {
    return make_error(Kind::config, Scope::run, "scan.clamd: bad address '" + text + "': " + why);
  };
  if (text.starts_with("unix:")) {
    a.is_unix = true;
    a.path = text.substr(5);
    if (a.path.empty() || a.path.front() != '/') return bad("expected unix:/absolute/path");
    return a;
  }
  if (!text.starts_with("tcp:")) return bad("expected unix:/path or tcp:host:port");
  std::string rest = text.substr(4);
  auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size()) {
    return bad("expected tcp:host:port");
  }
  a.host = rest.substr(0, colon);
  a.port = rest.substr(colon + 1);
  if (a.host.size() > 2 && a.host.front() == '[' && a.host.back() == ']') {
    a.host = a.host.substr(1, a.host.size() - 2);
  }
  return a;
}

Result<Fd> connect_to(const ClamdAddress& address, const Deadline& deadline) {
  if (address.is_unix) return connect_unix(address.path, deadline);
  return connect_tcp(address, deadline);
}

Status send_all(int fd, std::string_view data, const Deadline& deadline) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (Status s = wait_for(fd, POLLOUT, deadline, "sending"); !s) return s;
      continue;
    }
    return failure(Kind::connect, "send: " + errno_text());
  }
  return {};
}

Result<std::string> read_reply(int fd, const Deadline& deadline) {
  std::string reply;
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      reply.append(buf, static_cast<std::size_t>(n));
      if (auto nul = reply.find('\0'); nul != std::string::npos) return reply.substr(0, nul);
      if (reply.size() > kMaxReply) return failure(Kind::protocol, "reply too long");
      continue;
    }
    if (n == 0) {
      if (reply.empty()) return failure(Kind::protocol, "connection closed without a reply");
      return reply;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return failure(Kind::connect, "recv: " + errno_text());
    if (Status s = wait_for(fd, POLLIN, deadline, "waiting for the reply"); !s) return s.error();
  }
}

}  // namespace clamfetch::scan::detail
