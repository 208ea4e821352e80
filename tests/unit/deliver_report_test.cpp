// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The postmaster report, the refusal notice and the bounce: fields, the attached original
// parsed back, and values from a hostile original that must not become headers.

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "deliver/deliver.hpp"

using namespace clamfetch::deliver;
using namespace std::string_literals;

namespace {

struct Part {
  std::string headers;
  std::string body;
};

std::string header_block(const std::string& message) {
  return message.substr(0, message.find("\r\n\r\n") + 2);
}

// Every line of `text`, split on CRLF.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find("\r\n", pos);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(pos, end - pos));
    pos = end + 2;
  }
  return out;
}

// The parts of a multipart message, split on its boundary as RFC 2046 says (the CRLF before
// a delimiter belongs to it).
std::vector<Part> parts_of(const std::string& message) {
  std::string head = header_block(message);
  std::size_t b = head.find("boundary=\"");
  REQUIRE(b != std::string::npos);
  std::string boundary = head.substr(b + 10, head.find('"', b + 10) - b - 10);
  std::string delimiter = "\r\n--" + boundary;
  std::vector<Part> parts;
  std::size_t pos = message.find(delimiter);
  REQUIRE(pos != std::string::npos);
  while (message.compare(pos + delimiter.size(), 2, "--") != 0) {
    std::size_t start = message.find("\r\n", pos + delimiter.size()) + 2;
    std::size_t next = message.find(delimiter, start);
    REQUIRE(next != std::string::npos);
    std::string part = message.substr(start, next - start);
    std::size_t blank = part.find("\r\n\r\n");
    REQUIRE(blank != std::string::npos);
    parts.push_back({part.substr(0, blank + 2), part.substr(blank + 4)});
    pos = next;
  }
  CHECK(message.substr(pos + delimiter.size()) == "--\r\n");
  return parts;
}

bool has_line_starting(const std::string& text, const std::string& prefix) {
  for (const auto& line : lines_of(text)) {
    if (line.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

ReportFacts sample_facts() {
  ReportFacts f;
  f.virus = "Eicar-Test-Signature.UNOFFICIAL";
  f.key = "pop.example.net/pop3userid1/INBOX/000000016b02d66b";
  f.message_id = "<1234@sender.example.org>";
  f.date = "Mon, 2 Nov 2026 10:00:00 +0100";
  f.subject = "Invoice attached";
  f.sender = "someone@sender.example.org";
  f.recipients = {"virtualuser1@example.com"};
  f.scan_host = "mail.example.com";
  f.scanned_at = 1790000000;
  f.quarantine_id = "20261102-000001";
  f.release_command = "clamfetch --release 20261102-000001";
  f.postmaster = "postmaster@example.com";
  f.version = "0.1.0";
  return f;
}

const std::string kOriginal =
    "Return-Path: <someone@sender.example.org>\n"
    "From: someone@sender.example.org\n"
    "Subject: Invoice attached\n"
    "\n"
    "8-bit \xc3\xa9t\xc3\xa9 body\n"
    ".dot line\n"
    "--not-a-boundary\n"
    "last line without newline";

}  // namespace

TEST_CASE("the report carries every fact", "[deliver][report]") {
  std::string report = build_report(sample_facts(), kOriginal);
  std::string head = header_block(report);
  CHECK(has_line_starting(head, "From: \"clamfetch\" <postmaster@example.com>"));
  CHECK(has_line_starting(head, "To: <postmaster@example.com>"));
  std::string unfolded = head;
  for (std::size_t at; (at = unfolded.find("\r\n ")) != std::string::npos;) unfolded.erase(at, 2);
  CHECK(unfolded.find("\r\nSubject: [clamfetch] virus Eicar-Test-Signature.UNOFFICIAL in "
                      "mail for virtualuser1@example.com\r\n") != std::string::npos);
  CHECK(has_line_starting(head, "X-Virus-Status: Infected (Eicar-Test-Signature.UNOFFICIAL)"));
  CHECK(has_line_starting(head, "Date: " + rfc5322_date(1790000000)));
  CHECK(has_line_starting(head, "Message-ID: <clamfetch."));
  CHECK(has_line_starting(head, "MIME-Version: 1.0"));
  CHECK(has_line_starting(head, "Content-Type: multipart/mixed; boundary=\""));

  auto parts = parts_of(report);
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].headers.find("Content-Type: text/plain") != std::string::npos);
  const std::string& text = parts[0].body;
  for (const char* line :
       {"Virus Name: Eicar-Test-Signature.UNOFFICIAL",
        "Message Key: pop.example.net/pop3userid1/INBOX/000000016b02d66b",
        "Message-ID: <1234@sender.example.org>", "Date: Mon, 2 Nov 2026 10:00:00 +0100",
        "Subject: Invoice attached", "Sender: someone@sender.example.org",
        "Destination: virtualuser1@example.com", "Quarantine ID: 20261102-000001",
        "Release with: clamfetch --release 20261102-000001"}) {
    INFO(line);
    CHECK(has_line_starting(text, line));
  }
  CHECK(has_line_starting(text, "Scanned by: mail.example.com at " + rfc5322_date(1790000000) +
                                    " (clamfetch 0.1.0)"));
}

TEST_CASE("without quarantine the report has no Quarantine ID", "[deliver][report]") {
  ReportFacts facts = sample_facts();
  facts.quarantine_id.clear();
  std::string report = build_report(facts, kOriginal);
  CHECK(report.find("Quarantine ID") == std::string::npos);
  CHECK(report.find("Release with") == std::string::npos);
}

TEST_CASE("the attached original parses back byte for byte (CRLF)", "[deliver][report]") {
  std::string report = build_report(sample_facts(), kOriginal);
  auto parts = parts_of(report);
  REQUIRE(parts.size() == 2);
  CHECK(parts[1].headers.find("Content-Type: message/rfc822\r\n") != std::string::npos);
  CHECK(parts[1].headers.find("Content-Transfer-Encoding: 8bit\r\n") != std::string::npos);
  CHECK(parts[1].body == normalise_crlf(kOriginal) + "\r\n");

  std::string ascii = "Subject: plain\r\n\r\nbody\r\n";
  auto ascii_parts = parts_of(build_report(sample_facts(), ascii));
  CHECK(ascii_parts[1].body == ascii);
  CHECK(ascii_parts[1].headers.find("Content-Transfer-Encoding: 7bit\r\n") != std::string::npos);

  std::string with_nul = "Subject: nul\r\n\r\na\0b\r\n"s;
  auto nul_parts = parts_of(build_report(sample_facts(), with_nul));
  CHECK(nul_parts[1].body == with_nul);
}

TEST_CASE("the boundary never occurs in the original", "[deliver][report]") {
  std::string first = build_report(sample_facts(), "x\r\n");
  std::string head = header_block(first);
  std::size_t b = head.find("boundary=\"") + 10;
  std::string boundary = head.substr(b, head.find('"', b) - b);
  // An original quoting that boundary forces another one.
  std::string original = "Subject: q\r\n\r\n--" + boundary + "\r\n";
  std::string second = build_report(sample_facts(), original);
  CHECK(header_block(second).find(boundary) == std::string::npos);
  auto parts = parts_of(second);
  REQUIRE(parts.size() == 2);
  CHECK(parts[1].body == original);
}

TEST_CASE("values from the original cannot inject headers", "[deliver][report]") {
  ReportFacts facts = sample_facts();
  facts.subject = "hi\r\nBcc: victim@example.net";
  facts.message_id = "<x@y>\nX-Injected: yes";
  facts.virus = "Eicar\r\nX-Evil: 1";
  facts.recipients = {"virtualuser1@example.com\r\nCc: other@example.net"};
  facts.sender = "a@b\r\n\r\n--fake-boundary";
  std::string report = build_report(facts, kOriginal);
  for (const char* injected : {"Bcc:", "X-Injected:", "X-Evil:", "Cc:", "--fake-boundary"}) {
    INFO(injected);
    CHECK_FALSE(has_line_starting(report, injected));
  }
  auto parts = parts_of(report);
  REQUIRE(parts.size() == 2);
  CHECK(has_line_starting(parts[0].body, "Subject: hi Bcc: victim@example.net"));
  CHECK(has_line_starting(parts[0].body, "Message-ID: <x@y> X-Injected: yes"));
  CHECK(has_line_starting(header_block(report), "X-Virus-Status: Infected (Eicar X-Evil: 1)"));
  // The report's own header names are exactly these.
  std::set<std::string> names;
  for (const auto& line : lines_of(header_block(report))) {
    if (!line.empty() && line[0] != ' ' && line[0] != '\t') names.insert(line.substr(0, line.find(':')));
  }
  CHECK(names == std::set<std::string>{"From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
                                       "Content-Type", "X-Virus-Status", "Auto-Submitted"});
}

TEST_CASE("long and non-ASCII subjects are folded and encoded", "[deliver][report]") {
  ReportFacts facts = sample_facts();
  facts.recipients.clear();
  for (int i = 0; i < 12; ++i) facts.recipients.push_back("user" + std::to_string(i) + "@example.com");
  facts.virus = "Win.Trojan.\xc3\xa9t\xc3\xa9-1 \xe2\x82\xac";
  std::string head = header_block(build_report(facts, kOriginal));
  std::size_t subject = head.find("Subject:");
  std::string field = head.substr(subject, head.find("\r\nDate:") - subject);
  for (const auto& line : lines_of(field)) {
    INFO(line);
    CHECK(line.size() <= 78);
    for (char c : line) CHECK(static_cast<unsigned char>(c) < 0x80);
  }
  CHECK(field.find("=?UTF-8?B?") != std::string::npos);
  CHECK(field.find("\r\n ") != std::string::npos);  // folded
  // A value far over a line's 998 octets is cut.
  facts.recipients = {std::string(3000, 'r') + "@example.com"};
  std::string cut = header_block(build_report(facts, kOriginal));
  CHECK(cut.find("...") != std::string::npos);
  for (const auto& line : lines_of(cut)) CHECK(line.size() <= 998);
  // Invalid UTF-8 in a header value becomes '?'.
  facts.virus = "bad\xff\xfe";
  CHECK(build_report(facts, kOriginal).find("X-Virus-Status: Infected (bad?" "?)") != std::string::npos);
}

TEST_CASE("every report has its own Message-ID", "[deliver][report]") {
  auto id = [](const std::string& message) {
    std::string head = header_block(message);
    std::size_t at = head.find("Message-ID: ");
    return head.substr(at, head.find("\r\n", at) - at);
  };
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.insert(id(build_report(sample_facts(), kOriginal)));
  CHECK(ids.size() == 50);
}

namespace {

RefusalFacts refusal_facts() {
  RefusalFacts f;
  f.key = "pop.example.net/pop3userid1/INBOX/7";
  f.sender = "someone@sender.example.org";
  f.postmaster = "postmaster@example.com";
  f.reporting_host = "mail.example.com";
  f.version = "0.1.0";
  f.recipients = {"nouser@example.com"};
  f.reply = Reply{550, "5.1.1 <nouser@example.com>: Recipient address rejected: User unknown"};
  f.when = 1790000000;
  return f;
}

}  // namespace

TEST_CASE("the refusal notice goes to the postmaster with the reply and the original",
          "[deliver][report]") {
  std::string notice = build_refusal_notice(refusal_facts(), kOriginal);
  std::string head = header_block(notice);
  CHECK(has_line_starting(head, "To: <postmaster@example.com>"));
  CHECK(has_line_starting(head, "From: \"clamfetch\" <postmaster@example.com>"));
  CHECK(has_line_starting(head, "Subject: [clamfetch] mail for nouser@example.com refused by the"));
  auto parts = parts_of(notice);
  REQUIRE(parts.size() == 2);
  CHECK(has_line_starting(parts[0].body, "MTA Reply: 550 5.1.1 <nouser@example.com>: Recipient "
                                         "address rejected: User unknown"));
  CHECK(has_line_starting(parts[0].body, "Message Key: pop.example.net/pop3userid1/INBOX/7"));
  CHECK(has_line_starting(parts[0].body, "Sender: someone@sender.example.org"));
  CHECK(has_line_starting(parts[0].body, "Destination: nouser@example.com"));
  CHECK(parts[1].headers.find("Content-Type: message/rfc822") != std::string::npos);
  CHECK(parts[1].body == normalise_crlf(kOriginal) + "\r\n");
}

TEST_CASE("the bounce is a DSN to the sender", "[deliver][report]") {
  std::string bounce = build_bounce(refusal_facts(), kOriginal);
  std::string head = header_block(bounce);
  CHECK(has_line_starting(head, "From: \"Mail Delivery System\" <MAILER-DAEMON@mail.example.com>"));
  CHECK(has_line_starting(head, "To: <someone@sender.example.org>"));
  CHECK(has_line_starting(head, "Content-Type: multipart/report; report-type=delivery-status; "
                                "boundary=\""));
  CHECK(has_line_starting(head, "Auto-Submitted: auto-replied"));
  auto parts = parts_of(bounce);
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].headers.find("text/plain") != std::string::npos);
  CHECK(parts[0].body.find("<nouser@example.com>: 550 5.1.1") != std::string::npos);
  CHECK(parts[1].headers == "Content-Type: message/delivery-status\r\n");
  const std::string& status = parts[1].body;
  CHECK(has_line_starting(status, "Reporting-MTA: dns; mail.example.com"));
  CHECK(has_line_starting(status, "Final-Recipient: rfc822; nouser@example.com"));
  CHECK(has_line_starting(status, "Action: failed"));
  CHECK(has_line_starting(status, "Status: 5.1.1"));
  CHECK(has_line_starting(status, "Diagnostic-Code: smtp; 550 5.1.1 <nouser@example.com>"));
  CHECK(parts[2].headers.find("Content-Type: message/rfc822") != std::string::npos);
  CHECK(parts[2].body == normalise_crlf(kOriginal) + "\r\n");
}

TEST_CASE("a bounce of a big original returns its header only", "[deliver][report]") {
  std::string big = "From: a@b\r\nSubject: big\r\n\r\n" + std::string(60000, 'x') + "\r\n";
  RefusalFacts facts = refusal_facts();
  facts.reply = Reply{554, "rejected"};
  auto parts = parts_of(build_bounce(facts, big));
  REQUIRE(parts.size() == 3);
  CHECK(has_line_starting(parts[1].body, "Status: 5.0.0"));
  CHECK(parts[2].headers.find("Content-Type: text/rfc822-headers") != std::string::npos);
  CHECK(parts[2].body == "From: a@b\r\nSubject: big\r\n\r\n");
}
