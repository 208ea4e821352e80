// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Test-only fault injection for the reliability trials, linked into clamfetch only in a build
// with the test suite (CLAMFETCH_TESTS) and installed by main() through app/test_seams.hpp. The
// environment is read once, at start-up:
//
//   CLAMFETCH_TEST_KILL_AT=<point>:<n>   SIGKILL the process the n-th time <point> is reached
//                                        (counted over every account and worker of the run).
//                                        Points: after_2xx, after_record, after_acknowledge,
//                                        before_save. A malformed value is ignored.
//   CLAMFETCH_TEST_ABORT_MARKER=<text>   a scan of a message containing <text> calls abort()
//   CLAMFETCH_TEST_HANG_MARKER=<text>    an in-process (libclamav) scan of a message
//                                        containing <text> never returns (clamd: ignored)

#include <memory>
#include <string>

#include "scan/scan.hpp"

namespace clamfetch::testing {

/// Reads the variables above and installs what they ask for (nothing when none is set).
void install_fault_injection_from_environment();

/// A scanner that aborts (`abort_marker`) or hangs (`hang_marker`, when non-empty) on a
/// message containing the marker, and otherwise is `inner`.
std::unique_ptr<scan::Scanner> poison_scanner(std::unique_ptr<scan::Scanner> inner, std::string abort_marker,
                                              std::string hang_marker);

}  // namespace clamfetch::testing
