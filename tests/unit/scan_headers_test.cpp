// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// X-Virus-Scanned / X-Virus-Status edits.

#include <catch2/catch.hpp>

#include "scan/scan.hpp"

using namespace clamfetch;
using scan::HeaderMode;

namespace {

Verdict verdict(Verdict::Status status, std::string virus = {}, std::string reason = {}) {
  Verdict v;
  v.status = status;
  v.virus = std::move(virus);
  v.reason = std::move(reason);
  return v;
}

const char* kBy = "clamfetch 0.1.0 (libclamav 1.4.6) on mail.example.com";

}  // namespace

TEST_CASE("status header values") {
  CHECK(scan::status_header(verdict(Verdict::Status::clean)) == "Clean");
  CHECK(scan::status_header(verdict(Verdict::Status::infected, "Eicar.UNOFFICIAL")) == "Infected (Eicar.UNOFFICIAL)");
  CHECK(scan::status_header(verdict(Verdict::Status::oversize)) == "Unscanned (too large)");
  CHECK(scan::status_header(verdict(Verdict::Status::error, {}, "limits exceeded: Heuristics.Limits.Exceeded.MaxScanSize")) ==
        "Unscanned (limits exceeded: Heuristics.Limits.Exceeded.MaxScanSize)");
  // clamd's default: a file scanned up to a limit is clean; the header says it was a limit.
  CHECK(scan::status_header(verdict(Verdict::Status::limits, {}, "limits exceeded: Heuristics.Limits.Exceeded.MaxScanSize")) ==
        "Clean (limits exceeded: Heuristics.Limits.Exceeded.MaxScanSize)");
  CHECK(scan::status_header(verdict(Verdict::Status::error)) == "Unscanned (scan error)");
  CHECK(scan::status_header(verdict(Verdict::Status::allowlisted)) == "Unscanned (allowlisted)");
}

TEST_CASE("a reason or a name cannot inject a header line") {
  std::string s = scan::status_header(verdict(Verdict::Status::error, {}, "bad\r\nX-Virus-Status: Clean"));
  CHECK(s.find('\n') == std::string::npos);
  CHECK(s.find('\r') == std::string::npos);
}

TEST_CASE("replace removes a forged Clean with its continuation line, CRLF kept") {
  std::string msg =
      "Received: from x\r\nX-Virus-Status: Clean\r\n\tforged continuation\r\nSubject: hi\r\n"
      "X-Virus-Scanned: fake scanner\r\n\r\nX-Virus-Status: Clean (body, untouched)\r\n";
  std::string out = scan::apply_virus_headers(msg, HeaderMode::replace,
                                              verdict(Verdict::Status::infected, "Eicar.UNOFFICIAL"), kBy);
  CHECK(out == std::string("X-Virus-Scanned: ") + kBy + "\r\nX-Virus-Status: Infected (Eicar.UNOFFICIAL)\r\n"
               "Received: from x\r\nSubject: hi\r\n\r\nX-Virus-Status: Clean (body, untouched)\r\n");
}

TEST_CASE("add keeps existing headers") {
  std::string msg = "X-Virus-Status: Clean\r\nSubject: hi\r\n\r\nbody\r\n";
  std::string out = scan::apply_virus_headers(msg, HeaderMode::add, verdict(Verdict::Status::clean), kBy);
  CHECK(out == std::string("X-Virus-Scanned: ") + kBy + "\r\nX-Virus-Status: Clean\r\n" + msg);
}

TEST_CASE("no is the identity") {
  std::string msg = "X-Virus-Status: Clean\nSubject: hi\n\nbody\n";
  CHECK(scan::apply_virus_headers(msg, HeaderMode::no, verdict(Verdict::Status::infected, "V"), kBy) == msg);
}

TEST_CASE("LF messages get LF headers") {
  std::string msg = "Subject: hi\nX-Virus-Scanned: old\n\nbody\n";
  std::string out = scan::apply_virus_headers(msg, HeaderMode::replace, verdict(Verdict::Status::oversize), "s");
  CHECK(out == "X-Virus-Scanned: s\nX-Virus-Status: Unscanned (too large)\nSubject: hi\n\nbody\n");
}

TEST_CASE("a message with no header block still gets the headers first") {
  CHECK(scan::apply_virus_headers("", HeaderMode::replace, verdict(Verdict::Status::clean), "s") ==
        "X-Virus-Scanned: s\r\nX-Virus-Status: Clean\r\n");
}
