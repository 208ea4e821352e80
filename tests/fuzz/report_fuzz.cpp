// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// libFuzzer target: the messages clamfetch writes about hostile mail (deliver::build_report,
// build_refusal_notice, build_bounce). Every fact comes from the attacker. Invariants: the
// header block of what we write has only our header names, one each, every line CRLF-ended
// (no CR or LF injected from a fact); the MIME boundary occurs nowhere in the original; and
// the original is recoverable from the attached part byte for byte (line ends as CRLF).

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "core/headers.hpp"
#include "deliver/deliver.hpp"

namespace d = clamfetch::deliver;

namespace {

void require(bool condition) {
  if (!condition) __builtin_trap();
}

/// Lines of the header block: each must end in CRLF with no other CR or LF, and start a
/// header we write (once each) or continue the previous one.
void check_header_block(std::string_view message, const std::set<std::string>& allowed) {
  std::size_t end = message.find("\r\n\r\n");
  require(end != std::string_view::npos);
  std::string_view head = message.substr(0, end + 2);
  std::set<std::string> seen;
  std::size_t pos = 0;
  while (pos < head.size()) {
    std::size_t crlf = head.find("\r\n", pos);
    require(crlf != std::string_view::npos);
    std::string_view line = head.substr(pos, crlf - pos);
    require(line.find_first_of("\r\n") == std::string_view::npos);
    require(line.size() <= 998);
    pos = crlf + 2;
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      require(!seen.empty());
      continue;
    }
    std::size_t colon = line.find(':');
    require(colon != std::string_view::npos);
    std::string name(line.substr(0, colon));
    require(allowed.count(name) == 1);
    require(seen.insert(name).second);
  }
}

/// The boundary from Content-Type, the original's part body, compared with `original`.
void check_original(std::string_view message, std::string_view original, std::string_view type) {
  std::string content_type = clamfetch::headers::value(message, "Content-Type");
  std::size_t b = content_type.find("boundary=\"");
  require(b != std::string::npos);
  std::string boundary = content_type.substr(b + 10, content_type.find('"', b + 10) - b - 10);
  require(!boundary.empty());
  require(original.find(boundary) == std::string_view::npos);
  std::string opener = "--" + boundary + "\r\nContent-Type: " + std::string(type) + "\r\n";
  std::size_t part = message.find(opener);
  require(part != std::string_view::npos);
  std::size_t start = message.find("\r\n\r\n", part);
  require(start != std::string_view::npos);
  start += 4;
  std::string closing = "\r\n--" + boundary + "--\r\n";
  require(message.size() >= start + closing.size());
  require(message.substr(message.size() - closing.size()) == closing);
  std::string_view body = message.substr(start, message.size() - closing.size() - start);
  // The attached copy has CRLF line ends and ends with one: compare without line ends.
  std::string a, o;
  for (char c : body) if (c != '\r' && c != '\n') a += c;
  for (char c : original) if (c != '\r' && c != '\n') o += c;
  require(a == o);
  require(original.empty() || (body.size() >= 2 && body.substr(body.size() - 2) == "\r\n"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  d::ReportFacts facts;
  facts.virus = in.ConsumeRandomLengthString(100);
  facts.key = in.ConsumeRandomLengthString(100);
  facts.message_id = in.ConsumeRandomLengthString(100);
  facts.date = in.ConsumeRandomLengthString(60);
  facts.subject = in.ConsumeRandomLengthString(300);
  facts.sender = in.ConsumeRandomLengthString(100);
  facts.recipients = {in.ConsumeRandomLengthString(100), in.ConsumeRandomLengthString(100)};
  facts.scan_host = in.ConsumeRandomLengthString(60);
  facts.quarantine_id = in.ConsumeRandomLengthString(40);
  facts.release_command = in.ConsumeRandomLengthString(60);
  facts.postmaster = in.ConsumeRandomLengthString(60);
  facts.version = in.ConsumeRandomLengthString(20);
  facts.scanned_at = in.ConsumeIntegral<int32_t>();
  d::RefusalFacts refusal;
  refusal.key = facts.key;
  refusal.sender = facts.sender;
  refusal.postmaster = facts.postmaster;
  refusal.reporting_host = facts.scan_host;
  refusal.version = facts.version;
  refusal.recipients = facts.recipients;
  refusal.reply.code = in.ConsumeIntegralInRange<int>(0, 999);
  refusal.reply.text = in.ConsumeRandomLengthString(300);
  refusal.when = facts.scanned_at;
  std::string original = in.ConsumeRemainingBytesAsString();

  const std::set<std::string> ours = {"From", "To", "Subject", "Date", "Message-ID",
                                      "MIME-Version", "Content-Type", "X-Virus-Status",
                                      "Auto-Submitted"};
  std::string report = d::build_report(facts, original);
  check_header_block(report, ours);
  check_original(report, original, "message/rfc822");

  std::string notice = d::build_refusal_notice(refusal, original);
  check_header_block(notice, ours);
  check_original(notice, original, "message/rfc822");

  std::string bounce = d::build_bounce(refusal, original);
  check_header_block(bounce, ours);
  if (original.size() <= 50000) check_original(bounce, original, "message/rfc822");
  return 0;
}
