// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// X-Virus-Scanned / X-Virus-Status, as clamav-milter's AddHeader writes them.

#include <string>

#include "core/headers.hpp"
#include "scan/scan.hpp"

namespace clamfetch::scan {
namespace {

// One header line's worth: control characters (CR, LF, NUL ...) become spaces, so nothing
// from a virus name or an error text can start a header of its own.
std::string single_line(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

// The message's own line end: CRLF unless its first line ends with a bare LF.
std::string_view line_end_of(std::string_view message) {
  auto lf = message.find('\n');
  if (lf != std::string_view::npos && (lf == 0 || message[lf - 1] != '\r')) return "\n";
  return "\r\n";
}

// Where our headers go: after any lines at the very top that start with white space. Such a
// line continues no header; put after our X-Virus-Status it would extend its value
// ("Clean" + "\r\n (forged)" reads "Clean (forged)"). Found by tests/fuzz/headers_fuzz.
std::size_t insertion_point(std::string_view message) {
  std::size_t pos = 0;
  while (pos < message.size() && (message[pos] == ' ' || message[pos] == '\t')) {
    auto lf = message.find('\n', pos);
    if (lf == std::string_view::npos) return message.size();
    pos = lf + 1;
  }
  return pos;
}

}  // namespace

std::string status_header(const Verdict& verdict) {
  switch (verdict.status) {
    case Verdict::Status::clean: return "Clean";
    case Verdict::Status::infected: return single_line("Infected (" + verdict.virus + ")");
    case Verdict::Status::oversize: return "Unscanned (too large)";
    // clamd's default (AlertExceedsMax no) calls such a file clean; the header says why it
    // is only partly scanned.
    case Verdict::Status::limits: return single_line("Clean (" + verdict.reason + ")");
    case Verdict::Status::error:
      return single_line("Unscanned (" + (verdict.reason.empty() ? "scan error" : verdict.reason) +
                         ")");
    case Verdict::Status::allowlisted: return "Unscanned (allowlisted)";
    case Verdict::Status::not_scanned: return "Unscanned (scanning disabled)";
  }
  return "Unscanned";
}

std::string apply_virus_headers(std::string_view message, HeaderMode mode, const Verdict& verdict,
                                std::string_view scanned_by) {
  if (mode == HeaderMode::no) return std::string(message);
  std::string body(message);
  if (mode == HeaderMode::replace) {
    body = headers::remove(body, "X-Virus-Scanned");
    body = headers::remove(body, "X-Virus-Status");
  }
  std::string_view eol = line_end_of(message);
  std::size_t at = insertion_point(body);
  std::string out;
  out.reserve(body.size() + scanned_by.size() + 128);
  out.append(body, 0, at);
  if (at > 0 && out.back() != '\n') out.append(eol);  // a lone unterminated orphan line
  out.append("X-Virus-Scanned: ").append(single_line(scanned_by)).append(eol);
  out.append("X-Virus-Status: ").append(status_header(verdict)).append(eol);
  out.append(body, at);
  return out;
}

}  // namespace clamfetch::scan
