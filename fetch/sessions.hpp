// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Internal to fetch/: the protocol sessions behind make_session(). pop3.cpp defines
// make_pop3_session, imap.cpp defines make_imap_session.

#include <cstddef>
#include <memory>

#include "core/log.hpp"
#include "fetch/fetch.hpp"

namespace clamfetch::fetch {

/// How a POP3 session pipelines (RFC 2449 PIPELINING). Defaults are what make_session uses;
/// tests turn pipelining off to exercise the one-command-at-a-time path on a real server.
struct Pop3Options {
  bool use_pipelining = true;          ///< only honoured when the server advertises PIPELINING
  std::size_t window = 32;             ///< at most this many RETR/DELE in flight
  std::size_t window_bytes = 8 << 20;  ///< and about this many announced message octets
};

/// A POP3 session (POP3S, STLS or plain per settings.tls.mode). Copies `settings`; `log`
/// must outlive the session. Nothing is sent before open().
std::unique_ptr<Session> make_pop3_session(const AccountSettings& settings, Log& log,
                                           const Pop3Options& options = {});

/// An IMAP session; same ownership rules as make_pop3_session.
std::unique_ptr<Session> make_imap_session(const AccountSettings& settings, Log& log);

}  // namespace clamfetch::fetch
