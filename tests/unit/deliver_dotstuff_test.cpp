// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The DATA section on the wire (data_wire): dot-stuffing, CRLF normalisation, terminator.

#include <catch2/catch.hpp>

#include <string>

#include "deliver/deliver.hpp"

using clamfetch::deliver::data_wire;
using clamfetch::deliver::normalise_crlf;
using namespace std::string_literals;

TEST_CASE("a line starting with a dot gets a second dot", "[deliver][dotstuff]") {
  CHECK(data_wire("a\r\n.b\r\n..c\r\nd.e\r\n") == "a\r\n..b\r\n...c\r\nd.e\r\n.\r\n");
  CHECK(data_wire(".first line\r\n") == "..first line\r\n.\r\n");
}

TEST_CASE("a line holding only a dot cannot end the data early", "[deliver][dotstuff]") {
  CHECK(data_wire("before\r\n.\r\nafter\r\n") == "before\r\n..\r\nafter\r\n.\r\n");
  CHECK(data_wire(".") == "..\r\n.\r\n");
  CHECK(data_wire("x\n.\n") == "x\r\n..\r\n.\r\n");
}

TEST_CASE("a message without a final line end gets CRLF before the terminator",
          "[deliver][dotstuff]") {
  CHECK(data_wire("Subject: x\r\n\r\nno newline") == "Subject: x\r\n\r\nno newline\r\n.\r\n");
  CHECK(data_wire("ends with CR\r") == "ends with CR\r\n.\r\n");
}

TEST_CASE("bare LF becomes CRLF, CRLF stays CRLF", "[deliver][dotstuff]") {
  CHECK(data_wire("a\nb\n\nc\n") == "a\r\nb\r\n\r\nc\r\n.\r\n");
  CHECK(data_wire("a\r\nb\r\n") == "a\r\nb\r\n.\r\n");
  CHECK(data_wire("mixed\r\nlf\ncrlf\r\n") == "mixed\r\nlf\r\ncrlf\r\n.\r\n");
  CHECK(data_wire("\n\n") == "\r\n\r\n.\r\n");
}

TEST_CASE("a lone CR becomes CRLF, and cannot smuggle an end of data", "[deliver][dotstuff]") {
  CHECK(data_wire("a\rb\r\n") == "a\r\nb\r\n.\r\n");
  // "\r.\r" is an end of data to a receiver that takes a lone CR as a line end.
  CHECK(data_wire("x\r.\rMAIL FROM:<evil>\r\n") == "x\r\n..\r\nMAIL FROM:<evil>\r\n.\r\n");
  CHECK(data_wire("x\n.\r\nRSET\r\n") == "x\r\n..\r\nRSET\r\n.\r\n");
}

TEST_CASE("NUL and 8-bit bytes pass unchanged", "[deliver][dotstuff]") {
  std::string message = "a\0b\r\n\xc3\xa9t\xe9\xff\r\n\0.\r\n"s;
  CHECK(data_wire(message) == "a\0b\r\n\xc3\xa9t\xe9\xff\r\n\0.\r\n.\r\n"s);
  CHECK(data_wire("\0"s) == "\0\r\n.\r\n"s);
}

TEST_CASE("an empty message is the terminator alone", "[deliver][dotstuff]") {
  CHECK(data_wire("") == ".\r\n");
}

TEST_CASE("data_wire of a large message is exact", "[deliver][dotstuff]") {
  std::string message;
  std::string expected;
  for (int i = 0; i < 20000; ++i) {
    std::string line = (i % 7 == 0 ? "." : "") + std::to_string(i) + " some text";
    message += line + (i % 3 == 0 ? "\n" : "\r\n");
    expected += (i % 7 == 0 ? "." : "") + line + "\r\n";
  }
  CHECK(data_wire(message) == expected + ".\r\n");
}

TEST_CASE("normalise_crlf normalises without stuffing or terminator", "[deliver][dotstuff]") {
  CHECK(normalise_crlf(".a\nb\rc\r\n.") == ".a\r\nb\r\nc\r\n.");
  CHECK(normalise_crlf("") == "");
}
