// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// The pure routing decisions: what happens to a message given its verdict and the scan
// policy, and what happens after the MTA answered. No I/O; tested exhaustively. The table
// these functions implement is written out in docs/design.md and clamfetch(1) ("WHAT HAPPENS
// WHEN THE MTA ANSWERS"); tests/unit/app_route_test.cpp walks every row of it.

#include <string>
#include <utility>
#include <vector>

#include "core/message.hpp"
#include "deliver/deliver.hpp"
#include "rc/rc.hpp"

namespace clamfetch::app {

/// What to do with a scanned message.
enum class Route {
  deliver,    ///< to its recipients (X-Virus-Status tells what the scan found)
  divert,     ///< not to the recipients: a report to the postmaster
  defer,      ///< leave it on the server, retry next run
  drop,       ///< acknowledge without delivering (logged)
};

Route route(const Verdict& verdict, const rc::Scan& policy);

/// What became of one recipient at the MTA, from its final reply.
enum class Fate {
  delivered,  ///< 2xx to the end of DATA (LMTP: its own reply)
  retry,      ///< 4xx, no reply, or the message was not sent to it: stays on the server
  refused,    ///< 5xx: the sender (bouncemail) or the postmaster is told
};

/// 2xx -> delivered, 5xx -> refused, anything else (4xx, 0 = no reply, a code out of place)
/// -> retry. Pure.
Fate fate(const deliver::Reply& reply);

/// The decision after delivering a message to its own recipients.
struct MtaDecision {
  enum class Next {
    acknowledge,  ///< every recipient has it: may leave the server
    keep,         ///< a recipient must be retried: stays on the server; `delivered` are recorded
    notify,       ///< the rest were refused: send the notice, acknowledge only after its 2xx
    drop_spam,    ///< MAIL FROM refused with an antispam code: acknowledged undelivered, logged
  };
  enum class Notice {
    none,
    bounce,      ///< a DSN to the envelope sender (bouncemail = true, sender not null)
    postmaster,  ///< the refusal and the original to the postmaster
  };
  Next next = Next::keep;
  Notice notice = Notice::none;
  std::vector<std::string> delivered;  ///< have the message now
  std::vector<std::string> retry;      ///< to be tried again on the next poll
  std::vector<std::pair<std::string, deliver::Reply>> refused;  ///< with the reply that refused
};

/// Decides from the MTA's replies to one delivery to `recipients` (the envelope sent). Rules:
/// - no verdict on the message (connect, greeting, EHLO, RSET, timeout or connection lost
///   before the end-of-DATA reply), or MAIL FROM 4xx: keep, retry every recipient;
/// - MAIL FROM 5xx: drop_spam when its code is in `antispam` (never for our own local
///   refusals, outcome.local), else every recipient refused;
/// - otherwise each recipient by fate() of its final reply (RCPT, or end of DATA):
///   any retry -> keep (the delivered ones are recorded, so a retry skips them; no notice
///   yet: the refused are told once no recipient is left to retry); else any refused ->
///   notify; else acknowledge.
/// `antispam` applies to MAIL FROM only, never to RCPT or DATA replies (fetchmail's rule).
/// The notice is a bounce when `bouncemail` and `sender` is not the null sender, else the
/// postmaster's. Pure.
MtaDecision decide_delivery(const deliver::Outcome& outcome,
                            const std::vector<std::string>& recipients,
                            const std::vector<int>& antispam, bool bouncemail,
                            const std::string& sender);

/// A secondary delivery (report, notice, bounce): true only when the MTA answered 2xx to the
/// end of DATA for its recipient. Anything else keeps the original on the server.
bool accepted(const deliver::Outcome& outcome);

/// True when `code` is one of the antispam codes (the MTA said "spam, drop it").
bool is_antispam(int code, const std::vector<int>& antispam);

}  // namespace clamfetch::app
