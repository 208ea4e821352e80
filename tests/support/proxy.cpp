// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "support/proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace clamfetch::test {
namespace {

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr = loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Writes all of buf; false when the peer is gone.
bool send_all(int fd, const char* buf, std::size_t len) {
  while (len > 0) {
    ssize_t n = ::send(fd, buf, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

CuttingProxy::CuttingProxy(int target_port, std::size_t cut_after)
    : target_port_(target_port), cut_after_(cut_after) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = loopback(0);
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::pipe2(stop_pipe_, O_CLOEXEC) != 0) {
    std::string reason = std::strerror(errno);
    if (listen_fd_ >= 0) ::close(listen_fd_);
    throw std::runtime_error("CuttingProxy: cannot listen: " + reason);
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

CuttingProxy::~CuttingProxy() {
  // Closing the write end wakes every poll() that watches the read end.
  ::close(stop_pipe_[1]);
  acceptor_.join();
  for (auto& t : relays_) t.join();
  ::close(stop_pipe_[0]);
  ::close(listen_fd_);
}

void CuttingProxy::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    ++connections_;
    int server = connect_to(target_port_);
    if (server < 0) {
      ::close(client);
      continue;
    }
    relays_.emplace_back([this, client, server] { relay(client, server); });
  }
}

void CuttingProxy::relay(int client, int server) {
  const std::size_t cut_after = cut_after_.load();
  std::size_t from_server = 0;
  char buf[16384];
  bool open = true;
  while (open) {
    pollfd fds[3] = {{client, POLLIN, 0}, {server, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].revents != 0) break;
    if (fds[0].revents != 0) {
      ssize_t n = ::recv(client, buf, sizeof buf, 0);
      open = n > 0 && send_all(server, buf, static_cast<std::size_t>(n));
    }
    if (open && fds[1].revents != 0) {
      ssize_t n = ::recv(server, buf, sizeof buf, 0);
      std::size_t len = n > 0 ? static_cast<std::size_t>(n) : 0;
      bool cut = cut_after != 0 && from_server + len >= cut_after;
      if (cut) len = cut_after - from_server;
      open = n > 0 && send_all(client, buf, len) && !cut;
      from_server += len;
      if (cut) ++cuts_;
    }
  }
  ::close(client);
  ::close(server);
}

}  // namespace clamfetch::test
