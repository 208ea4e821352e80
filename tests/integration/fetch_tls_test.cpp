// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// TLS fails closed: certificate, host name, expiry, pin, STARTTLS availability, injected
// bytes, and deadlines. The real Dovecot of the fixture serves only its good certificate, so
// it covers the wrong-CA and pin cases; a TranscriptServer (tests/fake) presents the expired
// and wrong-host certificates of the fixture's CA, and plays what Dovecot never does: no STLS,
// bytes injected after the STLS OK, silence, replies cut mid-line. In every failure case the
// test checks that no credential left the client.

#include <catch2/catch.hpp>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "core/log.hpp"
#include "fake/transcript_server.hpp"
#include "fetch/fetch.hpp"
#include "fetch/sessions.hpp"
#include "support/servers.hpp"

using clamfetch::Kind;
using clamfetch::Log;
using clamfetch::Result;
using clamfetch::Status;
using namespace clamfetch::fetch;
using clamfetch::test::MailServers;
using clamfetch::test::Step;
using clamfetch::test::TranscriptServer;

namespace {

MailServers& servers() {
  static MailServers instance;
  return instance;
}

std::string env(const std::string& key) { return servers().env(key); }

AccountSettings dovecot_pop3s(const std::string& user) {
  AccountSettings s;
  s.server = "localhost";
  s.port = static_cast<uint16_t>(servers().port("POP3S_PORT"));
  s.tls.mode = TlsMode::implicit;
  s.tls.ca_file = env("CA_FILE");
  s.username = user;
  s.password = [user] { return Result<std::string>("pop3password" + user.substr(user.size() - 1)); };
  s.timeout_seconds = 10;
  s.account = user + "@localhost";
  return s;
}

/// Settings for a fake on 127.0.0.1 (host name "localhost" unless told otherwise).
AccountSettings fake_account(const TranscriptServer& fake, TlsMode mode, int timeout = 10) {
  AccountSettings s;
  s.server = "localhost";
  s.port = fake.port();
  s.tls.mode = mode;
  s.tls.ca_file = env("CA_FILE");
  s.username = "fakeuser";
  s.password = [] { return Result<std::string>("fakepassword"); };
  s.timeout_seconds = timeout;
  s.account = "fakeuser@localhost";
  return s;
}

Status open_session(const AccountSettings& settings) {
  std::signal(SIGPIPE, SIG_IGN);
  Log log;
  log.set_level(clamfetch::Level::error);
  auto session = make_pop3_session(settings, log);
  Status opened = session->open();
  Status closed = session->close();
  CHECK(closed.ok());
  return opened;
}

/// Dovecot logs a login (or a failed one) with user=<NAME>: there must be none.
void check_dovecot_saw_no_login(const std::string& user) {
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // its log is written async
  std::string log = servers().dovecot_log();
  CHECK(log.find("user=<" + user + ">") == std::string::npos);
}

/// "SHA256:AA:BB:..." of a PEM certificate file.
std::string pin_of(const std::string& pem_file) {
  std::FILE* file = std::fopen(pem_file.c_str(), "r");
  REQUIRE(file != nullptr);
  X509* cert = PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  REQUIRE(cert != nullptr);
  unsigned char digest[32];
  unsigned int len = 0;
  REQUIRE(X509_digest(cert, EVP_sha256(), digest, &len) == 1);
  X509_free(cert);
  std::string pin = "SHA256";
  char hex[4];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(hex, sizeof hex, ":%02X", digest[i]);
    pin += hex;
  }
  return pin;
}

const std::string kGreeting = "+OK fake POP3 ready\r\n";
const std::string kCapaWithStls = "+OK\r\nUIDL\r\nSTLS\r\nPIPELINING\r\n.\r\n";

/// The script of a POP3S server presenting `cert`, answering a client that goes on to log in.
std::vector<Step> pop3s_script(const std::string& cert, const std::string& key) {
  return {Step::start_tls(cert, key), Step::send(kGreeting), Step::expect("CAPA"),
          Step::send("+OK\r\nUIDL\r\n.\r\n"), Step::expect("USER"), Step::send("+OK\r\n"),
          Step::expect("PASS"), Step::send("+OK\r\n"), Step::expect("QUIT"),
          Step::send("+OK\r\n")};
}

}  // namespace

TEST_CASE("a certificate not signed by the configured CA is Kind::tls and Dovecot sees no login") {
  AccountSettings settings = dovecot_pop3s("pop3userid8");
  settings.tls.ca_file = env("OTHER_CA_FILE");
  SECTION("POP3S") {
    Status opened = open_session(settings);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().kind == Kind::tls);
    CHECK(opened.error().text.rfind("certificate verify failed: ", 0) == 0);
  }
  SECTION("POP3 + STLS") {
    settings.tls.mode = TlsMode::starttls;
    settings.port = static_cast<uint16_t>(servers().port("POP3_PORT"));
    Status opened = open_session(settings);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().kind == Kind::tls);
    CHECK(opened.error().text.rfind("certificate verify failed: ", 0) == 0);
  }
  check_dovecot_saw_no_login("pop3userid8");
}

TEST_CASE("the right CA verifies also for an IP literal the certificate names") {
  AccountSettings settings = dovecot_pop3s("pop3userid9");
  Status opened = open_session(settings);
  INFO((opened ? "" : opened.error().text));
  CHECK(opened.ok());
  settings.server = "127.0.0.1";  // the server certificate has IP:127.0.0.1
  opened = open_session(settings);
  INFO((opened ? "" : opened.error().text));
  CHECK(opened.ok());
}

TEST_CASE("a pinned fingerprint: the right one passes and a wrong one is refused before login") {
  AccountSettings settings = dovecot_pop3s("pop3userid0");
  std::string pin = pin_of(env("SERVER_CERT"));
  SECTION("right pin") {
    settings.tls.fingerprint = pin;
    Status opened = open_session(settings);
    INFO((opened ? "" : opened.error().text));
    CHECK(opened.ok());
  }
  SECTION("wrong pin") {
    pin.back() = pin.back() == '0' ? '1' : '0';
    settings.tls.fingerprint = pin;
    settings.username = "pop3userid6";  // a user no other test logs in with
    Status opened = open_session(settings);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().kind == Kind::tls);
    CHECK(opened.error().text == "fingerprint mismatch");
    check_dovecot_saw_no_login("pop3userid6");
  }
}

TEST_CASE("a certificate for another host name is a host name mismatch and no USER is sent") {
  SECTION("by name") {
    TranscriptServer fake(pop3s_script(env("WRONGHOST_CERT"), env("WRONGHOST_KEY")));
    Status opened = open_session(fake_account(fake, TlsMode::implicit));
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().kind == Kind::tls);
    CHECK(opened.error().text == "host name mismatch: certificate is not valid for localhost");
    REQUIRE(fake.wait_done(10));
    CHECK(fake.received().empty());
    CHECK_FALSE(fake.tls_established());
  }
  SECTION("by IP address") {
    TranscriptServer fake(pop3s_script(env("WRONGHOST_CERT"), env("WRONGHOST_KEY")));
    AccountSettings settings = fake_account(fake, TlsMode::implicit);
    settings.server = "127.0.0.1";
    Status opened = open_session(settings);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().text == "host name mismatch: certificate is not valid for 127.0.0.1");
    REQUIRE(fake.wait_done(10));
    CHECK(fake.received().empty());
  }
}

TEST_CASE("an expired certificate is Kind::tls with the reason and no USER is sent") {
  TranscriptServer fake(pop3s_script(env("EXPIRED_CERT"), env("EXPIRED_KEY")));
  Status opened = open_session(fake_account(fake, TlsMode::implicit));
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().kind == Kind::tls);
  CHECK(opened.error().text == "certificate verify failed: certificate has expired");
  REQUIRE(fake.wait_done(10));
  CHECK(fake.received().empty());
}

TEST_CASE("the fake with the good certificate logs in so the failure cases above are real") {
  TranscriptServer fake(pop3s_script(env("SERVER_CERT"), env("SERVER_KEY")));
  Status opened = open_session(fake_account(fake, TlsMode::implicit));
  INFO((opened ? "" : opened.error().text));
  CHECK(opened.ok());
  REQUIRE(fake.wait_done(10));
  CHECK(fake.failure().empty());
  CHECK(fake.received_line_starting("USER fakeuser"));
}

TEST_CASE("starttls against a server without STLS is refused with nothing but CAPA sent") {
  TranscriptServer fake({Step::send(kGreeting), Step::expect("CAPA"),
                         Step::send("+OK\r\nUIDL\r\nUSER\r\n.\r\n"), Step::hang()});
  Status opened = open_session(fake_account(fake, TlsMode::starttls));
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().kind == Kind::tls);
  CHECK(opened.error().text == "server offers no STARTTLS");
  REQUIRE(fake.wait_done(10));
  CHECK(fake.received() == std::vector<std::string>{"CAPA"});
}

TEST_CASE("starttls refused by the server is Kind::tls and no USER is sent") {
  TranscriptServer fake({Step::send(kGreeting), Step::expect("CAPA"), Step::send(kCapaWithStls),
                         Step::expect("STLS"), Step::send("-ERR not today\r\n"), Step::hang()});
  Status opened = open_session(fake_account(fake, TlsMode::starttls));
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().kind == Kind::tls);
  CHECK(opened.error().text == "server refused STARTTLS: -ERR not today");
  REQUIRE(fake.wait_done(10));
  CHECK(fake.received() == std::vector<std::string>{"CAPA", "STLS"});
}

TEST_CASE("bytes injected after the STLS OK abort the session before the handshake") {
  TranscriptServer fake({Step::send(kGreeting), Step::expect("CAPA"), Step::send(kCapaWithStls),
                         Step::expect("STLS"), Step::send("+OK Begin TLS\r\n+OK injected\r\n"),
                         Step::start_tls(env("SERVER_CERT"), env("SERVER_KEY")),
                         Step::expect("USER")});
  Status opened = open_session(fake_account(fake, TlsMode::starttls));
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().kind == Kind::tls);
  CHECK(opened.error().text == "data injected before TLS handshake");
  REQUIRE(fake.wait_done(10));
  CHECK_FALSE(fake.tls_established());
  CHECK(fake.received() == std::vector<std::string>{"CAPA", "STLS"});
}

TEST_CASE("starttls with a good server reads CAPA again over TLS before USER") {
  TranscriptServer fake({Step::send(kGreeting), Step::expect("CAPA"), Step::send(kCapaWithStls),
                         Step::expect("STLS"), Step::send("+OK Begin TLS\r\n"),
                         Step::start_tls(env("SERVER_CERT"), env("SERVER_KEY")),
                         Step::expect("CAPA"), Step::send("+OK\r\nUIDL\r\n.\r\n"),
                         Step::expect("USER"), Step::send("+OK\r\n"), Step::expect("PASS"),
                         Step::send("+OK\r\n"), Step::expect("QUIT"), Step::send("+OK\r\n")});
  Status opened = open_session(fake_account(fake, TlsMode::starttls));
  INFO((opened ? "" : opened.error().text));
  CHECK(opened.ok());
  REQUIRE(fake.wait_done(10));
  CHECK(fake.failure().empty());
  CHECK(fake.tls_established());
}

TEST_CASE("a server that stops answering gives Kind::timeout within timeout + 5 s") {
  using Clock = std::chrono::steady_clock;
  std::vector<Step> script;
  std::string where;
  SECTION("before the TLS handshake") {
    script = {Step::hang()};
    where = "TLS handshake timed out";
  }
  SECTION("after the greeting") {
    script = {Step::start_tls(env("SERVER_CERT"), env("SERVER_KEY")), Step::send(kGreeting),
              Step::hang()};
    where = "server did not answer within 2 s (reading CAPA)";
  }
  SECTION("in the middle of a reply line") {
    script = {Step::start_tls(env("SERVER_CERT"), env("SERVER_KEY")), Step::send("+OK gree"),
              Step::hang()};
    where = "server did not answer within 2 s (waiting for the greeting)";
  }
  TranscriptServer fake(script);
  auto start = Clock::now();
  Status opened = open_session(fake_account(fake, TlsMode::implicit, 2));
  double took = std::chrono::duration<double>(Clock::now() - start).count();
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().kind == Kind::timeout);
  CHECK(opened.error().text == where);
  CHECK(took >= 1.9);
  CHECK(took < 2 + 5);
}

TEST_CASE("a reply cut mid-line and a closed connection give an error and no USER") {
  TranscriptServer fake({Step::start_tls(env("SERVER_CERT"), env("SERVER_KEY")),
                         Step::send("+OK greeting cut"), Step::close()});
  Status opened = open_session(fake_account(fake, TlsMode::implicit));
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().kind == Kind::connect);
  REQUIRE(fake.wait_done(10));
  CHECK(fake.received().empty());
}
