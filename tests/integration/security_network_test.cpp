// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Hostile network (issue 7): a man in the middle never gets a credential. For POP3S,
// POP3+STLS, IMAPS and IMAP+STARTTLS, a certificate from another CA, a valid one for another
// host name, an expired one and a self-signed one are refused before USER/PASS/LOGIN/
// AUTHENTICATE; STARTTLS stripped from the capabilities or refused, an IMAP PREAUTH greeting
// under starttls, and bytes injected after the STARTTLS OK end the session the same way.
// First through the Session API (every cell of the matrix), then through the real binary run
// as the unprivileged user (exit 2 for each kind of attack).
//
// Why a fake server (tests/fake/transcript_server.hpp): it plays the man in the middle. A real
// Dovecot serves only its own good certificate, always offers STLS/STARTTLS, never greets
// with PREAUTH on a STARTTLS port and never injects bytes. fetch_tls_test and fetch_imap_test
// cover single cells (POP3S wrong host and expired, POP3 stripping, IMAP PREAUTH and no
// STARTTLS); this file completes the matrix and adds the exit codes.

#include <catch2/catch.hpp>

#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "fake/transcript_server.hpp"
#include "fetch/fetch.hpp"
#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

namespace {

using clamfetch::Kind;
using clamfetch::Log;
using clamfetch::Result;
using clamfetch::Status;
using namespace clamfetch::fetch;
using clamfetch::test::ClamfetchUser;
using clamfetch::test::MailServers;
using clamfetch::test::Step;
using clamfetch::test::TranscriptServer;

const bool kSigpipeIgnored = [] { return signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();
const std::string kPassword = "mitm-must-never-see-this";

MailServers& servers() {
  static MailServers instance;
  return instance;
}

struct Cert {
  std::string name, pem, key;
  std::string reason;  ///< start of the expected error text
};

/// Certificates a man in the middle could present. The attacker's CA carries the same name
/// as the test CA; the self-signed one names localhost and 127.0.0.1 correctly. Minted once
/// with the openssl command line (EC P-256: instant).
const std::vector<Cert>& attacker_certs() {
  static const std::vector<Cert> certs = [] {
    std::string dir = servers().dir() + "/mitm";
    std::filesystem::create_directories(dir);
    std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
    std::string script =
        "cd " + dir + " && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext && "
        "openssl req -x509" + ec + "-keyout self.key -out self.pem -days 30 -subj /CN=localhost "
        "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 && "
        "openssl req -x509" + ec + "-keyout evilca.key -out evilca.pem -days 30 "
        "-subj '/CN=clamfetch test CA' -addext basicConstraints=critical,CA:TRUE "
        "-addext keyUsage=critical,keyCertSign && "
        "openssl req -new" + ec + "-keyout evil.key -out evil.csr -subj /CN=localhost && "
        "openssl x509 -req -in evil.csr -CA evilca.pem -CAkey evilca.key -CAcreateserial "
        "-days 30 -extfile san.ext -out evil.pem";
    REQUIRE(std::system(("(" + script + ") >/dev/null 2>&1").c_str()) == 0);
    MailServers& s = servers();
    return std::vector<Cert>{
        {"another CA", dir + "/evil.pem", dir + "/evil.key", "certificate verify failed: "},
        {"another host name", s.env("WRONGHOST_CERT"), s.env("WRONGHOST_KEY"),
         "host name mismatch: certificate is not valid for localhost"},
        {"expired", s.env("EXPIRED_CERT"), s.env("EXPIRED_KEY"),
         "certificate verify failed: certificate has expired"},
        {"self-signed", dir + "/self.pem", dir + "/self.key", "certificate verify failed: "},
    };
  }();
  return certs;
}

enum class Mode { pop3s, pop3_stls, imaps, imap_starttls };
const Mode kModes[] = {Mode::pop3s, Mode::pop3_stls, Mode::imaps, Mode::imap_starttls};

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::pop3s: return "POP3S";
    case Mode::pop3_stls: return "POP3+STLS";
    case Mode::imaps: return "IMAPS";
    case Mode::imap_starttls: return "IMAP+STARTTLS";
  }
  return "?";
}

bool is_pop3(Mode mode) { return mode == Mode::pop3s || mode == Mode::pop3_stls; }

/// The server's side up to TLS with `cert`, then what a client that (wrongly) went on would
/// send: its credentials are recorded by the expect steps.
std::vector<Step> mitm_script(Mode mode, const Cert& cert) {
  switch (mode) {
    case Mode::pop3s:
      return {Step::start_tls(cert.pem, cert.key), Step::send("+OK ready\r\n"),
              Step::expect("CAPA"), Step::send("+OK\r\nUIDL\r\n.\r\n"), Step::expect("USER"),
              Step::send("+OK\r\n"), Step::expect("PASS"), Step::send("+OK\r\n"),
              Step::expect("QUIT"), Step::send("+OK\r\n")};
    case Mode::pop3_stls:
      return {Step::send("+OK ready\r\n"), Step::expect("CAPA"),
              Step::send("+OK\r\nUIDL\r\nSTLS\r\n.\r\n"), Step::expect("STLS"),
              Step::send("+OK begin TLS\r\n"), Step::start_tls(cert.pem, cert.key),
              Step::expect("CAPA"), Step::send("+OK\r\nUIDL\r\n.\r\n"), Step::expect("USER"),
              Step::send("+OK\r\n"), Step::expect("PASS"), Step::send("+OK\r\n"),
              Step::expect("QUIT"), Step::send("+OK\r\n")};
    case Mode::imaps:
      return {Step::start_tls(cert.pem, cert.key),
              Step::send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n"),
              Step::expect("1 LOGIN"), Step::send("1 OK [CAPABILITY IMAP4rev1] in\r\n"),
              Step::expect("2 LOGOUT"), Step::send("* BYE bye\r\n2 OK done\r\n")};
    case Mode::imap_starttls:
      return {Step::send("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"),
              Step::expect("1 STARTTLS"), Step::send("1 OK begin TLS\r\n"),
              Step::start_tls(cert.pem, cert.key), Step::expect("2 CAPABILITY"),
              Step::send("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n2 OK done\r\n"),
              Step::expect("3 LOGIN"), Step::send("3 OK [CAPABILITY IMAP4rev1] in\r\n"),
              Step::expect("4 LOGOUT"), Step::send("* BYE bye\r\n4 OK done\r\n")};
  }
  return {};
}

/// Did any line the client sent carry or announce a credential?
bool saw_credential(const TranscriptServer& fake) {
  for (const std::string& line : fake.received()) {
    if (line.rfind("USER", 0) == 0 || line.rfind("PASS", 0) == 0 || line.rfind("AUTH", 0) == 0 ||
        line.find("LOGIN") != std::string::npos || line.find("AUTHENTICATE") != std::string::npos ||
        line.find(kPassword) != std::string::npos) {
      return true;
    }
  }
  return false;
}

/// open() against the fake as "localhost", trusting the fixture's CA. `asked` counts the
/// password callbacks (a password_command would have run).
Status open_against(const TranscriptServer& fake, Mode mode, int& asked) {
  AccountSettings s;
  s.server = "localhost";
  s.port = fake.port();
  s.protocol = is_pop3(mode) ? Protocol::pop3 : Protocol::imap;
  s.tls.mode = mode == Mode::pop3s || mode == Mode::imaps ? TlsMode::implicit : TlsMode::starttls;
  s.tls.ca_file = servers().env("CA_FILE");
  s.username = "victim";
  s.password = [&asked] {
    ++asked;
    return Result<std::string>(kPassword);
  };
  s.timeout_seconds = 5;
  s.account = "victim@localhost";
  Log log;
  log.set_level(clamfetch::Level::error);
  auto session = make_session(s, log);
  Status opened = session->open();
  CHECK(session->close().ok());
  return opened;
}

}  // namespace

TEST_CASE("a man in the middle's certificate is refused before any credential, every protocol") {
  for (Mode mode : kModes) {
    // The control: the same script with the real certificate does reach the login, so the
    // refusals below are the client's doing, not a broken script.
    Cert good{"good", servers().env("SERVER_CERT"), servers().env("SERVER_KEY"), ""};
    TranscriptServer control(mitm_script(mode, good));
    int asked = 0;
    Status opened = open_against(control, mode, asked);
    INFO(mode_name(mode) << " with the good certificate: " << (opened ? "" : opened.error().text));
    CHECK(opened.ok());
    CHECK(saw_credential(control));
    CHECK(asked == 1);

    for (const Cert& cert : attacker_certs()) {
      INFO(mode_name(mode) << " presenting a certificate: " << cert.name);
      TranscriptServer fake(mitm_script(mode, cert));
      asked = 0;
      Status refused = open_against(fake, mode, asked);
      REQUIRE_FALSE(refused.ok());
      CHECK(refused.error().kind == Kind::tls);
      CHECK(refused.error().text.find(cert.reason) != std::string::npos);
      REQUIRE(fake.wait_done(10));
      CHECK_FALSE(fake.tls_established());
      CHECK_FALSE(saw_credential(fake));
      CHECK(asked == 0);  // a password_command never even ran
    }
  }
}

TEST_CASE("IMAP STARTTLS refused or with injected bytes: nothing after STARTTLS is sent") {
  struct Case { const char* name; std::vector<Step> script; const char* reason; };
  std::string cert = servers().env("SERVER_CERT"), key = servers().env("SERVER_KEY");
  std::string greeting = "* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] ready\r\n";
  const std::vector<Case> cases = {
      {"answered NO", {Step::send(greeting), Step::expect("1 STARTTLS"),
                       Step::send("1 NO not today\r\n"), Step::hang()},
       "STARTTLS failed: not today"},
      {"answered BAD", {Step::send(greeting), Step::expect("1 STARTTLS"),
                        Step::send("1 BAD what\r\n"), Step::hang()},
       "STARTTLS failed"},
      {"injected after OK", {Step::send(greeting), Step::expect("1 STARTTLS"),
                             Step::send("1 OK begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n"),
                             Step::start_tls(cert, key), Step::hang()},
       "data injected before TLS handshake"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    TranscriptServer fake(c.script);
    int asked = 0;
    Status refused = open_against(fake, Mode::imap_starttls, asked);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == Kind::tls);
    CHECK(refused.error().text.find(c.reason) != std::string::npos);
    REQUIRE(fake.wait_done(10));
    CHECK_FALSE(fake.tls_established());
    CHECK(fake.received() == std::vector<std::string>{"1 STARTTLS"});
    CHECK(asked == 0);
  }
}

// ---------------------------------------------------------------- the binary, exit codes

namespace {

/// An rc file polling the fake as "localhost" with the fixture's CA, the password inline.
std::string rc_for(const ClamfetchUser& user, uint16_t port, Mode mode) {
  return "[global]\npostmaster = \"postmaster@example.com\"\n"
         "\n[defaults]\nsmtphost = \"127.0.0.1:" + servers().env("SMTP_PORT") + "\"\ntimeout = 10\n"
         "\n[[poll]]\nserver = \"localhost\"\nprotocol = \"" + (is_pop3(mode) ? "pop3" : "imap") +
         "\"\nport = " + std::to_string(port) + "\ntls = \"" +
         (mode == Mode::pop3s || mode == Mode::imaps ? "implicit" : "starttls") +
         "\"\nca_file = \"" + user.home() + "/ca.pem\"\n"
         "\n  [[poll.user]]\n  username = \"victim\"\n  password = \"" + kPassword + "\"\n"
         "  is = \"virtualuser1@example.com\"\n";
}

struct Attack {
  std::string name;
  Mode mode;
  std::vector<Step> script;
  std::string reason;  ///< in clamfetch's stderr
};

std::vector<Attack> attacks() {
  const auto& certs = attacker_certs();
  std::string cert = servers().env("SERVER_CERT"), key = servers().env("SERVER_KEY");
  std::string pop3 = "+OK ready\r\n";
  std::string imap = "* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] ready\r\n";
  return {
      {"certificate from another CA", Mode::pop3s, mitm_script(Mode::pop3s, certs[0]),
       certs[0].reason},
      {"certificate for another host", Mode::pop3_stls, mitm_script(Mode::pop3_stls, certs[1]),
       certs[1].reason},
      {"expired certificate", Mode::imaps, mitm_script(Mode::imaps, certs[2]), certs[2].reason},
      {"self-signed certificate", Mode::imap_starttls,
       mitm_script(Mode::imap_starttls, certs[3]), certs[3].reason},
      {"POP3 STLS stripped", Mode::pop3_stls,
       {Step::send(pop3), Step::expect("CAPA"), Step::send("+OK\r\nUIDL\r\nUSER\r\n.\r\n"),
        Step::hang()},
       "server offers no STARTTLS"},
      {"POP3 STLS refused", Mode::pop3_stls,
       {Step::send(pop3), Step::expect("CAPA"), Step::send("+OK\r\nUIDL\r\nSTLS\r\n.\r\n"),
        Step::expect("STLS"), Step::send("-ERR no\r\n"), Step::hang()},
       "server refused STARTTLS"},
      {"POP3 bytes injected after the STLS OK", Mode::pop3_stls,
       {Step::send(pop3), Step::expect("CAPA"), Step::send("+OK\r\nUIDL\r\nSTLS\r\n.\r\n"),
        Step::expect("STLS"), Step::send("+OK begin\r\n+OK\r\nUIDL\r\n.\r\n"),
        Step::start_tls(cert, key), Step::hang()},
       "data injected before TLS handshake"},
      {"IMAP STARTTLS stripped", Mode::imap_starttls,
       {Step::send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n"), Step::hang()},
       "server offers no STARTTLS"},
      {"IMAP STARTTLS refused", Mode::imap_starttls,
       {Step::send(imap), Step::expect("1 STARTTLS"), Step::send("1 NO later\r\n"), Step::hang()},
       "STARTTLS failed"},
      {"IMAP PREAUTH under starttls", Mode::imap_starttls,
       {Step::send("* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] welcome\r\n"), Step::hang()},
       "PREAUTH before STARTTLS"},
      {"IMAP bytes injected after the STARTTLS OK", Mode::imap_starttls,
       {Step::send(imap), Step::expect("1 STARTTLS"),
        Step::send("1 OK begin\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n"),
        Step::start_tls(cert, key), Step::hang()},
       "data injected before TLS handshake"},
  };
}

}  // namespace

TEST_CASE("the binary exits 2 for every attack and never sends the password") {
  ClamfetchUser user(servers());
  for (const Attack& attack : attacks()) {
    INFO(attack.name << " (" << mode_name(attack.mode) << ")");
    TranscriptServer fake(attack.script);
    user.write_rc(rc_for(user, fake.port(), attack.mode));
    auto r = user.clamfetch({"-v", "-v"});
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(attack.reason) != std::string::npos);
    CHECK(r.err.find(kPassword) == std::string::npos);
    CHECK(r.out.find(kPassword) == std::string::npos);
    REQUIRE(fake.wait_done(15));
    CHECK_FALSE(fake.tls_established());
    CHECK_FALSE(saw_credential(fake));
  }
}
