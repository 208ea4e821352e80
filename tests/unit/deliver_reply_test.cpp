// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Reply parsing and classification, and the EHLO extension list.

#include <catch2/catch.hpp>

#include <string>

#include "deliver/deliver.hpp"

using namespace clamfetch::deliver;
using State = ParsedReply::State;

TEST_CASE("a one-line reply", "[deliver][reply]") {
  ParsedReply r = parse_reply("250 2.0.0 Ok: queued as 4F1\r\nleftover");
  REQUIRE(r.state == State::complete);
  CHECK(r.reply.code == 250);
  CHECK(r.reply.text == "2.0.0 Ok: queued as 4F1");
  CHECK(r.consumed == std::string_view("250 2.0.0 Ok: queued as 4F1\r\n").size());
  CHECK(r.lines.size() == 1);
}

TEST_CASE("a multi-line reply is one reply", "[deliver][reply]") {
  std::string in = "250-mail.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n";
  ParsedReply r = parse_reply(in);
  REQUIRE(r.state == State::complete);
  CHECK(r.reply.code == 250);
  CHECK(r.consumed == in.size());
  REQUIRE(r.lines.size() == 4);
  CHECK(r.lines[0] == "mail.example.com");
  CHECK(r.lines[3] == "8BITMIME");
  CHECK(r.reply.text == "mail.example.com PIPELINING SIZE 10240000 8BITMIME");
}

TEST_CASE("a reply of only a code, and LF alone as line end", "[deliver][reply]") {
  ParsedReply r = parse_reply("354\r\n");
  REQUIRE(r.state == State::complete);
  CHECK(r.reply.code == 354);
  CHECK(r.reply.text.empty());
  r = parse_reply("221 bye\n");
  REQUIRE(r.state == State::complete);
  CHECK(r.reply.code == 221);
  CHECK(r.reply.text == "bye");
}

TEST_CASE("pipelined replies are taken one at a time", "[deliver][reply]") {
  std::string in = "250 2.1.0 Ok\r\n550 5.1.1 nouser\r\n354 go\r\n";
  int codes[3] = {};
  std::size_t pos = 0;
  for (int& code : codes) {
    ParsedReply r = parse_reply(std::string_view(in).substr(pos));
    REQUIRE(r.state == State::complete);
    code = r.reply.code;
    pos += r.consumed;
  }
  CHECK(codes[0] == 250);
  CHECK(codes[1] == 550);
  CHECK(codes[2] == 354);
  CHECK(pos == in.size());
}

TEST_CASE("an unfinished reply is incomplete", "[deliver][reply]") {
  CHECK(parse_reply("").state == State::incomplete);
  CHECK(parse_reply("25").state == State::incomplete);
  CHECK(parse_reply("250 Ok").state == State::incomplete);
  CHECK(parse_reply("250-first\r\n").state == State::incomplete);
  CHECK(parse_reply("250-first\r\n250 se").state == State::incomplete);
}

TEST_CASE("garbage is malformed", "[deliver][reply]") {
  for (const char* bad : {"hello\r\n", "25\r\n", "2500 x\r\n", "250x\r\n", "abc def\r\n",
                          "150 one-fifty\r\n", "650 six\r\n", "\r\n", " 250 x\r\n",
                          "250 esc\x1b[0m\r\n", "250-a\r\n251 b\r\n",
                          "+OK pop3\r\n", "* OK imap\r\n"}) {
    std::string input = bad;
    ParsedReply r = parse_reply(input);
    INFO(input);
    CHECK(r.state == State::malformed);
    CHECK(r.reply.text == "malformed reply");
  }
  CHECK(parse_reply(std::string("250 a\0b\r\n", 9)).state == State::malformed);
}

TEST_CASE("a reply line over 2048 octets is malformed, even unfinished", "[deliver][reply]") {
  std::string ok = "250 " + std::string(kMaxReplyLine - 6, 'x') + "\r\n";
  REQUIRE(ok.size() == kMaxReplyLine);
  CHECK(parse_reply(ok).state == State::complete);
  std::string too_long = "250 " + std::string(kMaxReplyLine - 5, 'x') + "\r\n";
  CHECK(parse_reply(too_long).state == State::malformed);
  std::string unfinished = "250-" + std::string(kMaxReplyLine, 'x');
  CHECK(parse_reply(unfinished).state == State::malformed);
  CHECK(parse_reply("250 " + std::string(100, 'x')).state == State::incomplete);
}

TEST_CASE("an endless continuation is malformed", "[deliver][reply]") {
  std::string in;
  for (int i = 0; i < 1001; ++i) in += "250-more\r\n";
  CHECK(parse_reply(in).state == State::malformed);
}

TEST_CASE("classification by code", "[deliver][reply]") {
  using S = Outcome::Status;
  CHECK(classify(250) == S::delivered);
  CHECK(classify(220) == S::delivered);
  CHECK(classify(354) == S::delivered);
  CHECK(classify(421) == S::temporary);
  CHECK(classify(450) == S::temporary);
  CHECK(classify(452) == S::temporary);
  CHECK(classify(550) == S::permanent);
  CHECK(classify(552) == S::permanent);
  CHECK(classify(554) == S::permanent);
  CHECK(classify(0) == S::unreachable);
  CHECK(classify(199) == S::unreachable);
  CHECK(classify(600) == S::unreachable);
}

TEST_CASE("EHLO extensions", "[deliver][reply]") {
  ParsedReply r = parse_reply(
      "250-mail.example.com\r\n250-pipelining\r\n250-SIZE 10240000\r\n250-VRFY\r\n"
      "250-ETRN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 SMTPUTF8\r\n");
  REQUIRE(r.state == State::complete);
  Extensions ext = parse_extensions(r.lines);
  CHECK(ext.pipelining);
  CHECK(ext.eightbitmime);
  CHECK(ext.smtputf8);
  CHECK(ext.size);
  CHECK(ext.size_max == 10240000);
}

TEST_CASE("EHLO without extensions, SIZE without a limit, the name line ignored",
          "[deliver][reply]") {
  Extensions none = parse_extensions({"PIPELINING"});  // the first line is the server's name
  CHECK_FALSE(none.pipelining);
  Extensions size = parse_extensions({"mx", "SIZE"});
  CHECK(size.size);
  CHECK(size.size_max == 0);
  Extensions garbage = parse_extensions({"mx", "SIZE lots", "PIPELININGX", "8BITMIMEX"});
  CHECK(garbage.size);
  CHECK(garbage.size_max == 0);
  CHECK_FALSE(garbage.pipelining);
  CHECK_FALSE(garbage.eightbitmime);
}
