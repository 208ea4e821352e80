// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// The poller: walks the accounts (global.parallel at once) through
// retrieve -> scan -> route -> deliver -> acknowledge, and turns the outcome into an exit code.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "app/handover.hpp"
#include "app/ports.hpp"
#include "app/test_seams.hpp"
#include "core/log.hpp"
#include "fetch/fetch.hpp"
#include "rc/rc.hpp"
#include "scan/scan.hpp"
#include "scan/scan_guard.hpp"

namespace clamfetch::app {

struct PollOptions {
  bool check_only = false;            ///< -c: count waiting mail, download nothing
  std::vector<std::string> servers;   ///< poll only these (empty: all)
  bool skip_imap = false;             ///< --idle: IMAP accounts are the IDLE watchers' (daemon.cpp)
};

class Poller {
 public:
  /// The scanner (unless scanning is disabled) is created here but loads its signatures only
  /// when the first message needs scanning; it is kept across polls (daemon mode).
  /// `ports`: where sessions, the scanner and MTA connections come from; a factory left
  /// empty is the real one (real_ports()).
  Poller(const rc::Config& config, std::string state_dir, Log& log, Ports ports = {});
  ~Poller();

  /// One poll of every selected account. Returns fetchmail's exit code: 0 if any account
  /// retrieved mail, else the last error's code, else 1 (no mail).
  int poll_once(const PollOptions& options);

  /// The accounts poll_once(options) polls, in rc file order.
  std::vector<std::pair<const rc::Poll*, const rc::User*>> accounts(const PollOptions& options) const;

  /// One poll of one account (list, retrieve, scan, deliver, acknowledge each folder) with a
  /// delivery pool of its own. With `session` null it connects and disconnects itself; else it
  /// uses that open session, which the caller keeps (IMAP IDLE): deletions are then committed
  /// by the session's next idle() or close(). Safe to run concurrently with poll_once and with
  /// poll_account for other accounts. Returns the account's exit code (as poll_once).
  int poll_account(const rc::Poll& poll, const rc::User& user, fetch::Session* session = nullptr);

  /// SIGUSR2: has the scanner check its signature database now (on its own thread); nothing
  /// without a scanner or for one that does not reload.
  void check_signatures_now() {
    if (scanner_) scanner_->check_database_now();
  }

  /// Where each message's steps are reported (tests); null: nowhere. Defaults to the installed
  /// test seams' probe (test_seams.hpp). Set before polling; must outlive the poller.
  void set_probe(PipelineProbe* probe) { probe_ = probe; }

 private:
  /// Entries older than scan.quarantine_keep leave at the start of each poll, logged.
  void expire_quarantine();
  /// The watchdog's gate on hand-overs to the MTA (null: no watchdog).
  HandoverGate* handover_gate();
  /// The scan guard's on_hang: closes the gate, waits a few seconds for the hand-overs past it.
  void end_handovers();

  const rc::Config& config_;
  std::string state_dir_;
  Log& log_;
  Ports ports_;
  PipelineProbe* probe_;
  std::unique_ptr<scan::Scanner> scanner_;
  /// Hand-overs to the MTA in progress; closed when a hung scan ends the process. Declared
  /// before the guard, so the guard's watchdog thread (on_hang) stops before it goes.
  HandoverGate handovers_;
  /// Poison-message protection of in-process scans (null: clamd, scanning off, or its files
  /// could not be used — then scans run unguarded, logged).
  std::unique_ptr<scan::ScanGuard> scan_guard_;
  scan::Allowlist allowlist_;
};

}  // namespace clamfetch::app
