// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The transport against scripted fake servers, for faults a real Postfix or Dovecot cannot be
// made to produce on demand: garbage replies, a server that hangs, EHLO refused, a 421 on a
// reused connection, LMTP replies split between 2xx and 4xx, 354 after a refused RCPT.

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "deliver/deliver.hpp"

using namespace clamfetch::deliver;
using Sent = Outcome::Status;

namespace {

// One accepted connection, seen from the fake server.
class Peer {
 public:
  explicit Peer(int fd) : fd_(fd) {}
  ~Peer() { ::close(fd_); }
  // The next CRLF-terminated line without its CRLF; "<EOF>" when the client closed.
  std::string line() {
    while (true) {
      std::size_t end = buffer_.find("\r\n");
      if (end != std::string::npos) {
        std::string out = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        return out;
      }
      char chunk[4096];
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return "<EOF>";
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  // Lines up to the "." that ends the data, which is not included.
  std::vector<std::string> data() {
    std::vector<std::string> lines;
    for (std::string l = line(); l != "." && l != "<EOF>"; l = line()) lines.push_back(l);
    return lines;
  }
  void say(const std::string& text) { ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL); }

 private:
  int fd_;
  std::string buffer_;
};

// Accepts `connections` connections one after the other and runs `script(index, peer)` on each;
// `seen` collects every line the scripts read, for the checks.
class FakeServer {
 public:
  FakeServer(int connections, std::function<void(int, Peer&)> script) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener_, 4) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, connections, script] {
      for (int i = 0; i < connections; ++i) {
        int fd = ::accept(listener_, nullptr, nullptr);
        if (fd < 0) return;
        Peer peer(fd);
        script(i, peer);
      }
    });
  }
  ~FakeServer() {
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }
  uint16_t port() const { return port_; }

 private:
  int listener_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

ClientSettings settings_for(const FakeServer& server, Target::Kind kind = Target::Kind::smtp) {
  ClientSettings s;
  s.target.kind = kind;
  s.target.host = "127.0.0.1";
  s.target.port = server.port();
  s.helo_name = "client.test";
  s.timeout_seconds = 5;
  return s;
}

const Envelope kEnvelope{"a@example.org", {"b@example.com"}};

// A complete lock-step session (no extensions) for one message, checking what the client sent.
void plain_session(Peer& p, std::vector<std::string>& seen) {
  for (std::string l = p.line(); l != "<EOF>"; l = p.line()) {
    seen.push_back(l);
    if (l.rfind("EHLO", 0) == 0 || l.rfind("MAIL", 0) == 0 || l.rfind("RCPT", 0) == 0 ||
        l == "RSET") {
      p.say("250 ok\r\n");
    } else if (l == "DATA") {
      p.say("354 go\r\n");
      for (auto& d : p.data()) seen.push_back("data:" + d);
      p.say("250 queued\r\n");
    } else if (l == "QUIT") {
      p.say("221 bye\r\n");
      return;
    }
  }
}

}  // namespace

TEST_CASE("a garbage greeting is a malformed reply", "[deliver][transport]") {
  FakeServer server(1, [](int, Peer& p) { p.say("* OK IMAP4rev1 ready\r\n"); p.line(); });
  clamfetch::Log log;
  auto t = make_transport(settings_for(server), log);
  Outcome out = t->send(kEnvelope, "Subject: x\r\n\r\nbody\r\n");
  CHECK(out.status == Sent::unreachable);
  CHECK(out.reply.code == 0);
  CHECK(out.reply.text == "malformed reply");
}

TEST_CASE("a reply line over 2048 octets is a malformed reply", "[deliver][transport]") {
  FakeServer server(1, [](int, Peer& p) {
    p.say("220 " + std::string(3000, 'x') + "\r\n");
    p.line();
  });
  clamfetch::Log log;
  Outcome out = make_transport(settings_for(server), log)->send(kEnvelope, "x\r\n");
  CHECK(out.status == Sent::unreachable);
  CHECK(out.reply.text == "malformed reply");
}

TEST_CASE("a server that never answers is unreachable after the timeout", "[deliver][transport]") {
  FakeServer server(1, [](int, Peer& p) { p.line(); });  // no greeting; waits for EOF
  clamfetch::Log log;
  ClientSettings s = settings_for(server);
  s.timeout_seconds = 1;
  auto start = std::chrono::steady_clock::now();
  Outcome out = make_transport(s, log)->send(kEnvelope, "x\r\n");
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(out.status == Sent::unreachable);
  CHECK(out.reply.text.find("timeout") != std::string::npos);
  CHECK(seconds >= 0.9);
  CHECK(seconds < 4.5);  // well under the 5 s the settings would otherwise give
}

TEST_CASE("EHLO refused: HELO, and no ESMTP parameters", "[deliver][transport]") {
  std::vector<std::string> seen;
  FakeServer server(1, [&](int, Peer& p) {
    p.say("220 old.example.com\r\n");
    seen.push_back(p.line());
    p.say("502 5.5.2 what?\r\n");
    seen.push_back(p.line());
    p.say("250 old.example.com\r\n");
    plain_session(p, seen);
  });
  clamfetch::Log log;
  auto t = make_transport(settings_for(server), log);
  Outcome out = t->send(kEnvelope, "Subject: x\r\n\r\n.dot \xe9\r\n");
  t->close();
  CHECK(out.status == Sent::delivered);
  REQUIRE(seen.size() >= 4);
  CHECK(seen[0] == "EHLO client.test");
  CHECK(seen[1] == "HELO client.test");
  CHECK(seen[2] == "MAIL FROM:<a@example.org>");
  CHECK(seen[3] == "RCPT TO:<b@example.com>");
  CHECK(std::find(seen.begin(), seen.end(), "data:..dot \xe9") != seen.end());
}

TEST_CASE("a 421 on a reused connection reconnects once, transparently", "[deliver][transport]") {
  std::vector<std::string> seen;
  FakeServer server(2, [&](int index, Peer& p) {
    p.say("220 mx\r\n");
    if (index == 0) {
      // One message, then the idle timeout: 421 to the RSET and close.
      for (std::string l = p.line(); l != "<EOF>"; l = p.line()) {
        seen.push_back(l);
        if (l == "RSET") { p.say("421 4.4.2 timeout exceeded\r\n"); return; }
        if (l == "DATA") { p.say("354 go\r\n"); p.data(); p.say("250 one\r\n"); continue; }
        p.say("250 ok\r\n");
      }
      return;
    }
    plain_session(p, seen);
  });
  clamfetch::Log log;
  auto t = make_transport(settings_for(server), log);
  CHECK(t->send(kEnvelope, "first\r\n").status == Sent::delivered);
  Outcome second = t->send(kEnvelope, "second\r\n");
  t->close();
  CHECK(second.status == Sent::delivered);
  CHECK(second.reply.text == "queued");
  CHECK(std::count(seen.begin(), seen.end(), "EHLO client.test") == 2);
  CHECK(std::count(seen.begin(), seen.end(), "data:second") == 1);
}

TEST_CASE("a connection closed before the end-of-data reply is unreachable, not retried",
          "[deliver][transport]") {
  int connections = 0;
  FakeServer server(1, [&](int, Peer& p) {
    ++connections;
    p.say("220 mx\r\n");
    for (std::string l = p.line(); l != "<EOF>"; l = p.line()) {
      if (l == "DATA") { p.say("354 go\r\n"); p.data(); return; }  // close without a reply
      p.say("250 ok\r\n");
    }
  });
  clamfetch::Log log;
  Outcome out = make_transport(settings_for(server), log)->send(kEnvelope, "x\r\n");
  CHECK(out.status == Sent::unreachable);
  CHECK(out.reply.text.find("closed") != std::string::npos);
}

TEST_CASE("LMTP: 2xx for one recipient and 4xx for the other is temporary", "[deliver][transport]") {
  FakeServer server(1, [](int, Peer& p) {
    p.say("220 lmtp\r\n");
    for (std::string l = p.line(); l != "<EOF>"; l = p.line()) {
      if (l.rfind("LHLO", 0) == 0) { p.say("250-lmtp\r\n250 PIPELINING\r\n"); continue; }
      if (l == "DATA") {
        p.say("354 go\r\n");
        p.data();
        p.say("250 2.0.0 <b@example.com> saved\r\n452 4.2.2 <c@example.com> over quota\r\n");
        continue;
      }
      if (l == "QUIT") { p.say("221 bye\r\n"); return; }
      p.say("250 ok\r\n");
    }
  });
  clamfetch::Log log;
  auto t = make_transport(settings_for(server, Target::Kind::lmtp_tcp), log);
  Outcome out = t->send(Envelope{"a@example.org", {"b@example.com", "c@example.com"}}, "x\r\n");
  t->close();
  CHECK(out.status == Sent::temporary);
  CHECK(out.reply.code == 452);
  REQUIRE(out.per_recipient.size() == 2);
  CHECK(out.per_recipient[0].code == 250);
  CHECK(out.per_recipient[1].code == 452);
}

TEST_CASE("pipelined: a 4xx RCPT and then 354 ends the transaction by dropping the connection",
          "[deliver][transport]") {
  std::vector<std::string> after_354;
  clamfetch::Log log;
  Outcome out;
  {
    FakeServer server(1, [&](int, Peer& p) {
      p.say("220 mx\r\n");
      p.line();  // EHLO
      p.say("250-mx\r\n250 PIPELINING\r\n");
      std::vector<std::string> batch{p.line(), p.line(), p.line()};  // MAIL, RCPT, DATA
      if (batch[2] != "DATA") return;
      p.say("250 ok\r\n450 4.2.0 later\r\n354 go anyway\r\n");
      after_354.push_back(p.line());
    });
    out = make_transport(settings_for(server), log)->send(kEnvelope, "secret body\r\n");
  }  // the server's thread has finished: after_354 is complete
  CHECK(out.status == Sent::temporary);
  CHECK(out.reply.code == 450);
  REQUIRE(after_354.size() == 1);
  CHECK(after_354[0] == "<EOF>");  // no body, no "." that would deliver an empty message
}

TEST_CASE("a command-injecting address is refused locally", "[deliver][transport]") {
  clamfetch::Log log;
  ClientSettings s;
  s.target.port = 1;  // never contacted
  Outcome out = make_transport(s, log)->send(
      Envelope{"a@b>\r\nRCPT TO:<victim@example.net", {"b@example.com"}}, "x\r\n");
  CHECK(out.status == Sent::permanent);
  CHECK(out.reply.code == 553);
}
