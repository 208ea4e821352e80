// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// rc parsing: the DESIGN.md schema read into Config, inheritance, value parsers, describe().

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "rc/rc.hpp"

using namespace clamfetch;
using namespace clamfetch::rc;

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Config parsed(std::string_view text) {
  auto config = parse(text, "test.toml");
  INFO((config.ok() ? std::string() : config.error().text));
  REQUIRE(config.ok());
  return *config;
}

}  // namespace

TEST_CASE("the DESIGN.md example parses with every value", "[rc][parse]") {
  Config c = parsed(read(CLAMFETCH_SOURCE_DIR "/tests/data/rc/design.toml"));
  CHECK(c.global.postmaster == "postmaster@example.com");
  CHECK_FALSE(c.global.bouncemail);
  CHECK(c.global.syslog);
  CHECK_FALSE(c.global.invisible);
  CHECK(c.scan.database == "/var/lib/clamav");
  CHECK(c.scan.max_file_size == 25ull << 20);
  CHECK(c.scan.max_scan_size == 100ull << 20);
  CHECK(c.scan.on_infected == OnInfected::quarantine);
  CHECK(c.scan.on_fail == OnFail::defer);
  CHECK(c.scan.on_oversize == OnOversize::accept);
  CHECK(c.scan.add_header == AddHeader::replace);
  CHECK(c.scan.report_hostname == "mail.example.com");
  CHECK(c.scan.allowlist ==
        std::vector<std::string>{"To:antivirus-test1@example.com", "From:antivirus-test1@uchi.example.com"});
  REQUIRE(c.polls.size() == 1);
  const Poll& p = c.polls[0];
  CHECK(p.server == "pop.example.com");
  CHECK(p.protocol == Protocol::pop3);
  CHECK(p.tls == TlsMode::implicit);
  CHECK(p.port == 0);
  REQUIRE(p.users.size() == 2);
  const User& u1 = p.users[0];
  CHECK(u1.username == "pop3userid1");
  CHECK(u1.password == "pop3password1");
  CHECK(u1.is == std::vector<std::string>{"virtualuser1@example.com"});
  CHECK(u1.fetchall);
  CHECK_FALSE(u1.keep);
  CHECK(u1.smtphost.kind == MtaTarget::Kind::smtp);
  CHECK(u1.smtphost.host == "127.0.0.1");
  CHECK(u1.smtphost.port == 2525);
  CHECK(u1.timeout == 300);
  CHECK(u1.antispam.empty());
  CHECK(u1.batchlimit == 100);
  const User& u2 = p.users[1];
  CHECK(u2.smtphost.host == "localhost");  // from [defaults]
  CHECK(u2.smtphost.port == 25);
  CHECK_FALSE(u2.fetchall);
}

TEST_CASE("built-in defaults when nothing is set", "[rc][parse]") {
  Config c = parsed(R"([[poll]]
server = "mail.example.net"
[[poll.user]]
username = "u"
password = "p"
is = "u@example.com"
)");
  const User& u = c.polls[0].users[0];
  CHECK(u.timeout == 300);
  // Empty: a refusal of the recipient (550 user unknown) must never drop mail (issue 15).
  CHECK(u.antispam.empty());
  CHECK(u.folders == std::vector<std::string>{"INBOX"});
  CHECK(u.limit == 0);
  CHECK(u.fetchlimit == 0);
  CHECK(u.batchlimit == 0);
  CHECK_FALSE(u.keep);
  CHECK(c.global.bouncemail);
  CHECK(c.global.parallel == 1);
  CHECK(c.global.smtp_sessions == 4);
  CHECK(c.polls[0].tls == TlsMode::implicit);
  CHECK(c.polls[0].min_tls == "1.2");
  CHECK(c.scan.quarantine_keep_seconds == 30ull * 86400);
}

TEST_CASE("inheritance: [defaults] -> [[poll]] -> [[poll.user]]", "[rc][parse]") {
  Config c = parsed(R"([defaults]
timeout = 100
batchlimit = 10
fetchlimit = 7
keep = true
smtphost = "lmtp:/run/dovecot/lmtp"

[[poll]]
server = "a.example.com"
timeout = 200
batchlimit = 20
folders = ["INBOX", "Spam"]

  [[poll.user]]
  username = "one"
  password = "x"
  is = "one@example.com"
  timeout = 300
  keep = false

  [[poll.user]]
  username = "two"
  password_command = "pass show two"
  is = ["two@example.com", "also@example.com"]

[[poll]]
server = "b.example.com"
  [[poll.user]]
  username = "three"
  password = "y"
  is = "three@example.com"
)");
  const User& one = c.polls[0].users[0];
  const User& two = c.polls[0].users[1];
  const User& three = c.polls[1].users[0];
  CHECK(one.timeout == 300);     // user over poll over defaults
  CHECK(two.timeout == 200);     // poll over defaults
  CHECK(three.timeout == 100);   // defaults
  CHECK(one.batchlimit == 20);
  CHECK(three.batchlimit == 10);
  CHECK(one.fetchlimit == 7);
  CHECK_FALSE(one.keep);
  CHECK(two.keep);
  CHECK(two.folders == std::vector<std::string>{"INBOX", "Spam"});
  CHECK(three.folders == std::vector<std::string>{"INBOX"});
  CHECK(three.smtphost.kind == MtaTarget::Kind::lmtp_unix);
  CHECK(three.smtphost.path == "/run/dovecot/lmtp");
  CHECK(two.password.empty());
  CHECK(two.password_command == "pass show two");
  CHECK(two.is == std::vector<std::string>{"two@example.com", "also@example.com"});
}

TEST_CASE("every [global], [scan] and [[poll]] key is read", "[rc][parse]") {
  Config c = parsed(R"([global]
logfile = "/var/log/clamfetch.log"
invisible = true
parallel = 4
smtp_sessions = 8
[scan]
enabled = false
clamd = ["unix:/run/clamav/clamd.ctl", "tcp:scanner.example.net:3310"]
max_file_size = "100K"
max_scan_size = 1048576
on_infected = "discard"
on_fail = "accept"
on_oversize = "quarantine"
add_header = "no"
virus_action = "/usr/local/sbin/handler"
quarantine_dir = "/var/spool/q"
quarantine_keep = "12h"
log_infected = "full"
log_clean = "basic"
whitelist = ["From:a@example.com"]
allowlist_file = "/etc/clamfetch/allow"
[[poll]]
server = "imap.example.com"
protocol = "imap"
port = 10143
tls = "starttls"
ca_file = "/etc/ssl/ca.pem"
fingerprint = "SHA256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"
min_tls = "1.3"
  [[poll.user]]
  username = "u"
  password = "p"
  is = "u@example.com"
  limit = "2M"
  antispam = [550]
  smtphost = "lmtp:127.0.0.1:24"
)");
  CHECK(c.global.logfile == "/var/log/clamfetch.log");
  CHECK(c.global.invisible);
  CHECK(c.global.parallel == 4);
  CHECK(c.global.smtp_sessions == 8);
  CHECK_FALSE(c.scan.enabled);
  CHECK(c.scan.clamd.size() == 2);
  CHECK(c.scan.max_file_size == 100 * 1024);
  CHECK(c.scan.max_scan_size == 1048576);
  CHECK(c.scan.on_infected == OnInfected::discard);
  CHECK(c.scan.on_fail == OnFail::accept);
  CHECK(c.scan.on_oversize == OnOversize::quarantine);
  CHECK(c.scan.add_header == AddHeader::no);
  CHECK(c.scan.virus_action == "/usr/local/sbin/handler");
  CHECK(c.scan.quarantine_dir == "/var/spool/q");
  CHECK(c.scan.quarantine_keep_seconds == 12 * 3600);
  CHECK(c.scan.log_infected == LogDetail::full);
  CHECK(c.scan.log_clean == LogDetail::basic);
  CHECK(c.scan.allowlist == std::vector<std::string>{"From:a@example.com"});
  CHECK(c.scan.allowlist_file == "/etc/clamfetch/allow");
  const Poll& p = c.polls[0];
  CHECK(p.protocol == Protocol::imap);
  CHECK(p.port == 10143);
  CHECK(p.tls == TlsMode::starttls);
  CHECK(p.ca_file == "/etc/ssl/ca.pem");
  CHECK(p.fingerprint.substr(0, 12) == "SHA256:00:11");
  CHECK(p.min_tls == "1.3");
  const User& u = p.users[0];
  CHECK(u.limit == 2u << 20);
  CHECK(u.antispam == std::vector<int>{550});
  CHECK(u.smtphost.kind == MtaTarget::Kind::lmtp_tcp);
  CHECK(u.smtphost.host == "127.0.0.1");
  CHECK(u.smtphost.port == 24);
}

TEST_CASE("examples/clamfetch.toml is accepted and matches the fetchmailrc it replaces", "[rc][parse]") {
  auto c = parse(read(CLAMFETCH_SOURCE_DIR "/examples/clamfetch.toml"), "clamfetch.toml");
  INFO((c.ok() ? std::string() : c.error().text));
  REQUIRE(c.ok());
  REQUIRE(c->polls.size() == 2);
  CHECK(c->global.postmaster == "postmaster@example.com");
  CHECK_FALSE(c->global.bouncemail);
  const User& u1 = c->polls[0].users.at(0);
  CHECK(u1.smtphost.host == "127.0.0.1");
  CHECK(u1.smtphost.port == 2525);
  CHECK(u1.is == std::vector<std::string>{"virtualuser1@example.com"});
  CHECK(u1.antispam.empty());
  CHECK(c->polls[0].users.at(1).is == std::vector<std::string>{"virtualuser2@example.com"});
  CHECK(c->polls[1].users.at(0).username == "pop3userid0");
}

TEST_CASE("parse_size, parse_duration, parse_mta_target", "[rc][values]") {
  CHECK(*parse_size("25M") == 25ull << 20);
  CHECK(*parse_size("100K") == 100ull << 10);
  CHECK(*parse_size("1G") == 1ull << 30);
  CHECK(*parse_size("12345") == 12345);
  CHECK_FALSE(parse_size("25X").ok());
  CHECK_FALSE(parse_size("M").ok());
  CHECK_FALSE(parse_size("").ok());
  CHECK_FALSE(parse_size("99999999999999999999G").ok());
  CHECK(parse_size("25X").error().text ==
        "invalid size \"25X\": expected bytes, or a number followed by K, M or G (\"25M\")");
  CHECK(*parse_duration("30d") == 30 * 86400);
  CHECK(*parse_duration("12h") == 12 * 3600);
  CHECK(*parse_duration("15m") == 900);
  CHECK(*parse_duration("45s") == 45);
  CHECK(*parse_duration("3600") == 3600);
  CHECK_FALSE(parse_duration("1w").ok());

  auto smtp = parse_mta_target("mx.example.com:2525");
  REQUIRE(smtp.ok());
  CHECK(smtp->kind == MtaTarget::Kind::smtp);
  CHECK(smtp->host == "mx.example.com");
  CHECK(smtp->port == 2525);
  CHECK(smtp->text == "mx.example.com:2525");
  auto v6 = parse_mta_target("[::1]:25");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  auto lmtp = parse_mta_target("lmtp:localhost:24");
  REQUIRE(lmtp.ok());
  CHECK(lmtp->kind == MtaTarget::Kind::lmtp_tcp);
  auto unix_socket = parse_mta_target("lmtp:/var/spool/postfix/private/dovecot-lmtp");
  REQUIRE(unix_socket.ok());
  CHECK(unix_socket->kind == MtaTarget::Kind::lmtp_unix);
  CHECK(unix_socket->path == "/var/spool/postfix/private/dovecot-lmtp");
  for (const char* bad : {"localhost", "host:0", "host:65536", "host:", ":25", "lmtp:", "lmtp:/",
                          "lmtp:relative/path", "a b:25", "lmtp:host", "host:25x"}) {
    INFO(bad);
    CHECK_FALSE(parse_mta_target(bad).ok());
  }
}

TEST_CASE("describe() shows every account and masks secrets", "[rc][describe]") {
  Config c = parsed(R"([[poll]]
server = "pop.example.com"
  [[poll.user]]
  username = "alice"
  password = "s3cret-literal"
  is = "alice@example.com"
  [[poll.user]]
  username = "bob"
  password_command = "pass show mail/bob-secret-path"
  is = "bob@example.com"
)");
  std::string text = describe(c);
  CHECK(text.find("[account alice@pop.example.com]") != std::string::npos);
  CHECK(text.find("[account bob@pop.example.com]") != std::string::npos);
  CHECK(text.find("password = ********") != std::string::npos);
  CHECK(text.find("password_command = ********") != std::string::npos);
  CHECK(text.find("s3cret-literal") == std::string::npos);
  CHECK(text.find("bob-secret-path") == std::string::npos);
  CHECK(text.find("port = 995 (default)") != std::string::npos);
  CHECK(text.find("timeout = 300") != std::string::npos);
  CHECK(text.find("antispam = []") != std::string::npos);
  CHECK(text.find("[global]") != std::string::npos);
  CHECK(text.find("[scan]") != std::string::npos);
}

TEST_CASE("auth: every value is read, auto is the default, describe() shows it", "[rc][parse][auth]") {
  auto with_auth = [](const std::string& protocol, const std::string& auth) {
    return "[[poll]]\nserver = \"mail.example.com\"\nprotocol = \"" + protocol + "\"\n" + auth +
           "[[poll.user]]\nusername = \"u\"\npassword = \"p\"\nis = \"u@example.com\"\n";
  };
  CHECK(parsed(with_auth("pop3", "")).polls.at(0).auth == Poll::Auth::automatic);
  CHECK(parsed(with_auth("pop3", "auth = \"auto\"\n")).polls.at(0).auth == Poll::Auth::automatic);
  CHECK(parsed(with_auth("pop3", "auth = \"password\"\n")).polls.at(0).auth == Poll::Auth::password);
  CHECK(parsed(with_auth("pop3", "auth = \"plain\"\n")).polls.at(0).auth == Poll::Auth::plain);
  CHECK(parsed(with_auth("pop3", "auth = \"login\"\n")).polls.at(0).auth == Poll::Auth::login);
  CHECK(parsed(with_auth("pop3", "auth = \"apop\"\n")).polls.at(0).auth == Poll::Auth::apop);
  // IMAP: login is LOGIN, plain is AUTHENTICATE PLAIN.
  CHECK(parsed(with_auth("imap", "auth = \"login\"\n")).polls.at(0).auth == Poll::Auth::login);
  CHECK(parsed(with_auth("imap", "auth = \"plain\"\n")).polls.at(0).auth == Poll::Auth::plain);

  CHECK(describe(parsed(with_auth("pop3", ""))).find("\nauth = auto\n") != std::string::npos);
  CHECK(describe(parsed(with_auth("pop3", "auth = \"apop\"\n"))).find("\nauth = apop\n") !=
        std::string::npos);
  CHECK(describe(parsed(with_auth("imap", "auth = \"plain\"\n"))).find("\nauth = plain\n") !=
        std::string::npos);
}
