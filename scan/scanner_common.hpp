// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Private to scan/: the two Scanner implementations and the rules they share.

#include <memory>
#include <string>
#include <string_view>

#include "core/log.hpp"
#include "core/message.hpp"
#include "scan/scan.hpp"

namespace clamfetch::scan::detail {

/// libclamav in-process. No I/O until the first scan(). `clean_temp` false: the load keeps
/// what is in the temp directory (a reload while the old engine still scans).
std::unique_ptr<Scanner> make_clamav_scanner(const Settings& settings, Log& log, bool clean_temp = true);
/// libclamav reloading itself every settings.self_check_seconds (reloading.cpp).
std::unique_ptr<Scanner> make_reloading_scanner(const Settings& settings, Log& log);
/// clamd over INSTREAM, failing over along settings.clamd. No I/O until the first scan().
std::unique_ptr<Scanner> make_clamd_scanner(const Settings& settings, Log& log);


/// True for the names libclamav gives limits exceeded inside a message
/// (CL_SCAN_HEURISTIC_EXCEEDS_MAX): "Heuristics.Limits.Exceeded.*".
bool is_limits_name(std::string_view virus_name);

/// The verdict for a finding: infected, or error "limits exceeded: NAME" for a limits name
/// (never clean, never infected: on_fail decides).
Verdict finding(std::string name, double seconds);

Verdict error_verdict(std::string reason, double seconds = 0);
Verdict oversize_verdict(uint64_t size, uint64_t limit);

/// The verdict for one clamd INSTREAM reply: "stream: OK" clean, "stream: NAME FOUND"
/// infected (or limits error), "... ERROR" and anything else: error with the reply.
Verdict parse_instream_reply(const std::string& reply, double seconds);

}  // namespace clamfetch::scan::detail
