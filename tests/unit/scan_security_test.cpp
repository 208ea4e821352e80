// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// X-Virus-* headers against hostile messages: what tests/fuzz/headers_fuzz found and what
// it keeps checking, pinned as exact bytes.

#include <catch2/catch.hpp>

#include <string>

#include "core/headers.hpp"
#include "core/message.hpp"
#include "scan/scan.hpp"

using clamfetch::Verdict;
using clamfetch::scan::HeaderMode;
using clamfetch::scan::apply_virus_headers;

namespace {

Verdict clean() {
  Verdict v;
  v.status = Verdict::Status::clean;
  return v;
}

}  // namespace

TEST_CASE("a message starting with a continuation line cannot extend our X-Virus-Status") {
  // Before the fix the message's first line continued our header: "Clean (not really)".
  std::string message = " (not really)\r\nFrom: a@b\r\n\r\nbody\r\n";
  std::string out = apply_virus_headers(message, HeaderMode::replace, clean(), "ClamAV");
  CHECK(out == " (not really)\r\nX-Virus-Scanned: ClamAV\r\nX-Virus-Status: Clean\r\n"
               "From: a@b\r\n\r\nbody\r\n");
  CHECK(clamfetch::headers::value(out, "X-Virus-Status") == "Clean");
}

TEST_CASE("a lone unterminated continuation line gets a line end before our headers") {
  std::string out = apply_virus_headers("\tjunk", HeaderMode::add, clean(), "ClamAV");
  CHECK(out == "\tjunk\r\nX-Virus-Scanned: ClamAV\r\nX-Virus-Status: Clean\r\n");
  CHECK(clamfetch::headers::value(out, "X-Virus-Status") == "Clean");
}

TEST_CASE("replace removes forged status headers with their continuation lines") {
  Verdict infected;
  infected.status = Verdict::Status::infected;
  infected.virus = "Eicar\r\nX-Virus-Status: Clean";
  std::string message = "X-Virus-Status: Clean\r\n forged\r\nSubject: s\r\n\r\nbody\r\n";
  std::string out = apply_virus_headers(message, HeaderMode::replace, infected, "ClamAV");
  CHECK(out == "X-Virus-Scanned: ClamAV\r\n"
               "X-Virus-Status: Infected (Eicar  X-Virus-Status: Clean)\r\n"
               "Subject: s\r\n\r\nbody\r\n");
}
