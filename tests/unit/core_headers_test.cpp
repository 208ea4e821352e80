// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "core/headers.hpp"

using namespace clamfetch;

TEST_CASE("header value is unfolded, case-insensitive, first one wins") {
  std::string msg = "Return-Path: <a@b.example>\r\nsubject: Hello\r\n  world\r\nSubject: second\r\n\r\nSubject: body\r\n";
  CHECK(headers::value(msg, "Subject") == "Hello world");
  CHECK(headers::value(msg, "return-path") == "<a@b.example>");
  CHECK(headers::value(msg, "X-Missing").empty());
}

TEST_CASE("header lookup stops at the blank line") {
  std::string msg = "From: x@y\n\nSubject: not a header\n";
  CHECK(headers::value(msg, "Subject").empty());
  CHECK(headers::header_end(msg) == std::string("From: x@y\n\n").size());
}

TEST_CASE("remove drops every instance with continuation lines, body untouched") {
  std::string msg = "X-Virus-Status: Clean\r\n\tforged\r\nFrom: a@b\r\nx-virus-status: Clean\r\n\r\nX-Virus-Status: in body\r\n";
  CHECK(headers::remove(msg, "X-Virus-Status") == "From: a@b\r\n\r\nX-Virus-Status: in body\r\n");
}

TEST_CASE("address extraction") {
  CHECK(headers::address("<a@b>") == "a@b");
  CHECK(headers::address("Name <a@b>") == "a@b");
  CHECK(headers::address(" a@b ") == "a@b");
  CHECK(headers::address("<>").empty());
}

TEST_CASE("exit codes are fetchmail's") {
  CHECK(exit_code(Kind::connect) == 2);
  CHECK(exit_code(Kind::tls) == 2);
  CHECK(exit_code(Kind::auth) == 3);
  CHECK(exit_code(Kind::protocol) == 4);
  CHECK(exit_code(Kind::config) == 5);
  CHECK(exit_code(Kind::permissions) == 6);
  CHECK(exit_code(Kind::timeout) == 7);
  CHECK(exit_code(Kind::locked) == 8);
  CHECK(exit_code(Kind::lock_busy) == 9);
  CHECK(exit_code(Kind::mta) == 10);
  CHECK(exit_code(Kind::dns) == 11);
  CHECK(exit_code(Kind::fetchlimit) == 13);
  CHECK(exit_code(Kind::server_busy) == 14);
  CHECK(exit_code(Kind::internal) == 23);
}
