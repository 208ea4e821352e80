// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// rc validation: every rule's exact error text "file:line:col: message", Kind::config, exit 5.

#include <catch2/catch.hpp>

#include "rc/rc.hpp"

using namespace clamfetch;
using namespace clamfetch::rc;

namespace {

/// The error of parsing `text` as "t.toml"; fails the test if it parsed.
std::string error_of(std::string_view text) {
  auto config = parse(text, "t.toml");
  REQUIRE_FALSE(config.ok());
  CHECK(config.error().kind == Kind::config);
  CHECK(exit_code(config.error().kind) == 5);
  return config.error().text;
}

/// A valid poll with one user; `poll_extra` goes into [[poll]], `user_extra` into [[poll.user]].
std::string with_user(const std::string& poll_extra, const std::string& user_extra) {
  return "[[poll]]\nserver = \"pop.example.com\"\n" + poll_extra +
         "[[poll.user]]\nusername = \"u\"\npassword = \"p\"\nis = \"u@example.com\"\n" + user_extra;
}

}  // namespace

TEST_CASE("TOML syntax errors name file, line and column", "[rc][validate]") {
  CHECK(error_of("[global]\npostmaster = \n") ==
        "t.toml:2:14: Error while parsing key-value pair: expected value, saw '\\n'");
  CHECK(error_of("[global\n").substr(0, 9) == "t.toml:1:");
}

TEST_CASE("unknown keys, with did-you-mean for near misses", "[rc][validate]") {
  CHECK(error_of(with_user("", "fetchal = true\n")) ==
        "t.toml:7:1: unknown key 'fetchal' in [[poll.user]] (did you mean 'fetchall'?)");
  CHECK(error_of("[global]\npostmastr = \"a@b.c\"\n") ==
        "t.toml:2:1: unknown key 'postmastr' in [global] (did you mean 'postmaster'?)");
  CHECK(error_of("[scan]\nwhitelst = []\n") ==
        "t.toml:2:1: unknown key 'whitelst' in [scan] (did you mean 'whitelist'?)");
  CHECK(error_of("[defaults]\nbananas = 1\n") == "t.toml:2:1: unknown key 'bananas' in [defaults]");
  CHECK(error_of(with_user("protocl = \"imap\"\n", "")) ==
        "t.toml:3:1: unknown key 'protocl' in [[poll]] (did you mean 'protocol'?)");
  CHECK(error_of("[defalts]\n") ==
        "t.toml:1:2: unknown key 'defalts' in the top level (did you mean 'defaults'?)");
}

TEST_CASE("wrong types are errors, not silently defaulted", "[rc][validate]") {
  CHECK(error_of("[defaults]\ntimeout = \"300\"\n") == "t.toml:2:11: timeout must be an integer, got string");
  CHECK(error_of("[defaults]\nkeep = \"yes\"\n") == "t.toml:2:8: keep must be true or false, got string");
  CHECK(error_of("[global]\nlogfile = 3\n") == "t.toml:2:11: logfile must be a string, got integer");
  CHECK(error_of("[scan]\nallowlist = \"To:a@b.c\"\n") ==
        "t.toml:2:13: allowlist must be an array of strings, got string");
  CHECK(error_of("[[poll]]\nserver = \"s\"\n[[poll.user]]\nusername = \"u\"\npassword = \"p\"\n"
                 "is = [\"a@b.c\", 3]\n") ==
        "t.toml:6:16: is must be a string or an array of strings, got an array item of type integer");
  CHECK(error_of("global = 1\n") == "t.toml:1:10: global must be a table, got integer");
  CHECK(error_of("[poll]\nserver = \"x\"\n") ==
        "t.toml:1:1: poll must be an array of tables ([[poll]]), got table");
}

TEST_CASE("values out of range", "[rc][validate]") {
  CHECK(error_of(with_user("port = 70000\n", "")) == "t.toml:3:8: port must be between 1 and 65535, got 70000");
  CHECK(error_of(with_user("port = 0\n", "")) == "t.toml:3:8: port must be between 1 and 65535, got 0");
  CHECK(error_of("[defaults]\ntimeout = 0\n") == "t.toml:2:11: timeout must be greater than 0, got 0");
  CHECK(error_of("[global]\nparallel = 65\n") == "t.toml:2:12: parallel must be between 1 and 64, got 65");
  CHECK(error_of("[global]\nsmtp_sessions = 0\n") ==
        "t.toml:2:17: smtp_sessions must be between 1 and 64, got 0");
  CHECK(error_of("[defaults]\nbatchlimit = -1\n") == "t.toml:2:14: batchlimit must be at least 0, got -1");
  CHECK(error_of("[defaults]\nantispam = [550, 250]\n") ==
        "t.toml:2:18: antispam codes must be SMTP error codes between 400 and 599, got 250");
}

TEST_CASE("protocol, tls, min_tls and the on_* choices list what is allowed", "[rc][validate]") {
  CHECK(error_of(with_user("protocol = \"pop2\"\n", "")) ==
        "t.toml:3:12: protocol must be one of \"pop3\", \"imap\", got \"pop2\"");
  CHECK(error_of(with_user("tls = \"ssl\"\n", "")) ==
        "t.toml:3:7: tls must be one of \"implicit\", \"starttls\", \"none\", got \"ssl\"");
  CHECK(error_of(with_user("min_tls = \"1.1\"\n", "")) ==
        "t.toml:3:11: min_tls must be one of \"1.2\", \"1.3\", got \"1.1\"");
  CHECK(error_of("[scan]\non_infected = \"delete\"\n") ==
        "t.toml:2:15: on_infected must be one of \"quarantine\", \"accept\", \"discard\", got \"delete\"");
  CHECK(error_of("[scan]\non_fail = \"retry\"\n") ==
        "t.toml:2:11: on_fail must be one of \"defer\", \"accept\", got \"retry\"");
  CHECK(error_of("[scan]\non_oversize = \"drop\"\n") ==
        "t.toml:2:15: on_oversize must be one of \"accept\", \"defer\", \"quarantine\", got \"drop\"");
  CHECK(error_of("[scan]\nadd_header = \"yes\"\n") ==
        "t.toml:2:14: add_header must be one of \"no\", \"add\", \"replace\", got \"yes\"");
  CHECK(error_of("[scan]\nlog_clean = \"all\"\n") ==
        "t.toml:2:13: log_clean must be one of \"off\", \"basic\", \"full\", got \"all\"");
}

TEST_CASE("tls = none needs allow_plaintext = true", "[rc][validate]") {
  CHECK(error_of(with_user("tls = \"none\"\n", "")) ==
        "t.toml:3:7: tls = \"none\" sends the password in clear text: it needs allow_plaintext = true in the "
        "same [[poll]]");
  CHECK(error_of(with_user("tls = \"none\"\nallow_plaintext = false\n", "")).substr(0, 11) == "t.toml:3:7:");
  CHECK(parse(with_user("tls = \"none\"\nallow_plaintext = true\n", ""), "t.toml").ok());
}

TEST_CASE("exactly one of password and password_command", "[rc][validate]") {
  CHECK(error_of(with_user("", "password_command = \"pass show u\"\n")) ==
        "t.toml:7:1: user \"u\" has both password and password_command: give only one");
  CHECK(error_of("[[poll]]\nserver = \"s\"\n[[poll.user]]\nusername = \"u\"\nis = \"u@example.com\"\n") ==
        "t.toml:3:1: user \"u\" has neither password nor password_command");
}

TEST_CASE("smtphost, sizes and durations must be well formed", "[rc][validate]") {
  CHECK(error_of("[defaults]\nsmtphost = \"localhost/25\"\n") ==
        "t.toml:2:12: smtphost must be \"host:port\", \"lmtp:host:port\" or \"lmtp:/path/to/socket\", got "
        "\"localhost/25\"");
  CHECK(error_of("[defaults]\nsmtphost = \"lmtp:run/lmtp\"\n").substr(0, 12) == "t.toml:2:12:");
  CHECK(error_of("[scan]\nmax_file_size = \"25MB\"\n") ==
        "t.toml:2:17: max_file_size must be a size like \"25M\", \"100K\", \"1G\" or a number of bytes, got \"25MB\"");
  CHECK(error_of("[defaults]\nlimit = -5\n") ==
        "t.toml:2:9: limit must be a size like \"25M\", \"100K\", \"1G\" or a number of bytes, got -5");
  CHECK(error_of("[scan]\nquarantine_keep = \"30 days\"\n") ==
        "t.toml:2:19: quarantine_keep must be a duration like \"30d\", \"12h\", \"15m\", \"45s\" or a number of "
        "seconds, got \"30 days\"");
  CHECK(error_of("[scan]\nclamd = [\"/run/clamd.ctl\"]\n") ==
        "t.toml:2:10: clamd entries must be \"unix:/path/to/socket\" or \"tcp:host:port\", got \"/run/clamd.ctl\"");
}

TEST_CASE("addresses need an @", "[rc][validate]") {
  CHECK(error_of("[global]\npostmaster = \"postmaster\"\n") ==
        "t.toml:2:14: postmaster must be a mail address with '@', got \"postmaster\"");
  CHECK(error_of("[[poll]]\nserver = \"s\"\n[[poll.user]]\nusername = \"u\"\npassword = \"p\"\nis = \"fred\"\n") ==
        "t.toml:6:6: is must be a mail address with '@', got \"fred\"");
  CHECK(error_of("[[poll]]\nserver = \"s\"\n[[poll.user]]\nusername = \"u\"\npassword = \"p\"\nis = []\n") ==
        "t.toml:6:6: is must name at least one local recipient address");
}

TEST_CASE("users, polls and duplicates", "[rc][validate]") {
  CHECK(error_of("[[poll]]\nserver = \"s\"\n[[poll.user]]\nusername = \"u\"\npassword = \"p\"\n") ==
        "t.toml:3:1: user \"u\" has no is (the local recipient, e.g. is = \"user@example.com\")");
  CHECK(error_of("[[poll]]\nserver = \"s\"\n") == "t.toml:1:1: poll \"s\" has no users: add a [[poll.user]]");
  CHECK(error_of("[[poll]]\nprotocol = \"pop3\"\n[[poll.user]]\nusername = \"u\"\npassword = \"p\"\nis = \"u@e.com\"\n") ==
        "t.toml:1:1: [[poll]] has no server");
  std::string twice = with_user("", "") + "[[poll]]\nserver = \"pop.example.com\"\nport = 995\n" +
                      "[[poll.user]]\nusername = \"v\"\npassword = \"p\"\nis = \"v@example.com\"\n";
  CHECK(error_of(twice) ==
        "t.toml:7:1: duplicate poll: server \"pop.example.com\", protocol pop3, port 995 is already at line 1");
  // Same server over another protocol or port is another poll.
  CHECK(parse(with_user("", "") + "[[poll]]\nserver = \"pop.example.com\"\nprotocol = \"imap\"\n" +
                  "[[poll.user]]\nusername = \"v\"\npassword = \"p\"\nis = \"v@example.com\"\n", "t.toml").ok());
  CHECK(error_of(with_user("", "") + "[[poll.user]]\nusername = \"u\"\npassword = \"q\"\nis = \"w@example.com\"\n") ==
        "t.toml:7:1: duplicate user \"u\" in poll \"pop.example.com\" (first at line 3)");
}

TEST_CASE("one account polled on two ports is refused: one UID store for both", "[rc][validate]") {
  std::string second_port = "[[poll]]\nserver = \"pop.example.com\"\nport = 1995\n";
  CHECK(error_of(with_user("", "") + second_port + "[[poll.user]]\nusername = \"u\"\npassword = \"q\"\n" +
                 "is = \"w@example.com\"\n") ==
        "t.toml:10:1: user \"u\" of server \"pop.example.com\" (pop3, port 1995) is already polled at "
        "line 3 (port 995): both would share one record of delivered mail; poll each account once");
  // Another user on the other port, or the same user over IMAP, has a store of its own.
  CHECK(parse(with_user("", "") + second_port + "[[poll.user]]\nusername = \"v\"\npassword = \"q\"\n" +
                  "is = \"w@example.com\"\n", "t.toml").ok());
  CHECK(parse(with_user("", "") + "[[poll]]\nserver = \"pop.example.com\"\nprotocol = \"imap\"\n" +
                  "[[poll.user]]\nusername = \"u\"\npassword = \"q\"\nis = \"w@example.com\"\n", "t.toml").ok());
}

TEST_CASE("fingerprint and allowlist formats", "[rc][validate]") {
  CHECK(error_of(with_user("fingerprint = \"AB:CD\"\n", "")) ==
        "t.toml:3:15: fingerprint must be \"SHA256:\" followed by 32 colon-separated hex pairs "
        "(\"SHA256:AB:CD:...\"), got \"AB:CD\"");
  std::string md5 = "SHA256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";
  CHECK(error_of(with_user("fingerprint = \"" + md5 + "\"\n", "")).substr(0, 12) == "t.toml:3:15:");
  CHECK(error_of("[scan]\nallowlist = [\"To:a@b.c\", \"Cc:x@y.z\"]\n") ==
        "t.toml:2:26: allowlist entries must start with \"To:\" or \"From:\", got \"Cc:x@y.z\"");
  CHECK(error_of("[scan]\nallowlist = []\nwhitelist = []\n") ==
        "t.toml:3:1: allowlist and whitelist are the same setting: give only one of them");
}

TEST_CASE("several errors are reported together, one per line in file order", "[rc][validate]") {
  CHECK(error_of("[global]\nparallel = 0\n[defaults]\ntimeout = -1\n") ==
        "t.toml:2:12: parallel must be between 1 and 64, got 0\n"
        "t.toml:4:11: timeout must be greater than 0, got -1");
}

TEST_CASE("auth takes the known login methods and apop is POP3 only", "[rc][validate][auth]") {
  CHECK(error_of(with_user("auth = \"cram-md5\"\n", "")) ==
        "t.toml:3:8: auth must be one of \"auto\", \"password\", \"plain\", \"login\", \"apop\", \"oauth2\", "
        "got \"cram-md5\"");
  CHECK(error_of(with_user("auth = true\n", "")) ==
        "t.toml:3:8: auth must be one of \"auto\", \"password\", \"plain\", \"login\", \"apop\", \"oauth2\", "
        "got boolean");
  CHECK(error_of(with_user("protocol = \"imap\"\nauth = \"apop\"\n", "")) ==
        "t.toml:4:8: auth = \"apop\" is for POP3 only: with protocol = \"imap\" use \"auto\", "
        "\"password\", \"login\" or \"plain\"");
  // The order of the keys does not matter.
  CHECK(error_of(with_user("auth = \"apop\"\nprotocol = \"imap\"\n", "")).substr(0, 12) == "t.toml:3:8: ");
  CHECK(error_of(with_user("auht = \"plain\"\n", "")) ==
        "t.toml:3:1: unknown key 'auht' in [[poll]] (did you mean 'auth'?)");
  // A poll key, not a user option.
  CHECK(error_of(with_user("", "auth = \"plain\"\n")).substr(0, 32) == "t.toml:7:1: unknown key 'auth' i");
}
