// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// --import-fetchmailrc: for each fetchmail keyword, a small fetchmailrc is imported, the TOML
// parsed by parse(), and the effective Config checked; plus the issue-8 file end to end.

#include <catch2/catch.hpp>

#include <pwd.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "rc/rc.hpp"

using namespace clamfetch;
using namespace clamfetch::rc;

namespace {

/// A poll with one user, appended to the cases that are about something else.
constexpr const char* kPoll = "\npoll pop.example.com proto pop3 user u pass x is u@example.com\n";

struct Case {
  const char* what;
  std::string rc;
  std::function<void(const Config&)> check;
  std::string warning;  ///< expected start of the one warning, or empty for none
};

const User& first_user(const Config& c) { return c.polls.at(0).users.at(0); }

Config import_and_parse(const std::string& text, std::vector<std::string>& warnings) {
  auto toml = import_fetchmailrc(text, "fetchmailrc", warnings);
  INFO((toml.ok() ? std::string() : toml.error().text));
  REQUIRE(toml.ok());
  auto config = parse(*toml, "imported.toml");
  INFO(*toml);
  INFO((config.ok() ? std::string() : config.error().text));
  REQUIRE(config.ok());
  return *config;
}

std::string login_name() { return ::getpwuid(::geteuid())->pw_name; }

std::vector<Case> set_cases() {
  return {
      {"set postmaster", std::string("set postmaster \"pm@example.com\"") + kPoll,
       [](const Config& c) { CHECK(c.global.postmaster == "pm@example.com"); }, ""},
      {"set postmaster = local name", std::string("set postmaster = pm") + kPoll,
       [](const Config& c) { CHECK(c.global.postmaster == "pm@localhost"); },
       "fetchmailrc:1: postmaster 'pm' is a local name: imported as \"pm@localhost\""},
      {"set bouncemail", std::string("set bouncemail") + kPoll, [](const Config& c) { CHECK(c.global.bouncemail); }, ""},
      {"set no bouncemail", std::string("set no bouncemail") + kPoll,
       [](const Config& c) { CHECK_FALSE(c.global.bouncemail); }, ""},
      {"set nobouncemail", std::string("set nobouncemail") + kPoll,
       [](const Config& c) { CHECK_FALSE(c.global.bouncemail); }, ""},
      {"set syslog", std::string("set syslog") + kPoll, [](const Config& c) { CHECK(c.global.syslog); }, ""},
      {"set no syslog", std::string("set no syslog") + kPoll, [](const Config& c) { CHECK_FALSE(c.global.syslog); }, ""},
      {"set logfile", std::string("set logfile = \"/var/log/fetchmail.log\"") + kPoll,
       [](const Config& c) { CHECK(c.global.logfile == "/var/log/fetchmail.log"); }, ""},
      {"set invisible", std::string("set invisible") + kPoll, [](const Config& c) { CHECK(c.global.invisible); }, ""},
      {"set daemon", std::string("set daemon 300") + kPoll, [](const Config& c) { CHECK(c.polls.size() == 1); },
       "fetchmailrc:1: keyword 'set daemon' not carried over: run clamfetch -d 300"},
  };
}

std::vector<Case> server_cases() {
  return {
      {"defaults", "defaults timeout 60 antispam 571 batchlimit 5 fetchlimit 3 keep\n" + std::string(kPoll),
       [](const Config& c) {
         const User& u = first_user(c);
         CHECK(u.timeout == 60);
         CHECK(u.antispam == std::vector<int>{571});
         CHECK(u.batchlimit == 5);
         CHECK(u.fetchlimit == 3);
         CHECK(u.keep);
       }, ""},
      {"server and protocol IMAP", "server imap.example.com protocol IMAP user u pass x is u@example.com",
       [](const Config& c) {
         CHECK(c.polls.at(0).server == "imap.example.com");
         CHECK(c.polls.at(0).protocol == Protocol::imap);
       }, ""},
      {"skip", "skip old.example.com proto pop3 user u pass x is u@example.com" + std::string(kPoll),
       [](const Config& c) {
         REQUIRE(c.polls.size() == 1);
         CHECK(c.polls[0].server == "pop.example.com");
       }, "fetchmailrc:1: poll old.example.com is a skip entry: emitted commented out"},
      {"port", "poll p.example.com proto pop3 port 1110 user u pass x is u@example.com",
       [](const Config& c) { CHECK(c.polls.at(0).port == 1110); }, ""},
      {"service name", "poll p.example.com proto pop3 service pop3s user u pass x is u@example.com ssl",
       [](const Config& c) { CHECK(c.polls.at(0).port == 995); }, ""},
      {"timeout", "poll p.example.com proto pop3 timeout 45 user u pass x is u@example.com",
       [](const Config& c) { CHECK(first_user(c).timeout == 45); }, ""},
      {"no protocol (auto)", "poll p.example.com user u pass x is u@example.com",
       [](const Config& c) { CHECK(c.polls.at(0).protocol == Protocol::imap); },
       "fetchmailrc:1: protocol auto of p.example.com imported as imap"},
      {"protocol apop", "poll p.example.com protocol apop user u pass x is u@example.com",
       [](const Config& c) {
         CHECK(c.polls.at(0).protocol == Protocol::pop3);
         CHECK(c.polls.at(0).auth == Poll::Auth::apop);
       }, ""},
      {"protocol apop from defaults", "defaults proto apop\npoll p.example.com user u pass x is u@example.com",
       [](const Config& c) { CHECK(c.polls.at(0).auth == Poll::Auth::apop); }, ""},
      {"authenticate password", "poll p.example.com proto pop3 auth password user u pass x is u@example.com",
       [](const Config& c) { CHECK(c.polls.at(0).auth == Poll::Auth::password); }, ""},
      {"authenticate password, IMAP", "poll i.example.com proto imap authenticate password user u pass x is u@example.com",
       [](const Config& c) {
         CHECK(c.polls.at(0).protocol == Protocol::imap);
         CHECK(c.polls.at(0).auth == Poll::Auth::password);
       }, ""},
      {"authenticate cram-md5 is not carried over", "poll p.example.com proto pop3 auth cram-md5 user u pass x is u@example.com",
       [](const Config& c) { CHECK(c.polls.at(0).auth == Poll::Auth::automatic); },
       "fetchmailrc:1: keyword 'authenticate' not carried over"},
      {"protocol pop3: auth stays auto", "poll p.example.com proto pop3 user u pass x is u@example.com",
       [](const Config& c) { CHECK(c.polls.at(0).auth == Poll::Auth::automatic); }, ""},
      {"localdomains", "poll p.example.com proto pop3 localdomains a.example b.example user u pass x is u@example.com",
       [](const Config& c) { CHECK(c.polls.size() == 1); },
       "fetchmailrc:1: keyword 'localdomains' not carried over: multidrop"},
      {"same server in two polls", "poll p.example.com proto pop3 user a pass x is a@example.com\n"
                                   "poll p.example.com proto pop3 user b pass y is b@example.com\n",
       [](const Config& c) {
         REQUIRE(c.polls.size() == 1);
         REQUIRE(c.polls[0].users.size() == 2);
         CHECK(c.polls[0].users[1].username == "b");
       }, ""},
  };
}

std::vector<Case> user_cases() {
  return {
      {"user/pass/is here", "poll p.example.com proto pop3 username \"alice\" password \"pw\" is \"a@example.com\" here",
       [](const Config& c) {
         CHECK(first_user(c).username == "alice");
         CHECK(first_user(c).password == "pw");
         CHECK(first_user(c).is == std::vector<std::string>{"a@example.com"});
       }, ""},
      {"remote name from the local one", "poll p.example.com proto pop3 pass x is u@example.com",
       [](const Config& c) { CHECK(first_user(c).username == "u@example.com"); }, ""},
      {"is NAME there", "poll p.example.com proto pop3 user bob there with password pw is b@example.com",
       [](const Config& c) { CHECK(first_user(c).username == "bob"); }, ""},
      {"to", "poll p.example.com proto pop3 user u pass x to t@example.com",
       [](const Config& c) { CHECK(first_user(c).is == std::vector<std::string>{"t@example.com"}); }, ""},
      {"is local name", "poll p.example.com proto pop3 user u pass x is fred here",
       [](const Config& c) { CHECK(first_user(c).is == std::vector<std::string>{"fred@localhost"}); },
       "fetchmailrc:1: local name 'fred' is a local name: imported as \"fred@localhost\""},
      {"noise words and punctuation",
       "poll p.example.com with proto pop3 and options: user u; has password x, wants is u@example.com here;",
       [](const Config& c) { CHECK(first_user(c).password == "x"); }, ""},
      {"quoting and escapes", "poll p.example.com proto pop3 user 'u' pass \"a\\x41\\tb\\\\c\" is 'u@example.com'",
       [](const Config& c) { CHECK(first_user(c).password == "aA\tb\\c"); }, ""},
      {"a quote of the other kind inside", "poll p.example.com proto pop3 user u pass 'say \"hi\"' is u@example.com",
       [](const Config& c) { CHECK(first_user(c).password == "say \"hi\""); }, ""},
      {"keyword-like password", "poll p.example.com proto pop3 user keep pass fetchall is u@example.com",
       [](const Config& c) {
         CHECK(first_user(c).username == "keep");
         CHECK(first_user(c).password == "fetchall");
         CHECK_FALSE(first_user(c).keep);
       }, ""},
      {"comments", "# a comment\npoll p.example.com proto pop3 # trailing\n user u pass x is u@example.com\n#keep\n",
       [](const Config& c) { CHECK_FALSE(first_user(c).keep); }, ""},
      {"keep", std::string(kPoll) + " keep", [](const Config& c) { CHECK(first_user(c).keep); }, ""},
      {"nokeep", "defaults keep" + std::string(kPoll) + " nokeep",
       [](const Config& c) { CHECK_FALSE(first_user(c).keep); }, ""},
      {"no keep", "defaults keep" + std::string(kPoll) + " no keep",
       [](const Config& c) { CHECK_FALSE(first_user(c).keep); }, ""},
      {"fetchall", std::string(kPoll) + " fetchall", [](const Config& c) { CHECK(first_user(c).fetchall); }, ""},
      {"flush", std::string(kPoll) + " flush", [](const Config& c) { CHECK_FALSE(first_user(c).keep); },
       "fetchmailrc:3: keyword 'flush' not carried over: it deletes old messages"},
      {"limit fetchlimit batchlimit", std::string(kPoll) + " limit 100000 fetchlimit 5 batchlimit 7",
       [](const Config& c) {
         CHECK(first_user(c).limit == 100000);
         CHECK(first_user(c).fetchlimit == 5);
         CHECK(first_user(c).batchlimit == 7);
       }, ""},
      {"antispam list", std::string(kPoll) + " antispam 571 550", [](const Config& c) {
         CHECK(first_user(c).antispam == std::vector<int>{571, 550});
       }, ""},
      {"antispam -1", std::string(kPoll) + " antispam -1",
       [](const Config& c) { CHECK(first_user(c).antispam.empty()); }, ""},
      {"folder", "poll i.example.com proto imap user u pass x is u@example.com folder INBOX, Archive",
       [](const Config& c) { CHECK(first_user(c).folders == std::vector<std::string>{"INBOX", "Archive"}); }, ""},
      {"no user name and no is", "poll p.example.com proto pop3 pass x",
       [](const Config& c) {
         CHECK(first_user(c).username == login_name());
         CHECK(first_user(c).is == std::vector<std::string>{login_name() + "@localhost"});
       },
       "fetchmailrc:1: no user name for p.example.com: fetchmail uses your login name"},
  };
}

std::vector<Case> delivery_and_tls_cases() {
  return {
      {"smtphost list", std::string(kPoll) + " smtphost mx1.example.com/2525, mx2.example.com",
       [](const Config& c) {
         CHECK(first_user(c).smtphost.host == "mx1.example.com");
         CHECK(first_user(c).smtphost.port == 2525);
       }, "fetchmailrc:3: smtphost 'mx2.example.com' not carried over"},
      {"smtphost without port", std::string(kPoll) + " smtp mx.example.com",
       [](const Config& c) { CHECK(first_user(c).smtphost.port == 25); }, ""},
      {"smtphost socket path", std::string(kPoll) + " smtphost /var/run/cyrus/lmtp",
       [](const Config& c) {
         CHECK(first_user(c).smtphost.kind == MtaTarget::Kind::lmtp_unix);
         CHECK(first_user(c).smtphost.path == "/var/run/cyrus/lmtp");
       }, ""},
      {"lmtp", std::string(kPoll) + " lmtp smtphost 127.0.0.1/24",
       [](const Config& c) {
         CHECK(first_user(c).smtphost.kind == MtaTarget::Kind::lmtp_tcp);
         CHECK(first_user(c).smtphost.port == 24);
       }, ""},
      {"no ssl: STARTTLS required", kPoll, [](const Config& c) { CHECK(c.polls.at(0).tls == TlsMode::starttls); }, ""},
      {"ssl", std::string(kPoll) + " ssl", [](const Config& c) {
         CHECK(c.polls.at(0).tls == TlsMode::implicit);
         CHECK(c.polls.at(0).port == 0);
       }, ""},
      {"sslcertck sslcertfile", std::string(kPoll) + " ssl sslcertck sslcertfile /etc/ssl/my-ca.pem",
       [](const Config& c) { CHECK(c.polls.at(0).ca_file == "/etc/ssl/my-ca.pem"); }, ""},
      {"sslproto ''", std::string(kPoll) + " sslproto ''",
       [](const Config& c) {
         CHECK(c.polls.at(0).tls == TlsMode::none);
         CHECK(c.polls.at(0).allow_plaintext);
       }, "fetchmailrc:3: sslproto '' (no TLS) carried over as tls = \"none\" with allow_plaintext = true"},
      {"sslproto tls1.3+", std::string(kPoll) + " ssl sslproto tls1.3+",
       [](const Config& c) { CHECK(c.polls.at(0).min_tls == "1.3"); }, ""},
      {"sslproto TLS1.2+", std::string(kPoll) + " sslproto TLS1.2+",
       [](const Config& c) {
         CHECK(c.polls.at(0).min_tls == "1.2");
         CHECK(c.polls.at(0).tls == TlsMode::starttls);
       }, ""},
      {"sslproto tls1", std::string(kPoll) + " sslproto tls1",
       [](const Config& c) { CHECK(c.polls.at(0).min_tls == "1.2"); },
       "fetchmailrc:3: sslproto 'tls1' not carried over: clamfetch requires TLS 1.2 or newer"},
      {"sslfingerprint MD5", std::string(kPoll) + " ssl sslfingerprint \"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\"",
       [](const Config& c) { CHECK(c.polls.at(0).fingerprint.empty()); },
       "fetchmailrc:3: sslfingerprint not carried over: it is an MD5 fingerprint"},
      {"sslfingerprint SHA256", std::string(kPoll) + " ssl sslfingerprint \"00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:"
                                                     "ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff\"",
       [](const Config& c) {
         CHECK(c.polls.at(0).fingerprint ==
               "SHA256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF");
       }, ""},
      {"mda", std::string(kPoll) + " mda \"/usr/bin/procmail -d %T\"",
       [](const Config& c) { CHECK(c.polls.size() == 1); },
       "fetchmailrc:3: keyword 'mda' not carried over: clamfetch delivers over SMTP/LMTP only"},
      {"preconnect", std::string(kPoll) + " preconnect \"ssh -f tunnel\"", [](const Config&) {},
       "fetchmailrc:3: keyword 'preconnect' not carried over: no equivalent"},
      {"multidrop", "poll p.example.com proto pop3 user u pass x to a@example.com b@example.com here",
       [](const Config& c) { CHECK(first_user(c).is == std::vector<std::string>{"a@example.com"}); },
       "fetchmailrc:1: multidrop for u@p.example.com not carried over"},
  };
}

void run(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    INFO(c.what << "\n" << c.rc);
    std::vector<std::string> warnings;
    Config config = import_and_parse(c.rc, warnings);
    c.check(config);
    if (c.warning.empty()) {
      CHECK(warnings.empty());
      for (const auto& w : warnings) INFO(w);
    } else {
      REQUIRE(warnings.size() >= 1);
      CHECK(warnings[0].substr(0, c.warning.size()) == c.warning);
    }
  }
}

}  // namespace

TEST_CASE("import: set statements", "[rc][import]") { run(set_cases()); }
TEST_CASE("import: poll, skip, defaults and server options", "[rc][import]") { run(server_cases()); }
TEST_CASE("import: users, words, strings, comments, user options", "[rc][import]") { run(user_cases()); }
TEST_CASE("import: smtphost, lmtp, TLS and uncarried keywords", "[rc][import]") { run(delivery_and_tls_cases()); }

TEST_CASE("import: the fetchmailrc of issue 8 end to end", "[rc][import]") {
  std::ifstream in(CLAMFETCH_SOURCE_DIR "/tests/data/rc/fetchmailrc.issue8");
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> warnings;
  Config c = import_and_parse(text.str(), warnings);
  CHECK(warnings.empty());
  CHECK(c.global.postmaster == "postmaster@example.com");
  CHECK(c.global.syslog);
  CHECK_FALSE(c.global.bouncemail);
  REQUIRE(c.polls.size() == 2);
  const Poll& pop = c.polls[0];
  CHECK(pop.server == "pop.example.com");
  CHECK(pop.protocol == Protocol::pop3);
  CHECK(pop.tls == TlsMode::starttls);
  REQUIRE(pop.users.size() == 2);
  for (const User& u : pop.users) {
    CHECK(u.fetchall);
    CHECK_FALSE(u.keep);
    CHECK(u.antispam.empty());
    CHECK(u.batchlimit == 100);
    CHECK(u.timeout == 300);
  }
  CHECK(pop.users[0].username == "pop3userid1");
  CHECK(pop.users[0].password == "pop3password1");
  CHECK(pop.users[0].is == std::vector<std::string>{"virtualuser1@example.com"});
  CHECK(pop.users[0].smtphost.host == "127.0.0.1");
  CHECK(pop.users[0].smtphost.port == 2525);
  CHECK(pop.users[1].username == "pop3userid2");
  CHECK(pop.users[1].is == std::vector<std::string>{"virtualuser2@example.com"});
  CHECK(pop.users[1].smtphost.text.empty());  // fetchmail's default: localhost:25
  const Poll& other = c.polls[1];
  CHECK(other.server == "other.example.com");
  REQUIRE(other.users.size() == 1);
  CHECK(other.users[0].username == "pop3userid0");
  CHECK(other.users[0].password == "pop3password0");
  CHECK(other.users[0].is == std::vector<std::string>{"virtualuser0@example.com"});
  CHECK_FALSE(other.users[0].fetchall);
  CHECK(other.users[0].timeout == 300);
}

TEST_CASE("import: syntax errors name line and column", "[rc][import]") {
  struct Bad {
    const char* rc;
    const char* error;
  };
  for (Bad b : {
           Bad{"poll", "fetchmailrc:1:5: expected a string after 'poll', got end of file"},
           Bad{"poll p user u pass \"open", "fetchmailrc:1:20: unterminated string"},
           Bad{"poll p proto pop3 user u pass x port 110", "fetchmailrc:1:33: server option 'port' after user options"},
           Bad{"set bananas", "fetchmailrc:1:5: unknown 'set' option 'bananas'"},
           Bad{"user u", "fetchmailrc:1:1: expected 'set', 'poll', 'skip' or 'defaults', got 'user'"},
           Bad{"poll p proto smtp", "fetchmailrc:1:14: expected a protocol after 'protocol', got 'smtp'"},
           Bad{"poll p\n  user u limit lots", "fetchmailrc:2:16: expected a number after 'limit', got 'lots'"},
       }) {
    INFO(b.rc);
    std::vector<std::string> warnings;
    auto result = import_fetchmailrc(b.rc, "fetchmailrc", warnings);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().text == b.error);
    CHECK(exit_code(result.error().kind) == 5);
  }
}
