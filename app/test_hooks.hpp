// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Test-only fault injection for the reliability tests (issue 7): make the process die at an
// exact point of the pipeline, so that the windows a random kill only hits by luck — between
// the MTA's 2xx and the UID record, between the record and the acknowledge, before the UID
// store is saved — are hit every time.
//
//   CLAMFETCH_TEST_KILL_AT=<point>:<n>   SIGKILL this process the n-th time <point> is reached
//                                        (counted over every account and worker of the run)
// Points: after_2xx, after_record, after_acknowledge, before_save.
// Unset (production) it costs one getenv() per process and then one relaxed atomic load per
// call; a malformed value is ignored.

#include "app/handover.hpp"

namespace clamfetch::app {

enum class KillPoint { after_2xx, after_record, after_acknowledge, before_save };

/// Raises SIGKILL (never returns) when CLAMFETCH_TEST_KILL_AT names `point` and this is its
/// n-th visit; otherwise does nothing. Thread-safe, never blocks.
void kill_point(KillPoint point);

/// A hand-over probe that calls kill_point(after_2xx) and kill_point(after_record).
HandoverProbe& kill_point_probe();

}  // namespace clamfetch::app
