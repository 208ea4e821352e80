// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// A fetched message as it crosses from fetch to scan to deliver, and the scan verdict.

#include <cstdint>
#include <string>
#include <vector>

namespace clamfetch {

/// One message in flight. Owns its bytes.
struct Message {
  std::string key;                      ///< "server/account/folder/uid": names it in logs and reports
  std::string uid;                      ///< server UID (POP3 UIDL, IMAP UID as decimal)
  std::string data;                     ///< raw bytes exactly as retrieved, CRLF line ends
  std::string envelope_from;            ///< MAIL FROM (headers::envelope_sender), empty for <>
  std::string return_path;              ///< Return-Path's qualified address, or empty: the
                                        ///< sender bounces go to and the allowlist matches
  std::vector<std::string> recipients;  ///< local recipients (the account's `is`)
  std::string server;                   ///< host it came from (for the Received header)
  std::string server_address;           ///< its IP address on this connection, or empty
  std::string protocol;                 ///< "POP3" or "IMAP" (for the Received header)
};

/// What the scanner found.
struct Verdict {
  enum class Status {
    clean,         ///< scanned, nothing found
    infected,      ///< `virus` names what was found
    error,         ///< the scan failed; `reason` says why (on_fail applies)
    oversize,      ///< over max_file_size: not scanned (on_oversize applies)
    limits,        ///< scanned up to a limit inside it (archive depth, file count...): `reason`
                   ///< names it; nothing found before the limit (on_limits applies)
    allowlisted,   ///< skipped by the allowlist
    not_scanned,   ///< scanning disabled
  };
  Status status = Status::error;
  std::string virus;   ///< signature name when infected
  std::string reason;  ///< detail for error / limits
  /// error only: the scanner itself failed (no signatures, clamd unreachable), so the fault is
  /// not this message's and it is retried on every poll without back-off.
  bool scanner_fault = false;
  double seconds = 0;  ///< scan time
};

/// "clean", "INFECTED <name>", "scan error (<reason>)" ... as the per-message log line shows it.
std::string describe(const Verdict& verdict);

}  // namespace clamfetch
