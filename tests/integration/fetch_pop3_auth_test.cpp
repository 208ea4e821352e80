// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// POP3 logins (rc `auth`) against the real Dovecot of the test fixture, whose greeting
// carries an APOP timestamp (auth_mechanisms = plain login apop) and whose CAPA offers SASL
// PLAIN LOGIN: each method retrieves the seeded messages byte for byte, Dovecot's log names
// the method it saw, and no trace holds the password in any form. The clamfetch binary is run
// for the rc key and the exit codes. Fakes (tests/fake) stand in for servers the fixture is
// not: one without AUTH PLAIN, one without an APOP timestamp, one taking a long AUTH PLAIN
// response after a challenge; they check that nothing secret is ever sent when it must not
// be. Last, IMAP's honouring of `auth`. One fixture for the file; each case has its own user.

#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/log.hpp"
#include "fake/transcript_server.hpp"
#include "fetch/fetch.hpp"
#include "fetch/sessions.hpp"
#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using clamfetch::Channel;
using clamfetch::Kind;
using clamfetch::Log;
using clamfetch::Result;
using clamfetch::Status;
using namespace clamfetch::fetch;
using namespace clamfetch::test;

namespace {

MailServers& servers() {
  static MailServers instance;
  return instance;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// Standard base64, written out here so that the test does not trust the code under test.
std::string b64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out += k[(n >> 18) & 63];
    out += k[(n >> 12) & 63];
    out += i + 1 < in.size() ? k[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? k[n & 63] : '=';
  }
  return out;
}

/// Fails the test if `text` holds the password, its base64, or the AUTH PLAIN response.
void check_no_secret(const std::string& what, const std::string& text, const std::string& user,
                     const std::string& password) {
  INFO(what);
  CHECK_FALSE(contains(text, password));
  CHECK_FALSE(contains(text, b64(password)));
  CHECK_FALSE(contains(text, b64(std::string(1, '\0') + user + '\0' + password)));
}

/// A Log writing to a file with the net trace on (-v -v), read back by the test.
struct TraceLog {
  TraceLog() {
    path = std::filesystem::temp_directory_path() /
           ("cf-pop3-auth-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    REQUIRE(log.use_file(path.string()).ok());
    log.set_level(clamfetch::Level::trace);
    log.enable_trace(static_cast<unsigned>(Channel::net));
  }
  ~TraceLog() { std::filesystem::remove(path); }
  std::string text() const {
    std::ifstream in(path);
    std::ostringstream all;
    all << in.rdbuf();
    return all.str();
  }
  static inline int counter = 0;
  Log log;
  std::filesystem::path path;
};

std::string password_of(const std::string& user) { return "pop3password" + user.substr(user.size() - 1); }

AccountSettings account(const std::string& user, TlsMode mode, AuthMethod auth) {
  AccountSettings s;
  s.server = "localhost";
  s.port = static_cast<uint16_t>(servers().port(mode == TlsMode::implicit ? "POP3S_PORT" : "POP3_PORT"));
  s.protocol = Protocol::pop3;
  s.tls.mode = mode;
  s.tls.ca_file = servers().env("CA_FILE");
  s.username = user;
  s.auth = auth;
  std::string password = password_of(user);
  s.password = [password] { return Result<std::string>(password); };
  s.timeout_seconds = 30;
  s.account = user + "@localhost";
  return s;
}

/// Three messages with dot-stuffed lines and 8-bit octets.
std::vector<std::string> seeded_messages(const std::string& tag) {
  std::vector<std::string> out;
  for (int i = 0; i < 3; ++i) {
    std::string m = "From: sender@example.net\r\nTo: virtualuser1@example.com\r\nSubject: " + tag +
                    "\r\nMessage-ID: <" + tag + "." + std::to_string(i) + "@auth>\r\n\r\n"
                    ".leading dot\r\n.\r\n\xe9t\xe9 " + std::string(1000 * (i + 1), 'x') + "\r\n";
    out.push_back(m);
  }
  return out;
}

/// Opens a session with `auth`, retrieves everything, keeps it; returns the trace.
std::string retrieve_with(const std::string& user, TlsMode mode, AuthMethod auth) {
  std::vector<std::string> seeded = seeded_messages(user);
  servers().seed(user, seeded);
  TraceLog trace;
  auto session = make_pop3_session(account(user, mode, auth), trace.log);
  Status opened = session->open();
  INFO((opened ? "" : opened.error().text) << "\n" << trace.text());
  REQUIRE(opened.ok());
  Result<FolderListing> listing = session->list("INBOX");
  REQUIRE(listing.ok());
  std::vector<std::string> got;
  Status status = session->retrieve(listing->messages, [&](const MessageRef&, Result<std::string> bytes) {
    REQUIRE(bytes.ok());
    got.push_back(std::move(bytes).value());
    return true;
  });
  REQUIRE(status.ok());
  CHECK(got == seeded);
  REQUIRE(session->close().ok());
  CHECK(servers().remote_messages(user).size() == seeded.size());
  std::string text = trace.text();
  check_no_secret("trace", text, user, password_of(user));
  return text;
}

/// Dovecot's log line for a successful POP3 login of `user` with `method`.
bool dovecot_logged(const std::string& user, const std::string& method) {
  return contains(servers().dovecot_log(),
                  "pop3-login: Info: Login: user=<" + user + ">, method=" + method);
}

}  // namespace

TEST_CASE("auth auto over POP3S: AUTH PLAIN with the initial response") {
  std::signal(SIGPIPE, SIG_IGN);
  std::string trace = retrieve_with("pop3userid1", TlsMode::implicit, AuthMethod::automatic);
  CHECK(contains(trace, "POP3> AUTH PLAIN ********"));
  CHECK_FALSE(contains(trace, "POP3> USER"));
  CHECK_FALSE(contains(trace, "POP3> APOP"));
  CHECK(dovecot_logged("pop3userid1", "PLAIN"));
}

TEST_CASE("auth auto over POP3+STLS: AUTH PLAIN after STLS and the second CAPA") {
  std::string trace = retrieve_with("pop3userid2", TlsMode::starttls, AuthMethod::automatic);
  auto stls = trace.find("POP3> STLS");
  REQUIRE(stls != std::string::npos);
  auto capa = trace.find("POP3> CAPA", stls);
  REQUIRE(capa != std::string::npos);
  CHECK(capa < trace.find("POP3> AUTH PLAIN ********"));
  CHECK(dovecot_logged("pop3userid2", "PLAIN"));
}

TEST_CASE("auth password: USER/PASS although SASL is offered (Dovecot logs it as PLAIN)") {
  std::string trace = retrieve_with("pop3userid3", TlsMode::implicit, AuthMethod::password);
  CHECK(contains(trace, "POP3> USER pop3userid3"));
  CHECK(contains(trace, "POP3> PASS ********"));
  CHECK_FALSE(contains(trace, "POP3> AUTH"));
  CHECK(dovecot_logged("pop3userid3", "PLAIN"));
}

TEST_CASE("auth plain: AUTH PLAIN") {
  std::string trace = retrieve_with("pop3userid4", TlsMode::implicit, AuthMethod::plain);
  CHECK(contains(trace, "POP3> AUTH PLAIN ********"));
  CHECK(dovecot_logged("pop3userid4", "PLAIN"));
}

TEST_CASE("auth login: AUTH LOGIN answers both challenges, masked") {
  std::string trace = retrieve_with("pop3userid5", TlsMode::implicit, AuthMethod::login);
  CHECK(contains(trace, "POP3> AUTH LOGIN"));
  CHECK(contains(trace, "POP3< + VXNlcm5hbWU6"));  // "Username:"
  CHECK(contains(trace, "POP3< + UGFzc3dvcmQ6"));  // "Password:"
  CHECK(contains(trace, "POP3> ********"));
  CHECK_FALSE(contains(trace, b64("pop3userid5")));
  CHECK(dovecot_logged("pop3userid5", "LOGIN"));
}

TEST_CASE("auth apop: APOP with the digest of the greeting's timestamp") {
  std::string trace = retrieve_with("pop3userid6", TlsMode::implicit, AuthMethod::apop);
  CHECK(contains(trace, "POP3> APOP pop3userid6 ********"));
  CHECK_FALSE(contains(trace, "POP3> USER"));
  CHECK(dovecot_logged("pop3userid6", "APOP"));
}

// ------------------------------------------------------------ the clamfetch binary, rc `auth`

namespace {

/// The standard rc for `user` with `auth` in its [[poll]] and `password` as its password.
std::string rc_with(const ClamfetchUser& cf, const std::string& user, const std::string& auth,
                    const std::string& password) {
  std::string rc = cf.standard_rc();
  auto replace = [&](const std::string& from, const std::string& to) {
    auto at = rc.find(from);
    REQUIRE(at != std::string::npos);
    rc.replace(at, from.size(), to);
  };
  replace("tls = \"implicit\"\n", "tls = \"implicit\"\nauth = \"" + auth + "\"\n");
  replace("username = \"pop3userid1\"", "username = \"" + user + "\"");
  replace("password = \"pop3password1\"", "password = \"" + password + "\"");
  return rc;
}

}  // namespace

TEST_CASE("clamfetch -v -v with auth = apop and login delivers, and shows no secret") {
  for (auto [user, auth, method] : {std::tuple{"pop3userid7", "apop", "APOP"},
                                    std::tuple{"pop3userid8", "login", "LOGIN"}}) {
    INFO(auth);
    ClamfetchUser cf(servers());
    std::string id = std::string(auth) + "-binary@auth";
    std::string message = make_message(id, 2500);
    servers().seed(user, message);
    cf.write_rc(rc_with(cf, user, auth, password_of(user)));
    RunResult r = cf.clamfetch({"-v", "-v"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out + r.err, std::string("POP3> ") + (std::string(auth) == "apop" ? "APOP " : "AUTH LOGIN")));
    check_no_secret("clamfetch output", r.out + r.err, user, password_of(user));
    CHECK(dovecot_logged(user, method));
    servers().wait_queue_empty();
    bool arrived = false;
    for (const std::string& m : servers().delivered("virtualuser1")) {
      if (contains(m, "Message-ID: <" + id + ">")) arrived = body_of(lf_to_crlf(m)) == body_of(message);
    }
    CHECK(arrived);
    CHECK(servers().remote_messages(user).empty());
  }
}

TEST_CASE("a wrong password with plain, login and apop is exit 3 naming account and server") {
  for (auto [auth, method] : {std::pair{"plain", "PLAIN"}, {"login", "LOGIN"}, {"apop", "APOP"}}) {
    INFO(auth);
    ClamfetchUser cf(servers());
    std::string wrong = std::string("Wrong-") + auth + "-pw9";
    servers().seed("pop3userid9", make_message(std::string(auth) + "-wrong@auth", 500));
    cf.write_rc(rc_with(cf, "pop3userid9", auth, wrong));
    RunResult r = cf.clamfetch({"-v", "-v"});
    INFO(r.err);
    CHECK(r.exit_code == 3);
    CHECK(contains(r.err, "authentication failed for pop3userid9 at localhost"));
    check_no_secret("clamfetch output", r.out + r.err, "pop3userid9", wrong);
    // Dovecot saw the method asked for, and refused it.
    CHECK(contains(servers().dovecot_log(), "(auth failed, 1 attempts in"));
    CHECK(contains(servers().dovecot_log(), "user=<pop3userid9>, method=" + std::string(method)));
  }
  CHECK(servers().remote_messages("pop3userid9").size() == 3);  // nothing was touched
}

// ------------------------------------------------- servers the fixture is not (fakes)

namespace {

/// Opens a session with `auth` against a fake over plaintext; returns the error.
clamfetch::Error refused_by_fake(TranscriptServer& fake, AuthMethod auth) {
  AccountSettings settings = account("pop3userid0", TlsMode::none, auth);
  settings.server = "127.0.0.1";
  settings.port = fake.port();
  settings.timeout_seconds = 5;
  bool asked = false;
  settings.password = [&asked] {
    asked = true;
    return Result<std::string>(std::string("pop3password0"));
  };
  Log log;
  log.set_level(clamfetch::Level::error);
  auto session = make_pop3_session(settings, log);
  Status opened = session->open();
  REQUIRE_FALSE(opened.ok());
  CHECK_FALSE(asked);  // not even the password_command ran
  CHECK(session->close().ok());
  fake.wait_done(5);
  return opened.error();
}

/// No line the client sent carries a credential.
void check_nothing_secret_sent(const TranscriptServer& fake) {
  for (const std::string& line : fake.received()) {
    INFO(line);
    CHECK((line == "CAPA" || line == "QUIT"));
  }
}

}  // namespace

// Dovecot always offers AUTH PLAIN once it runs: a fake plays a server offering LOGIN only.
TEST_CASE("auth plain against a server without AUTH PLAIN: exit 3 before any credential") {
  TranscriptServer fake({Step::send("+OK fake\r\n"), Step::expect("CAPA"),
                         Step::send("+OK\r\nUIDL\r\nSASL LOGIN\r\n.\r\n"), Step::hang()});
  clamfetch::Error error = refused_by_fake(fake, AuthMethod::plain);
  CHECK(error.kind == Kind::auth);
  CHECK(clamfetch::exit_code(error.kind) == 3);
  CHECK(error.text == "authentication failed for pop3userid0 at 127.0.0.1: server offers no AUTH PLAIN");
  check_nothing_secret_sent(fake);
}

// With apop in auth_mechanisms Dovecot always sends a timestamp: a fake greets without one.
TEST_CASE("auth apop against a greeting without timestamp: exit 3 before any credential") {
  TranscriptServer fake({Step::send("+OK fake ready\r\n"), Step::expect("CAPA"),
                         Step::send("+OK\r\nUIDL\r\nSASL PLAIN LOGIN\r\n.\r\n"), Step::hang()});
  clamfetch::Error error = refused_by_fake(fake, AuthMethod::apop);
  CHECK(error.kind == Kind::auth);
  CHECK(error.text.rfind("authentication failed for pop3userid0 at 127.0.0.1: server offers no APOP", 0) == 0);
  check_nothing_secret_sent(fake);
}

// A password too long for one AUTH PLAIN command line (RFC 5034 4) goes after an empty
// challenge; the fixture's accounts have short passwords, so a fake plays the server.
TEST_CASE("a long AUTH PLAIN response follows the server's empty challenge") {
  std::string password(300, 'k');
  std::string response = b64(std::string(1, '\0') + "pop3userid0" + '\0' + password);
  TranscriptServer fake({Step::send("+OK fake\r\n"), Step::expect("CAPA"),
                         Step::send("+OK\r\nUIDL\r\nSASL PLAIN\r\n.\r\n"), Step::expect("AUTH PLAIN"),
                         Step::send("+ \r\n"), Step::expect(response), Step::send("+OK in\r\n"),
                         Step::expect("QUIT"), Step::send("+OK bye\r\n")});
  AccountSettings settings = account("pop3userid0", TlsMode::none, AuthMethod::plain);
  settings.server = "127.0.0.1";
  settings.port = fake.port();
  settings.timeout_seconds = 5;
  settings.password = [password] { return Result<std::string>(password); };
  TraceLog trace;
  auto session = make_pop3_session(settings, trace.log);
  Status opened = session->open();
  INFO((opened ? "" : opened.error().text));
  REQUIRE(opened.ok());
  CHECK(session->close().ok());
  CHECK(fake.wait_done(5));
  CHECK(fake.failure().empty());
  std::vector<std::string> lines = fake.received();
  REQUIRE(lines.size() >= 3);
  CHECK(lines[1] == "AUTH PLAIN");
  CHECK(lines[2] == response);
  check_no_secret("trace", trace.text(), "pop3userid0", password);
}

// ------------------------------------------------------------------- IMAP honours `auth` too

namespace {

AccountSettings imap_account(const std::string& user, AuthMethod auth, uint16_t fake_port = 0) {
  AccountSettings s = account(user, TlsMode::implicit, auth);
  s.protocol = Protocol::imap;
  s.port = static_cast<uint16_t>(servers().port("IMAPS_PORT"));
  if (fake_port != 0) {
    s.server = "127.0.0.1";
    s.port = fake_port;
    s.tls.mode = TlsMode::none;
    s.timeout_seconds = 5;
  }
  return s;
}

}  // namespace

TEST_CASE("IMAP auth plain: AUTHENTICATE PLAIN on the real Dovecot, not LOGIN") {
  TraceLog trace;
  auto session = make_imap_session(imap_account("pop3userid1", AuthMethod::plain), trace.log);
  Status opened = session->open();
  INFO((opened ? "" : opened.error().text) << "\n" << trace.text());
  REQUIRE(opened.ok());
  REQUIRE(session->list("INBOX").ok());
  REQUIRE(session->close().ok());
  std::string text = trace.text();
  CHECK(contains(text, "AUTHENTICATE PLAIN"));
  CHECK_FALSE(contains(text, " LOGIN "));
  check_no_secret("trace", text, "pop3userid1", password_of("pop3userid1"));
  CHECK(contains(servers().dovecot_log(), "imap-login: Info: Login: user=<pop3userid1>, method=PLAIN"));
}

// Dovecot offers AUTH=PLAIN and never LOGINDISABLED on loopback: fakes play those servers.
TEST_CASE("IMAP: a required method the server lacks fails before any credential") {
  SECTION("plain without AUTH=PLAIN") {
    TranscriptServer fake({Step::send("* OK [CAPABILITY IMAP4rev1 AUTH=LOGIN] hi\r\n"), Step::hang()});
    Log log;
    log.set_level(clamfetch::Level::error);
    auto session = make_imap_session(imap_account("pop3userid0", AuthMethod::plain, fake.port()), log);
    Status opened = session->open();
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().kind == Kind::auth);
    CHECK(opened.error().text ==
          "authentication failed for pop3userid0 at 127.0.0.1: server offers no AUTHENTICATE PLAIN");
    CHECK(session->close().ok());
    fake.wait_done(5);
    CHECK(fake.received().empty());
  }
  SECTION("password (LOGIN) when the server announces LOGINDISABLED") {
    TranscriptServer fake(
        {Step::send("* OK [CAPABILITY IMAP4rev1 LOGINDISABLED AUTH=PLAIN] hi\r\n"), Step::hang()});
    Log log;
    log.set_level(clamfetch::Level::error);
    auto session = make_imap_session(imap_account("pop3userid0", AuthMethod::password, fake.port()), log);
    Status opened = session->open();
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().kind == Kind::auth);
    CHECK(opened.error().text ==
          "authentication failed for pop3userid0 at 127.0.0.1: server disables LOGIN (LOGINDISABLED)");
    CHECK(session->close().ok());
    fake.wait_done(5);
    CHECK(fake.received().empty());
  }
}
