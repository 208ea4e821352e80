// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// parse_fetchids: fetchmail's .fetchids, as fetchmail 6.4 writes and reads it, plus comments,
// quoting and the lines fetchmail itself would skip.

#include <catch2/catch.hpp>

#include "rc/rc.hpp"

using namespace clamfetch::rc;

namespace {

std::vector<FetchidsEntry> parse(const std::string& text, std::vector<std::string>& warnings) {
  return parse_fetchids(text, ".fetchids", warnings);
}

}  // namespace

TEST_CASE("fetchids: the lines fetchmail 6.4 writes") {
  std::vector<std::string> warnings;
  auto e = parse("alice@pop.example.com 000000016b02d66b\nbob@mail.example.net UID42\n", warnings);
  REQUIRE(e.size() == 2);
  CHECK(e[0].user == "alice");
  CHECK(e[0].host == "pop.example.com");
  CHECK(e[0].uid == "000000016b02d66b");
  CHECK(e[0].line == 1);
  CHECK(e[1].user == "bob");
  CHECK(e[1].host == "mail.example.net");
  CHECK(e[1].uid == "UID42");
  CHECK(warnings.empty());
}

TEST_CASE("fetchids: a user with an at sign and blanks, a UID with an at sign") {
  // fetchmail splits at the first blank after the first '@'; the host follows the last '@'
  // of that part (InterMail puts '@' in UIDLs, Lotus Notes blanks in user names).
  std::vector<std::string> warnings;
  auto e = parse("carol@example.org@pop.example.com  <1234@intermail>\n"
                 "  Dave Smith@notes.example.com\tid-7  \r\n", warnings);
  REQUIRE(e.size() == 2);
  CHECK(e[0].user == "carol@example.org");
  CHECK(e[0].host == "pop.example.com");
  CHECK(e[0].uid == "<1234@intermail>");
  CHECK(e[1].user == "Dave Smith");
  CHECK(e[1].host == "notes.example.com");
  CHECK(e[1].uid == "id-7");
  CHECK(warnings.empty());
}

TEST_CASE("fetchids: comments, blank lines, CRLF and a missing final newline") {
  std::vector<std::string> warnings;
  auto e = parse("# fetchmail UID list\n\n   \r\n# alice@pop.example.com not-a-uid\n"
                 "alice@pop.example.com u1\r\nalice@pop.example.com u2", warnings);
  REQUIRE(e.size() == 2);
  CHECK(e[0].uid == "u1");
  CHECK(e[0].line == 5);
  CHECK(e[1].uid == "u2");
  CHECK(warnings.empty());
}

TEST_CASE("fetchids: double-quoted fields with escapes") {
  std::vector<std::string> warnings;
  auto e = parse("\"a b\\\"c\"@\"pop.example.com\" \"uid-1\"\n\"x@y\"@pop.example.com uid-2\n", warnings);
  REQUIRE(e.size() == 2);
  CHECK(e[0].user == "a b\"c");
  CHECK(e[0].host == "pop.example.com");
  CHECK(e[0].uid == "uid-1");
  CHECK(e[1].user == "x@y");
  CHECK(e[1].uid == "uid-2");
  CHECK(warnings.empty());
}

TEST_CASE("fetchids: odd lines are skipped with a warning naming the line") {
  std::vector<std::string> warnings;
  auto e = parse("no at sign here\nalice@pop.example.com\n\"unterminated@pop.example.com u\n"
                 "@pop.example.com u3\nalice@ u4\nalice@pop.example.com " + std::string(71, 'x') + "\n"
                 "alice@pop.example.com ok\n", warnings);
  REQUIRE(e.size() == 1);
  CHECK(e[0].uid == "ok");
  CHECK(e[0].line == 7);
  REQUIRE(warnings.size() == 6);
  CHECK(warnings[0] == ".fetchids:1: not a \"user@host uid\" line, ignored");
  CHECK(warnings[1] == ".fetchids:2: not a \"user@host uid\" line, ignored");
  CHECK(warnings[2] == ".fetchids:3: not a \"user@host uid\" line, ignored");
  CHECK(warnings[3] == ".fetchids:4: not a \"user@host uid\" line, ignored");
  CHECK(warnings[4] == ".fetchids:5: not a \"user@host uid\" line, ignored");
  CHECK(warnings[5] == ".fetchids:6: UID of alice@pop.example.com is not 1-70 printable characters (RFC 1939), ignored");
}

TEST_CASE("fetchids: every host's entries are returned for the caller to match") {
  // Matching against the rc file's accounts is the caller's job; nothing is dropped here.
  std::vector<std::string> warnings;
  auto e = parse("alice@pop.example.com a\nalice@other.example.net b\n", warnings);
  REQUIRE(e.size() == 2);
  CHECK(e[1].host == "other.example.net");
}
