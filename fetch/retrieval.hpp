// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Internal to fetch/ (and its unit test): the rules that bound one message's retrieval. How
// long it may take (a server trickling bytes must not hold a run for ever) and whether what
// arrived can be what the server announced (an empty or truncated body must not be delivered
// and then deleted). Pure functions; the sessions apply them.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/deadline.hpp"
#include "core/error.hpp"

namespace clamfetch::fetch {

/// The slowest transfer rate a message is allowed: 10 KiB/s (a 10 MB message gets 1000 s
/// on top of `timeout`). Far below any real link, far above a server trickling a byte now
/// and then.
inline constexpr uint64_t kFloorBytesPerSecond = 10 * 1024;

/// Seconds allowed to retrieve one message of `size` announced octets:
/// timeout + ceil(size / 10 KiB/s). Documented in clamfetch(1), "Timeouts".
int message_seconds(uint64_t size, int timeout_seconds);

/// The deadline for one message from now, never later than `run` (the poll's run_timeout).
Deadline message_deadline(uint64_t size, int timeout_seconds, const Deadline& run);

/// Why a POP3 body of `received` octets cannot be the message LIST announced as `announced`
/// octets, or empty when it can. LIST sizes are computed loosely by real servers (LF against
/// CRLF, dot-stuffing, added headers), so only an empty body, or one shorter than half of the
/// announced size, is refused.
std::string pop3_body_problem(uint64_t announced, uint64_t received);

/// Why an IMAP BODY[] of `received` octets cannot be the message whose RFC822.SIZE was
/// `announced`, or empty when it can. RFC 3501 makes RFC822.SIZE the exact size of BODY[],
/// so any difference is refused, as is an empty body (BODY[] NIL or {0}).
std::string imap_body_problem(uint64_t announced, uint64_t received);

/// The message-scoped error for a body refused by one of the above: Kind::protocol,
/// "account: message UID u of folder: <problem>: not delivered, left on the server".
Error body_error(const std::string& account, const std::string& folder, const std::string& uid,
                 const std::string& problem);

/// The account-scoped Kind::timeout error for a retrieval stopped by a deadline: the poll's
/// run_timeout when `run` has passed, else the message's own deadline (`size`, `timeout`).
Error deadline_error(const std::string& account, const Deadline& run, const std::string& uid,
                     uint64_t size, int timeout_seconds);

}  // namespace clamfetch::fetch
