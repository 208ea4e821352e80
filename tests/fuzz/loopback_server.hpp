// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Shared by pop3_fuzz and imap_fuzz: the fuzz input as the server's side of one connection.
// The seam is the real one, a TCP socket on 127.0.0.1: the session under test is made by
// make_session() exactly as clamfetch makes it (TlsMode::none: TLS is not what is fuzzed),
// so libetpan's parsers and ours see the bytes as they would from a hostile server.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <thread>

#include "core/log.hpp"
#include "fetch/fetch.hpp"

namespace clamfetch::fuzz {

/// One listening socket for the whole run; serve() plays one input on one connection.
class LoopbackServer {
 public:
  LoopbackServer() {
    listen_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listen_ < 0 || ::bind(listen_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listen_, 4) != 0 ||
        ::getsockname(listen_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      std::abort();
    }
    port_ = ntohs(addr.sin_port);
  }
  uint16_t port() const { return port_; }

  /// In a thread: accept one connection, send `input` whole, signal its end (the client
  /// sees EOF after the input), then read until the client closes.
  std::thread serve(std::string_view input) {
    return std::thread([this, input] {
      int fd = ::accept(listen_, nullptr, nullptr);
      if (fd < 0) return;
      std::size_t sent = 0;
      while (sent < input.size()) {
        ssize_t n = ::send(fd, input.data() + sent, input.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
      ::shutdown(fd, SHUT_WR);
      char buf[4096];
      while (::recv(fd, buf, sizeof buf, 0) > 0) {
      }
      ::close(fd);
    });
  }

 private:
  int listen_ = -1;
  uint16_t port_ = 0;
};

/// open, list INBOX, retrieve everything listed, acknowledge with delete, close: all that
/// clamfetch asks of a session in one poll, logging in with `auth`. Aborts if a body is
/// larger than the input.
inline void drive_session(fetch::Protocol protocol, std::string_view input,
                          fetch::AuthMethod auth = fetch::AuthMethod::automatic) {
  static LoopbackServer server;
  static Log* log = [] {
    auto* l = new Log;
    l->set_level(Level::verbose);
    l->enable_trace(static_cast<unsigned>(Channel::net));  // the trace code is fuzzed too
    if (!l->use_file("/dev/null")) std::abort();
    return l;
  }();
  fetch::AccountSettings settings;
  settings.server = "127.0.0.1";
  settings.port = server.port();
  settings.protocol = protocol;
  settings.tls.mode = fetch::TlsMode::none;
  settings.username = "fuzzuser";
  settings.password = [] { return Result<std::string>(std::string("fuzz-secret")); };
  settings.timeout_seconds = 2;
  settings.account = "fuzzuser@127.0.0.1";
  settings.auth = auth;

  std::thread peer = server.serve(input);
  {
    auto session = fetch::make_session(settings, *log);
    if (session->open()) {
      Result<fetch::FolderListing> listing = session->list("INBOX");
      if (listing) {
        if (listing->messages.size() > input.size()) std::abort();
        std::vector<fetch::MessageRef> done;
        Status got = session->retrieve(listing->messages,
                                       [&](const fetch::MessageRef& ref, Result<std::string> m) {
          if (m && m->size() > input.size()) std::abort();
          if (m) done.push_back(ref);
          return true;
        });
        if (got && !done.empty()) (void)session->acknowledge(done, true);
      }
    }
    (void)session->close();
  }
  peer.join();
}

}  // namespace clamfetch::fuzz
