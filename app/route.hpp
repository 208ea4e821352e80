#pragma once
// The pure routing decisions: what happens to a message given its verdict and the scan
// policy, and what happens after the MTA answered. No I/O; tested exhaustively.

#include <string>
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

/// What to do once the MTA answered a delivery (to the recipients, or the postmaster's
/// report/notice, or a bounce).
enum class AfterMta {
  acknowledge,        ///< 2xx (or an antispam refusal: dropped, logged): may leave the server
  keep,               ///< 4xx, unreachable: stays on the server for the next run
  notify_postmaster,  ///< 5xx with bouncemail = false: the original goes to the postmaster
  bounce,             ///< 5xx with bouncemail = true: a bounce goes to the sender
};

/// Decide after the first delivery attempt to the message's own recipients.
/// `sender` empty (null sender) never gets a bounce: the postmaster does instead.
AfterMta after_delivery(const deliver::Outcome& outcome, const std::vector<int>& antispam,
                        bool bouncemail, const std::string& sender);

/// A secondary delivery (report, notice, bounce) either acknowledges the original or keeps it.
AfterMta after_secondary(const deliver::Outcome& outcome);

/// True when `code` is one of the antispam codes (the MTA said "spam, drop it").
bool is_antispam(int code, const std::vector<int>& antispam);

}  // namespace clamfetch::app
