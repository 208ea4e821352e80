// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Poison-message protection. libclamav parses hostile input in our process: a message that
// crashes it would kill every run at the same place, forever. So each in-process scan is
// written down before it starts and crossed out when it returns; what a dead run left behind
// tells the next run whom to blame, and a blamed message gets a scan failure instead of a scan
// (on_fail decides: defer keeps it on the server, logged every run; accept delivers it marked
// Unscanned), while the rest of the mailbox flows again.
//
// Who is to blame, with several workers scanning at once: a crash signal (SIGSEGV, SIGABRT,
// SIGBUS, SIGFPE, SIGILL — on an alternate stack, so a stack overflow counts too) raised in a
// thread that is scanning makes our handler append "crash <that message>" to the journal
// before the default action runs. That message is poison from the next run on: one crash,
// exact blame, and the messages other workers were scanning at that moment are not suspected.
// A death that leaves no such line (SIGKILL, the OOM killer, a power cut) blames nothing: it
// cannot tell a guilty message from an innocent one, and an operator's kill -9 must never
// brand good mail. The scans it interrupted are only logged.
//
// A scan that hangs (watch_hangs(), scan_watchdog.hpp): once a scan has run longer than
// scan_timeout, the watchdog thread appends "hang <that message>" to the journal, logs it,
// calls on_hang (the poller stops new hand-overs to the MTA there and waits a few seconds for
// those between the MTA's 2xx and the UID record to be recorded), and ends the process with
// exit code 23. From the next run
// on the message is poison as after a crash (Standing::hung).
//
// Files in the state directory: scan-journal (append-only; no fsync, because a dying process
// keeps what write() gave the kernel, and a power cut is nobody's message's fault) and
// scan-suspects (the blamed messages, replaced atomically when a poller starts and folds the
// journal in).

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "scan/scan_watchdog.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace clamfetch::scan {

/// One message's identity for the guard: account key, folder and UID.
std::string scan_identity(const std::string& account_key, const std::string& folder,
                          const std::string& uid);

class ScanGuard {
 public:
  /// poison: the scanner crashed on it; hung: a scan of it overran scan_timeout.
  enum class Standing { fine, poison, hung };

  /// Folds the journal a previous run left into the suspects file (logging each newly blamed
  /// message, and scans a death without a crash record interrupted), opens a fresh journal and installs the crash-signal
  /// handlers. One ScanGuard per process at a time (the instance lock ensures one process per
  /// state directory). Errors: Kind::state (unreadable or unwritable files); the caller then
  /// scans unguarded.
  static Result<std::unique_ptr<ScanGuard>> open(const std::string& state_dir, Log& log);
  /// Stops the watchdog, restores the previous signal handlers and closes the journal.
  ~ScanGuard();
  ScanGuard(const ScanGuard&) = delete;
  ScanGuard& operator=(const ScanGuard&) = delete;

  /// What earlier runs found out about the message. Thread-safe.
  Standing standing(const std::string& id) const;

  /// Marks the calling thread as scanning `id` until destroyed. Never blocks; a journal
  /// write failure is logged (once) and the scan goes ahead unguarded: the protection must
  /// never stop good mail.
  class Scanning {
   public:
    ~Scanning();
    Scanning(Scanning&&) = delete;

   private:
    friend class ScanGuard;
    Scanning(ScanGuard& guard, const std::string& id, const std::string& label);
    ScanGuard& guard_;
    std::string crash_line_;
    std::unique_ptr<ScanWatchdog::Watch> watch_;
  };
  std::unique_ptr<Scanning> begin(const std::string& id);
  /// The same, and, once watch_hangs() was called, watched: `label` names the message in the
  /// log line if its scan hangs ("key (account A, folder F, UID U)").
  std::unique_ptr<Scanning> begin(const std::string& id, const std::string& label);

  /// Starts the watchdog: a scan (begin() to the end of its Scanning) still running after
  /// `timeout` ends the process (see the top of this file), after `on_hang` (may be empty)
  /// returned, on the watchdog's thread. Call once, before scanning starts. A watchdog thread
  /// that cannot be started is logged and the scans run unwatched.
  void watch_hangs(std::chrono::milliseconds timeout, std::function<void()> on_hang = {});

  /// Watches a step that is no message's fault - loading the signature database - with the
  /// same timeout: should it hang (a database on a dead network file system), the run ends
  /// as for a hung scan, with the same draining and exit code, but no message is blamed.
  /// Null when no watchdog runs. Never blocks beyond a short lock.
  std::unique_ptr<ScanWatchdog::Watch> watch_unblamed(const std::string& label);

  /// The message left the server's "new" set (acknowledged): forget whatever was held against
  /// it. Thread-safe.
  void forget(const std::string& id);

 private:
  ScanGuard(std::string dir, int journal_fd, std::map<std::string, Standing> standings, Log& log);
  void append(const std::string& line);
  /// The watchdog's action: record, log, on_hang, _exit. Never returns.
  [[noreturn]] void end_hung_run(const ScanWatchdog::Overrun& overrun);

  std::string dir_;
  int journal_fd_;
  Log& log_;
  mutable std::mutex mutex_;  // standings_ and journal appends
  std::map<std::string, Standing> standings_;
  bool write_failed_ = false;
  std::function<void()> on_hang_;
  std::unique_ptr<ScanWatchdog> watchdog_;  // last: its thread stops before the rest goes
};

}  // namespace clamfetch::scan
