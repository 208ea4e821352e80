// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// clamav-milter's VirusAction: a command run for each infected message.

#include <string>

#include "core/log.hpp"
#include "deliver/deliver.hpp"

namespace clamfetch::app {

/// Runs `command` (split on whitespace, no shell) with the arguments virus name, message
/// key, sender, destination, subject, Message-ID, date — clamav-milter's order — and waits
/// at most `timeout_seconds`, then kills it. Failure or timeout is logged, never fatal.
void run_virus_action(const std::string& command, const deliver::ReportFacts& facts, Log& log,
                      int timeout_seconds = 30);

}  // namespace clamfetch::app
