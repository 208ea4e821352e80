// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "scan/scan.hpp"
#include "scan/scanner_common.hpp"

namespace clamfetch::scan {

std::unique_ptr<Scanner> make_scanner(const Settings& settings, Log& log) {
  if (!settings.clamd.empty()) return detail::make_clamd_scanner(settings, log);
  return detail::make_clamav_scanner(settings, log);
}

namespace detail {

bool is_limits_name(std::string_view virus_name) {
  return virus_name.starts_with("Heuristics.Limits.Exceeded");
}

Verdict finding(std::string name, double seconds) {
  Verdict v;
  v.seconds = seconds;
  if (is_limits_name(name)) {
    v.status = Verdict::Status::limits;
    v.reason = "limits exceeded: " + name;
    return v;
  }
  v.status = Verdict::Status::infected;
  v.virus = std::move(name);
  return v;
}

Verdict error_verdict(std::string reason, double seconds) {
  Verdict v;
  v.status = Verdict::Status::error;
  v.reason = std::move(reason);
  v.seconds = seconds;
  return v;
}

Verdict oversize_verdict(uint64_t size, uint64_t limit) {
  Verdict v;
  v.status = Verdict::Status::oversize;
  v.reason = std::to_string(size) + " bytes > max_file_size " + std::to_string(limit);
  return v;
}

}  // namespace detail
}  // namespace clamfetch::scan
