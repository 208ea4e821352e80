// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// libFuzzer target: header handling on hostile mail. core/headers (value, remove, address),
// deliver::add_received and scan::apply_virus_headers must never crash and must keep their
// promises: a removed header is gone, the body is untouched, our own headers carry exactly
// the values we wrote (a forged X-Virus-Status cannot survive "replace" nor extend ours).
// Input: two lines of parameters (a header name, a virus name), then the message.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/headers.hpp"
#include "core/message.hpp"
#include "deliver/deliver.hpp"
#include "scan/scan.hpp"

namespace h = clamfetch::headers;

namespace {

void require(bool condition) {
  if (!condition) __builtin_trap();
}

std::string_view body_of(std::string_view message) {
  return message.substr(h::header_end(message));
}

void check_core(std::string_view message, std::string_view name) {
  std::string value = h::value(message, name);
  require(value.find('\n') == std::string::npos);  // unfolded
  std::string removed = h::remove(message, name);
  require(removed.size() <= message.size());
  require(h::value(removed, name).empty() || name.empty());
  require(body_of(removed) == body_of(message));
  std::string address = h::address(value);
  require(address.size() <= value.size());
}

void check_received(std::string_view message, std::string_view field) {
  clamfetch::deliver::ReceivedInfo info{std::string(field), std::string(field), "POP3", "1.0",
                                        std::string(field), 0};
  std::string out = clamfetch::deliver::add_received(message, info);
  require(out.size() >= message.size());
  require(std::string_view(out).substr(out.size() - message.size()) == message);
  // The added header is exactly three lines, whatever the fields held.
  std::string_view added = std::string_view(out).substr(0, out.size() - message.size());
  std::size_t lines = 0;
  for (char c : added) lines += c == '\n';
  require(lines == 3);
  require(added.rfind("Received: from ", 0) == 0);
}

void check_virus_headers(std::string_view message, std::string_view virus) {
  using clamfetch::scan::HeaderMode;
  clamfetch::Verdict verdict;
  verdict.status = clamfetch::Verdict::Status::infected;
  verdict.virus = std::string(virus);
  std::string out =
      clamfetch::scan::apply_virus_headers(message, HeaderMode::replace, verdict, "fuzz");
  std::string expected = clamfetch::scan::status_header(verdict);
  // Ours is the first X-Virus-Status, with exactly our value; no other one remains.
  require(h::value(out, "X-Virus-Status") == h::value("X-Virus-Status: " + expected + "\r\n\r\n",
                                                      "X-Virus-Status"));
  require(h::value(h::remove(out, "X-Virus-Status"), "X-Virus-Status").empty());
  require(h::value(out, "X-Virus-Scanned") == "fuzz");
  require(body_of(out) == body_of(message) || h::header_end(message) == message.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  std::string name = in.ConsumeRandomLengthString(40);
  std::string virus = in.ConsumeRandomLengthString(80);
  std::string message = in.ConsumeRemainingBytesAsString();
  check_core(message, name);
  check_core(message, "Return-Path");
  check_received(message, virus);
  check_virus_headers(message, virus);
  return 0;
}
