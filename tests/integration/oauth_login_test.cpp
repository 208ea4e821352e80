// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// OAuth2 logins (issue 18): SASL OAUTHBEARER and XOAUTH2 with a token from token_command,
// through the real binary as the unprivileged test user, against a real Dovecot whose oauth2
// passdb validates the tokens (JWTs signed with a key made here at run time by openssl and
// minted by tests/fixture/mint_jwt), delivering into the fixture's real Postfix. The token
// never shows in the -v -v trace, the log file or --check-config. Two behaviours Dovecot
// cannot show are played by a scripted server: Microsoft's POP3 refusal of the one-line AUTH
// (Dovecot answers it), and a server reached without TLS.

#include <catch2/catch.hpp>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "fake/transcript_server.hpp"
#include "fetch/fetch.hpp"
#include "fake/grammar.hpp"
#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// The HS256 key of this test case, made by openssl, in a private directory removed at the
/// end; the directory and the key are readable by the test user, whose token_command mints.
class SigningKey {
 public:
  SigningKey() {
    char path[] = "/tmp/cfkeyXXXXXX";
    REQUIRE(::mkdtemp(path) != nullptr);
    dir_ = path;
    ::chmod(dir_.c_str(), 0755);
    file_ = dir_ + "/hs256.key";
    RunResult made = run({"openssl", "rand", "-out", file_, "-base64", "32"});
    REQUIRE(made.exit_code == 0);
    ::chmod(file_.c_str(), 0644);
  }
  ~SigningKey() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const std::string& file() const { return file_; }

 private:
  std::string dir_, file_;
};

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

std::string mint_jwt() { return CLAMFETCH_SOURCE_DIR "/tests/fixture/mint_jwt"; }

/// A token for `user` valid for `lifetime` seconds (negative: expired), minted now.
std::string mint(const SigningKey& key, const std::string& user, int lifetime = 300) {
  RunResult minted = run({mint_jwt(), key.file(), user, std::to_string(lifetime)});
  REQUIRE(minted.exit_code == 0);
  std::string token = minted.out.substr(0, minted.out.find('\n'));
  REQUIRE(token.size() > 100);
  return token;
}

/// Writes `text` as a file of the test user (0600) in its home; returns the path.
std::string user_file(const MailServers& servers, const ClamfetchUser& user, const std::string& name,
                      const std::string& text) {
  std::string path = user.home() + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  const passwd* pw = ::getpwnam(servers.env("TEST_USER").c_str());
  REQUIRE(pw != nullptr);
  REQUIRE(::chown(path.c_str(), pw->pw_uid, pw->pw_gid) == 0);
  ::chmod(path.c_str(), 0600);
  return path;
}

std::string head(const MailServers& servers) {
  return "[global]\npostmaster = \"postmaster@example.com\"\n"
         "\n[defaults]\nsmtphost = \"127.0.0.1:" + servers.env("SMTP_PORT") + "\"\ntimeout = 20\n"
         "\n[scan]\ndatabase = \"" CLAMFETCH_SOURCE_DIR "/tests/data/signatures\"\n";
}

/// A [[poll]] of localhost over implicit TLS with one user.
std::string poll_of(const MailServers& servers, const ClamfetchUser& user, const std::string& protocol,
                 const std::string& username, const std::string& credentials) {
  std::string port = servers.env(protocol == "imap" ? "IMAPS_PORT" : "POP3S_PORT");
  return "\n[[poll]]\nserver = \"localhost\"\nprotocol = \"" + protocol + "\"\nport = " + port +
         "\ntls = \"implicit\"\nca_file = \"" + user.home() + "/ca.pem\"\n"
         "\n  [[poll.user]]\n  username = \"" + username + "\"\n  is = \"virtualuser1@example.com\"\n" +
         credentials;
}

std::string oauth_with(const std::string& token_command) {
  return "  [poll.user.oauth]\n  token_command = \"" + token_command + "\"\n";
}

/// The message arrived in virtualuser1's Maildir exactly once, byte for byte.
void check_delivered(const MailServers& servers, const std::string& message) {
  servers.wait_queue_empty();
  std::vector<std::string> got = servers.delivered("virtualuser1");
  REQUIRE(got.size() == 1);
  CHECK(body_of(lf_to_crlf(got[0])) == body_of(message));
  CHECK(contains(lf_to_crlf(got[0]), message.substr(0, message.find("\r\n\r\n"))));
}

/// A self-signed certificate for "localhost" in a private directory, for the scripted servers.
struct SelfSigned {
  SigningKey dir;
  std::string cert = dir.file() + ".pem", key = dir.file() + ".pem.key";
  SelfSigned() {
    REQUIRE(run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-days", "1",
                 "-keyout", key, "-out", cert}).exit_code == 0);
  }
};

/// An account of the scripted server on `port`, OAuth2 over implicit TLS trusting `tls`.
clamfetch::fetch::AccountSettings fake_account(clamfetch::fetch::Protocol protocol, uint16_t port,
                                               const SelfSigned& tls) {
  clamfetch::fetch::AccountSettings settings;
  settings.server = "localhost";
  settings.port = port;
  settings.protocol = protocol;
  settings.tls.ca_file = tls.cert;
  settings.username = "someuser@example.com";
  settings.auth = clamfetch::fetch::AuthMethod::oauth2;
  settings.timeout_seconds = 5;
  settings.account = "someuser@example.com@localhost";
  return settings;
}

MailServers::Options oauth_servers(const SigningKey& key, const std::string& mechanisms = "") {
  MailServers::Options options;
  options.oauth2_jwt_key = key.file();
  options.oauth2_mechanisms = mechanisms;
  return options;
}

}  // namespace

// One fixture for three accounts (each Dovecot start costs seconds): pop3userid1 logs in with
// OAUTHBEARER over IMAPS, pop3userid2's token has expired, pop3userid3 uses a password.
TEST_CASE("OAuth2 over IMAPS: OAUTHBEARER fetches, a refused token ends only its account, no token shown") {
  SigningKey key;
  MailServers servers(oauth_servers(key));
  ClamfetchUser user(servers);
  std::string token = mint(key, "pop3userid1");
  std::string token_file = user_file(servers, user, "token", token + "\n");
  std::string expired = mint(key, "pop3userid2", -5);
  std::string expired_file = user_file(servers, user, "expired", expired + "\n");
  std::string calls = user.home() + "/calls";
  // Counts its runs: a refused token is asked for once more (refresh) before giving up.
  std::string counting = "sh -c 'echo run >> " + calls + "; cat " + expired_file + "'";
  std::string message = make_message("oauth-imap-1@example.com", 2000);
  std::string refused = make_message("oauth-refused-1@example.com", 500);
  std::string other = make_message("oauth-other-1@example.com", 700);
  servers.seed("pop3userid1", message);
  servers.seed("pop3userid2", refused);
  servers.seed("pop3userid3", other);
  user.write_rc(head(servers) + poll_of(servers, user, "imap", "pop3userid1", oauth_with("cat " + token_file)) +
                "\n  [[poll.user]]\n  username = \"pop3userid2\"\n  is = \"virtualuser2@example.com\"\n" +
                oauth_with(counting) +
                poll_of(servers, user, "pop3", "pop3userid3", "  password = \"pop3password3\"\n"));

  std::string log = user.home() + "/clamfetch.log";
  RunResult result = user.clamfetch({"-v", "-v", "-L", log});
  std::string trace = slurp(log);
  INFO(result.err + trace);
  CHECK(result.exit_code == 0);  // mail was retrieved; the refused account is reported
  servers.wait_queue_empty();
  std::vector<std::string> got = servers.delivered("virtualuser1");
  REQUIRE(got.size() == 2);
  CHECK(count_message_ids(got) == std::map<std::string, int>{{"oauth-imap-1@example.com", 1},
                                                             {"oauth-other-1@example.com", 1}});
  for (const std::string& sent : {message, other}) {
    bool found = false;
    for (const std::string& file : got) found = found || body_of(lf_to_crlf(file)) == body_of(sent);
    CHECK(found);
  }
  CHECK(servers.delivered("virtualuser2").empty());
  CHECK(servers.remote_messages("pop3userid2").size() == 1);
  CHECK(contains(servers.dovecot_log(), "user=<pop3userid1>, method=OAUTHBEARER"));
  // Dovecot offers SASL-IR: the response goes on the command line, masked in the trace.
  CHECK(contains(trace, "IMAP> 1 AUTHENTICATE OAUTHBEARER ********"));
  CHECK(contains(trace, "authentication failed for pop3userid2 at localhost: OAuth2 token "
                        "refused (status invalid_token) (Authentication failed.)\n"));
  CHECK(slurp(calls) == "run\nrun\n");
  CHECK(contains(servers.dovecot_log(), "Token has expired"));

  RunResult again = user.clamfetch({});
  CHECK(again.exit_code == 3);  // nothing new elsewhere: the refused account's error decides
  CHECK(again.err == "clamfetch: authentication failed for pop3userid2 at localhost: OAuth2 token "
                     "refused (status invalid_token) (Authentication failed.)\n");

  RunResult check = user.clamfetch({"--check-config"});
  CHECK(check.exit_code == 0);
  CHECK(contains(check.out, "auth = oauth2"));
  CHECK(contains(check.out, "oauth.token_command = ********"));
  std::string everything = result.out + result.err + trace + again.err + check.out + check.err;
  for (const std::string& secret : {token, expired}) {
    CHECK_FALSE(contains(everything, secret));
    CHECK_FALSE(contains(everything, secret.substr(secret.size() - 30)));  // the signature
  }
  CHECK_FALSE(contains(everything, token_file));
}

TEST_CASE("OAuth2 over POP3S, XOAUTH2 only: a long token goes in two steps, a failing token_command is exit 3") {
  SigningKey key;
  MailServers servers(oauth_servers(key, "xoauth2"));
  ClamfetchUser user(servers);
  std::string message = make_message("oauth-pop3-1@example.com", 3000);
  servers.seed("pop3userid1", message);
  user.write_rc(head(servers) + poll_of(servers, user, "pop3", "pop3userid1",
                                        oauth_with(mint_jwt() + " " + key.file() + " pop3userid1")));
  RunResult result = user.clamfetch({"-v", "-v"});
  INFO(result.err);
  CHECK(result.exit_code == 0);
  check_delivered(servers, message);
  CHECK(contains(servers.dovecot_log(), "user=<pop3userid1>, method=XOAUTH2"));
  // The AUTH line with the JWT would pass 255 octets (RFC 5034 4): AUTH, "+ ", the response.
  CHECK(contains(result.err, "POP3> AUTH XOAUTH2\n"));
  CHECK(contains(result.err, "POP3> ********\n"));
  CHECK(servers.remote_messages("pop3userid1").empty());

  std::string kept = make_message("oauth-nocommand-1@example.com", 500);
  servers.seed("pop3userid2", kept);
  user.write_rc(head(servers) + poll_of(servers, user, "pop3", "pop3userid2", oauth_with("false")));
  RunResult failed = user.clamfetch({});
  CHECK(failed.exit_code == 3);
  CHECK(failed.err == "clamfetch: token_command for pop3userid2@localhost failed (exit 1)\n");
  CHECK(servers.remote_messages("pop3userid2").size() == 1);
  CHECK_FALSE(contains(servers.dovecot_log(), "user=<pop3userid2>"));

  // A provider nobody logged in to yet: exit 3 at login, one line naming the command that
  // cures it; no token request leaves (no refresh token), the mail stays.
  user.write_rc(head(servers) + poll_of(servers, user, "pop3", "pop3userid2",
                                        "  [poll.user.oauth]\n  provider = \"google\"\n  client_id = \"c\"\n"));
  RunResult sourceless = user.clamfetch({});
  CHECK(sourceless.exit_code == 3);
  CHECK(sourceless.err == "clamfetch: no OAuth2 refresh token for pop3userid2@localhost: run "
                          "`clamfetch --oauth-login pop3userid2@localhost` once\n");
  CHECK(servers.remote_messages("pop3userid2").size() == 1);
}

// The fetch layer's own guard behind the rc check: a scripted plaintext server (Dovecot on
// loopback calls every connection secure) offering XOAUTH2. No AUTH goes out and no token is
// asked for.
TEST_CASE("fetch refuses OAuth2 on a plaintext connection before asking for a token") {
  TranscriptServer fake({Step::send("+OK fake\r\n"), Step::expect("CAPA"),
                         Step::send("+OK\r\nUIDL\r\nSASL OAUTHBEARER XOAUTH2\r\n.\r\n"), Step::hang()});
  clamfetch::fetch::AccountSettings settings;
  settings.server = "127.0.0.1";
  settings.port = fake.port();
  settings.tls.mode = clamfetch::fetch::TlsMode::none;
  settings.username = "pop3userid0";
  settings.auth = clamfetch::fetch::AuthMethod::oauth2;
  settings.timeout_seconds = 5;
  settings.account = "pop3userid0@127.0.0.1";
  bool asked = false;
  settings.access_token = [&asked](bool) {
    asked = true;
    return clamfetch::Result<std::string>(std::string("tok"));
  };
  clamfetch::Log log;
  log.set_level(clamfetch::Level::error);
  auto session = clamfetch::fetch::make_session(settings, log);
  clamfetch::Status opened = session->open();
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().kind == clamfetch::Kind::auth);
  CHECK(contains(opened.error().text, "OAuth2 is refused without TLS"));
  CHECK_FALSE(asked);
  CHECK(session->close().ok());
  fake.wait_done(5);
  for (const std::string& line : fake.received()) CHECK(line == "CAPA");
}

// Microsoft 365 refuses "AUTH XOAUTH2 <response>" on one line and wants AUTH XOAUTH2, "+ ",
// then the response; Dovecot takes both forms, so a scripted server plays Microsoft's. The
// token is short enough for one line: the one-line form goes first, then the two-step form.
// The strict checker holds every line to RFC 5034 and the XOAUTH2 format.
TEST_CASE("POP3 XOAUTH2 falls back to Microsoft's two-step form when the one-line AUTH is refused") {
  SelfSigned tls;
  std::string token = "EwBwA8l6BAAU.short-test-token";
  std::string response = b64("user=pop3userid0\x01" "auth=Bearer " + token + "\x01\x01");
  auto pop3 = clamfetch::test::grammar::pop3_checker();
  TranscriptServer fake({Step::start_tls(tls.cert, tls.key),
                         Step::send("+OK The Microsoft Exchange POP3 service is ready.\r\n"),
                         Step::strict("CAPA", pop3),
                         Step::send("+OK\r\nUIDL\r\nSASL PLAIN XOAUTH2\r\nUSER\r\n.\r\n"),
                         Step::strict("AUTH XOAUTH2 " + response, pop3), Step::send("-ERR Protocol error.\r\n"),
                         Step::strict("AUTH XOAUTH2", pop3), Step::send("+ \r\n"),
                         Step::strict(response, pop3), Step::send("+OK User successfully authenticated.\r\n"),
                         Step::strict("QUIT", pop3), Step::send("+OK Microsoft Exchange Server POP3 server signing off.\r\n")});
  clamfetch::fetch::AccountSettings settings;
  settings.server = "localhost";
  settings.port = fake.port();
  settings.tls.ca_file = tls.cert;
  settings.username = "pop3userid0";
  settings.auth = clamfetch::fetch::AuthMethod::oauth2;
  settings.timeout_seconds = 5;
  settings.account = "pop3userid0@localhost";
  int asked = 0;
  settings.access_token = [&](bool refresh) {
    ++asked;
    CHECK_FALSE(refresh);
    return clamfetch::Result<std::string>(token);
  };
  clamfetch::Log log;
  log.set_level(clamfetch::Level::error);
  auto session = clamfetch::fetch::make_session(settings, log);
  clamfetch::Status opened = session->open();
  INFO((opened.ok() ? std::string() : opened.error().text) + " / " + fake.failure());
  REQUIRE(opened.ok());
  CHECK(session->login_method() == "AUTH XOAUTH2");
  CHECK(asked == 1);
  CHECK(session->close().ok());
  CHECK(fake.wait_done(5));
  CHECK(fake.failure().empty());
}

// Gmail's IMAP answers a refused XOAUTH2 token with a failure challenge before its NO, and
// Dovecot always offers SASL-IR: a scripted server plays a Gmail-like server without SASL-IR
// (the response goes after the "+"), refusing the first token and taking the refreshed one.
TEST_CASE("IMAP XOAUTH2 without SASL-IR: a failure challenge is answered, the refreshed token logs in") {
  SelfSigned tls;
  auto imap = grammar::imap_checker();
  std::string stale = "ya29.stale-token", fresh = "ya29.fresh-token";
  auto response = [](const std::string& token) {
    return b64("user=someuser@example.com\x01" "auth=Bearer " + token + "\x01\x01");
  };
  TranscriptServer fake({Step::start_tls(tls.cert, tls.key),
                         Step::send("* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2 AUTH=PLAIN] Gimap ready\r\n"),
                         Step::strict("1 AUTHENTICATE XOAUTH2", imap), Step::send("+ \r\n"),
                         Step::strict(response(stale), imap),
                         Step::send("+ " + b64("{\"status\":\"400\",\"schemes\":\"Bearer\",\"scope\":"
                                               "\"https://mail.google.com/\"}") + "\r\n"),
                         Step::strict("", imap),
                         Step::send("1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)\r\n"),
                         Step::strict("2 AUTHENTICATE XOAUTH2", imap), Step::send("+ \r\n"),
                         Step::strict(response(fresh), imap),
                         Step::send("2 OK [CAPABILITY IMAP4rev1 UIDPLUS IDLE] someuser@example.com authenticated (Success)\r\n"),
                         Step::strict("3 LOGOUT", imap), Step::send("* BYE LOGOUT Requested\r\n3 OK 73 good day\r\n")});
  auto settings = fake_account(clamfetch::fetch::Protocol::imap, fake.port(), tls);
  std::vector<bool> asked;
  settings.access_token = [&](bool refresh) {
    asked.push_back(refresh);
    return clamfetch::Result<std::string>(refresh ? fresh : stale);
  };
  SigningKey trace_dir;  // a private directory for the -v -v trace
  std::string trace_file = trace_dir.file() + ".trace";
  clamfetch::Log log;
  REQUIRE(log.use_file(trace_file).ok());
  log.set_level(clamfetch::Level::trace);
  log.enable_trace(static_cast<unsigned>(clamfetch::Channel::net));
  auto session = clamfetch::fetch::make_session(settings, log);
  clamfetch::Status opened = session->open();
  INFO((opened.ok() ? std::string() : opened.error().text) + " / " + fake.failure());
  REQUIRE(opened.ok());
  CHECK(session->login_method() == "AUTHENTICATE XOAUTH2");
  CHECK(asked == std::vector<bool>{false, true});
  CHECK(session->close().ok());
  CHECK(fake.wait_done(5));
  CHECK(fake.failure().empty());
  std::string trace = slurp(trace_file);
  INFO(trace);
  CHECK(contains(trace, "IMAP> 1 AUTHENTICATE XOAUTH2\n"));
  CHECK(contains(trace, "IMAP> ********\n"));
  for (const std::string& secret : {stale, fresh, response(stale), response(fresh)}) {
    CHECK_FALSE(contains(trace, secret));
  }
}

// Dovecot with the oauth2 passdb offers both mechanisms: a scripted server offers neither.
TEST_CASE("a server offering neither OAUTHBEARER nor XOAUTH2 is exit 3 before a token is asked for") {
  SelfSigned tls;
  for (auto protocol : {clamfetch::fetch::Protocol::imap, clamfetch::fetch::Protocol::pop3}) {
    bool imap = protocol == clamfetch::fetch::Protocol::imap;
    INFO((imap ? "IMAP" : "POP3"));
    std::vector<Step> script{Step::start_tls(tls.cert, tls.key)};
    if (imap) {
      script.push_back(Step::send("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n"));
    } else {
      script.insert(script.end(), {Step::send("+OK ready\r\n"), Step::expect("CAPA"),
                                   Step::send("+OK\r\nUIDL\r\nSASL PLAIN LOGIN\r\n.\r\n")});
    }
    script.push_back(Step::hang());
    TranscriptServer fake(script);
    auto settings = fake_account(protocol, fake.port(), tls);
    bool asked = false;
    settings.access_token = [&asked](bool) {
      asked = true;
      return clamfetch::Result<std::string>(std::string("tok"));
    };
    clamfetch::Log log;
    log.set_level(clamfetch::Level::error);
    auto session = clamfetch::fetch::make_session(settings, log);
    clamfetch::Status opened = session->open();
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().kind == clamfetch::Kind::auth);
    CHECK(contains(opened.error().text, "authentication failed for someuser@example.com at localhost: "
                                        "server offers neither OAUTHBEARER nor XOAUTH2"));
    CHECK_FALSE(asked);
    CHECK(session->close().ok());
    fake.wait_done(5);
    for (const std::string& line : fake.received()) CHECK(line == "CAPA");
  }
}
