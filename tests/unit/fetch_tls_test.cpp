// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The transport's behaviour without a server: name resolution and connect errors, deadlines
// on reads and on the TLS handshake (a socketpair whose other end stays silent), and the
// refusal to start TLS over bytes that arrived before the handshake (CVE-2020-15953).
// Certificate verification against real certificates is in tests/integration/fetch_tls_test.

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <string>

#include "fetch/tls.hpp"

using clamfetch::Kind;
using namespace clamfetch::fetch;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// A connected pair of stream sockets; the test plays the silent or scripted server.
struct SocketPair {
  SocketPair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0); }
  ~SocketPair() {
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
  }
  int take_client() { return std::exchange(fds[0], -1); }
  int server() const { return fds[1]; }
  int fds[2] = {-1, -1};
};

/// A port on 127.0.0.1 with nothing listening (bound, then closed).
uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

TEST_CASE("a host name that does not resolve is Kind::dns") {
  auto fd = tcp_connect("no-such-host.invalid", 110, 5);
  REQUIRE_FALSE(fd.ok());
  CHECK(fd.error().kind == Kind::dns);
  CHECK(fd.error().text.rfind("cannot resolve no-such-host.invalid: ", 0) == 0);
}

TEST_CASE("a refused connection is Kind::connect naming host and port") {
  uint16_t port = closed_port();
  auto fd = tcp_connect("127.0.0.1", port, 5);
  REQUIRE_FALSE(fd.ok());
  CHECK(fd.error().kind == Kind::connect);
  CHECK(fd.error().text == "connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST_CASE("a silent peer makes a read fail after the timeout flagged as a timeout") {
  SocketPair pair;
  mailstream* stream = plain_stream(pair.take_client(), 1);
  REQUIRE(stream != nullptr);
  char buf[16];
  auto start = Clock::now();
  CHECK(mailstream_read(stream, buf, sizeof buf) == -1);
  double took = seconds_since(start);
  CHECK(took >= 0.9);
  CHECK(took < 3.0);
  CHECK(stream_timed_out(stream));
  mailstream_close(stream);
}

TEST_CASE("a peer that closes is end of stream and not a timeout") {
  SocketPair pair;
  mailstream* stream = plain_stream(pair.take_client(), 5);
  REQUIRE(stream != nullptr);
  REQUIRE(::write(pair.server(), "+OK hi\r\n", 8) == 8);
  ::shutdown(pair.server(), SHUT_WR);
  char buf[64];
  CHECK(mailstream_read(stream, buf, sizeof buf) == 8);
  CHECK(mailstream_read(stream, buf, sizeof buf) == 0);
  CHECK_FALSE(stream_timed_out(stream));
  mailstream_close(stream);
}

TEST_CASE("writes go through the plaintext transport") {
  std::signal(SIGPIPE, SIG_IGN);
  SocketPair pair;
  mailstream* stream = plain_stream(pair.take_client(), 5);
  REQUIRE(stream != nullptr);
  REQUIRE(mailstream_write(stream, "CAPA\r\n", 6) == 6);
  REQUIRE(mailstream_flush(stream) == 0);
  char buf[16] = {};
  CHECK(::read(pair.server(), buf, sizeof buf) == 6);
  CHECK(std::string(buf) == "CAPA\r\n");
  mailstream_close(stream);
}

TEST_CASE("a TLS handshake with a silent server times out") {
  SocketPair pair;
  TlsSettings tls;
  auto start = Clock::now();
  auto low = tls_open(pair.take_client(), "localhost", tls, 1);
  REQUIRE_FALSE(low.ok());
  CHECK(low.error().kind == Kind::timeout);
  CHECK(low.error().text == "TLS handshake timed out");
  CHECK(seconds_since(start) < 3.0);
}

TEST_CASE("a TLS handshake with a server that answers garbage fails as Kind::tls") {
  SocketPair pair;
  REQUIRE(::write(pair.server(), "+OK not TLS at all\r\n", 20) == 20);
  auto low = tls_open(pair.take_client(), "localhost", TlsSettings{}, 5);
  REQUIRE_FALSE(low.ok());
  CHECK(low.error().kind == Kind::tls);
  CHECK(low.error().text.rfind("TLS handshake failed: ", 0) == 0);
}

TEST_CASE("bytes buffered before STARTTLS abort the upgrade and nothing is sent") {
  SocketPair pair;
  mailstream* stream = plain_stream(pair.take_client(), 5);
  REQUIRE(stream != nullptr);
  const std::string injected = "+OK Begin TLS\r\n+OK injected\r\n";
  REQUIRE(::write(pair.server(), injected.data(), injected.size()) ==
          static_cast<ssize_t>(injected.size()));
  char line[15];
  REQUIRE(mailstream_read(stream, line, sizeof line) == 15);  // the +OK line; the rest waits
  REQUIRE(stream->read_buffer_len > 0);
  auto upgraded = tls_upgrade(stream, "localhost", TlsSettings{}, 5);
  REQUIRE_FALSE(upgraded.ok());
  CHECK(upgraded.error().kind == Kind::tls);
  CHECK(upgraded.error().text == "data injected before TLS handshake");
  // No ClientHello left: the server side has nothing to read.
  ::fcntl(pair.server(), F_SETFL, O_NONBLOCK);
  char buf[8];
  CHECK(::read(pair.server(), buf, sizeof buf) == -1);
  mailstream_close(stream);
}

TEST_CASE("bad TLS settings are refused before anything is sent") {
  SECTION("min_tls") {
    SocketPair pair;
    TlsSettings tls;
    tls.min_tls = "1.1";
    auto low = tls_open(pair.take_client(), "localhost", tls, 5);
    REQUIRE_FALSE(low.ok());
    CHECK(low.error().kind == Kind::config);
    CHECK(low.error().text == "min_tls must be \"1.2\" or \"1.3\", not \"1.1\"");
  }
  SECTION("CA file") {
    SocketPair pair;
    TlsSettings tls;
    tls.ca_file = "/nonexistent/ca.pem";
    auto low = tls_open(pair.take_client(), "localhost", tls, 5);
    REQUIRE_FALSE(low.ok());
    CHECK(low.error().kind == Kind::tls);
    CHECK(low.error().text == "cannot load CA certificates from /nonexistent/ca.pem");
  }
}
