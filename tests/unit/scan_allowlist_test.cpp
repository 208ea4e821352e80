// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// clamav-milter's AllowList semantics: basic POSIX regex, case-insensitive, unanchored;
// To: needs every recipient, From: needs the sender.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "scan/scan.hpp"

using namespace clamfetch;
using scan::Allowlist;

namespace {

Allowlist make(const std::vector<std::string>& lines) {
  auto list = Allowlist::parse(lines, "rc");
  REQUIRE(list.ok());
  return *list;
}

}  // namespace

TEST_CASE("allowlist decisions") {
  struct Row {
    std::vector<std::string> lines;
    std::string sender;
    std::vector<std::string> recipients;
    bool skips;
  };
  const std::vector<Row> table = {
      // To: every recipient must match
      {{"To:^antivirus-test1@example\\.com$"}, "a@b.net", {"antivirus-test1@example.com"}, true},
      {{"To:^antivirus-test1@example\\.com$"}, "a@b.net", {"antivirus-test1@example.com", "other@example.com"}, false},
      {{"To:^antivirus-test1@", "To:^other@"}, "a@b.net", {"antivirus-test1@example.com", "other@example.com"}, true},
      {{"To:^antivirus-test1@"}, "a@b.net", {}, false},  // no recipient: nothing to allow
      // no prefix means To:
      {{"^user@example\\.com$"}, "x@y", {"user@example.com"}, true},
      {{"^user@example\\.com$"}, "user@example.com", {"z@example.com"}, false},
      // From: the sender alone decides
      {{"From:^antivirus-test1@uchi\\.example\\.com$"}, "antivirus-test1@uchi.example.com", {"a@example.com", "b@example.com"}, true},
      {{"From:^antivirus-test1@uchi\\.example\\.com$"}, "someone@uchi.example.com", {"a@example.com"}, false},
      {{"From:@trusted\\.example$"}, "", {"a@example.com"}, false},  // null sender
      // To: entries never match the sender, From: entries never the recipients
      {{"To:^boss@"}, "boss@example.com", {"a@example.com"}, false},
      {{"From:^boss@"}, "a@example.net", {"boss@example.com"}, false},
      // case-insensitive prefix and match
      {{"from:^BOSS@EXAMPLE\\.COM$"}, "boss@example.com", {"a@x"}, true},
      {{"TO:^Boss@Example\\.com$"}, "a@x", {"BOSS@EXAMPLE.COM"}, true},
      // unanchored, as regexec(): a fragment matches anywhere
      {{"To:example\\.com"}, "a@x", {"user@sub.example.com.evil"}, true},
      {{"To:^example\\.com"}, "a@x", {"user@example.com"}, false},
      // basic regex: '+' and '(' are literal characters
      {{"To:^a+b@x$"}, "s@x", {"aab@x"}, false},
      {{"To:^a+b@x$"}, "s@x", {"a+b@x"}, true},
      {{"To:^(a)@x$"}, "s@x", {"(a)@x"}, true},
      {{"To:^\\(ab\\)*@x$"}, "s@x", {"abab@x"}, true},  // \( \) group in a basic regex
      {{"To:^a*@x$"}, "s@x", {"aaa@x"}, true},
      // comments and blanks
      {{"# To:.*", ":To:.*", "!From:.*", "", "   "}, "s@x", {"a@x"}, false},
      // an empty list skips nothing
      {{}, "s@x", {"a@x"}, false},
  };
  for (std::size_t i = 0; i < table.size(); ++i) {
    const Row& row = table[i];
    INFO("row " << i << ": " << (row.lines.empty() ? "(none)" : row.lines[0]));
    CHECK(make(row.lines).skips(row.sender, row.recipients) == row.skips);
  }
}

TEST_CASE("comments and blanks make an empty list") {
  CHECK(make({"# comment", ": also", "! and this", "", " \t"}).empty());
  CHECK_FALSE(make({"To:x"}).empty());
}

TEST_CASE("a bad regular expression names the origin and the line") {
  auto list = Allowlist::parse({"# fine", "To:^ok@x$", "From:[unclosed"}, "/etc/clamfetch/allow");
  REQUIRE_FALSE(list.ok());
  CHECK(list.error().kind == Kind::config);
  CHECK(list.error().text.rfind("/etc/clamfetch/allow:3: bad regular expression '[unclosed'", 0) == 0);
}

TEST_CASE("an empty pattern is refused (it would allow every address)") {
  auto list = Allowlist::parse({"To:"}, "rc");
  REQUIRE_FALSE(list.ok());
  CHECK(list.error().text == "rc:1: empty allowlist pattern");
}

TEST_CASE("merge adds both kinds") {
  Allowlist a = make({"To:^a@x$"});
  a.merge(make({"From:^s@y$", "To:^b@x$"}));
  CHECK(a.skips("s@y", {"z@z"}));
  CHECK(a.skips("n@n", {"a@x", "b@x"}));
  CHECK_FALSE(a.skips("n@n", {"a@x", "c@x"}));
}

TEST_CASE("load_file reads clamav-milter's file format, CRLF included") {
  auto path = std::filesystem::temp_directory_path() / ("allow-" + std::to_string(::getpid()));
  std::ofstream(path) << "# clamav-milter AllowList\r\n:comment\r\nFrom:^trusted@example\\.net$\r\n"
                         "To:^postmaster@\r\n!bang\r\n^abuse@\r\n";
  auto list = Allowlist::load_file(path.string());
  std::filesystem::remove(path);
  REQUIRE(list.ok());
  CHECK(list->skips("trusted@example.net", {"a@b"}));
  CHECK(list->skips("x@y", {"postmaster@example.com", "abuse@example.com"}));
  CHECK_FALSE(list->skips("x@y", {"postmaster@example.com", "user@example.com"}));
}

TEST_CASE("load_file on a missing file is a config error naming it") {
  auto list = Allowlist::load_file("/nonexistent/allowlist");
  REQUIRE_FALSE(list.ok());
  CHECK(list.error().kind == Kind::config);
  CHECK(list.error().text == "/nonexistent/allowlist: cannot open allowlist file");
}
