// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Short texts about what became of a message, for log lines and the postmaster's notices.
// Pure; no I/O.

#include <string>
#include <vector>

#include "core/message.hpp"
#include "deliver/deliver.hpp"
#include "rc/rc.hpp"

namespace clamfetch::app {

/// "a@x:250,b@x:550": each recipient's final reply (the deciding reply where none is known),
/// for the delivery line's rcpt= field.
std::string recipient_replies(const deliver::Outcome& outcome, const std::vector<std::string>& rcpts);

/// "550 5.1.1 text", or the text alone when there was no reply (code 0).
std::string reply_text(const deliver::Reply& reply);

/// True for a refusal of the message's size (552, or enhanced status 5.3.4).
bool too_big(const deliver::Reply& reply);

/// What resolves a scan deferral that is the message's own (limits, oversize, scan error).
std::string scan_remedy(const Verdict& verdict);

/// clamav-milter's LogInfected / LogClean line: basic names account, UID, size, verdict and
/// scan time; full adds the envelope, Subject and Message-ID.
std::string scan_detail(const std::string& account, const std::string& uid, const Message& m,
                        const Verdict& verdict, rc::LogDetail detail);

}  // namespace clamfetch::app
