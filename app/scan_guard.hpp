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
// brand good mail. The scans it interrupted are only logged. (A scan that hangs is therefore
// not caught here; it would need a watchdog that records the hung scan before ending the run.)
//
// Files in the state directory: scan-journal (append-only; no fsync, because a dying process
// keeps what write() gave the kernel, and a power cut is nobody's message's fault) and
// scan-suspects (the blamed messages, replaced atomically when a poller starts and folds the
// journal in).

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/error.hpp"
#include "core/log.hpp"

namespace clamfetch::app {

/// One message's identity for the guard: account key, folder and UID.
std::string scan_identity(const std::string& account_key, const std::string& folder,
                          const std::string& uid);

class ScanGuard {
 public:
  enum class Standing { fine, poison };

  /// Folds the journal a previous run left into the suspects file (logging each newly blamed
  /// message, and scans a death without a crash record interrupted), opens a fresh journal and installs the crash-signal
  /// handlers. One ScanGuard per process at a time (the instance lock ensures one process per
  /// state directory). Errors: Kind::state (unreadable or unwritable files); the caller then
  /// scans unguarded.
  static Result<std::unique_ptr<ScanGuard>> open(const std::string& state_dir, Log& log);
  /// Restores the previous signal handlers and closes the journal.
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
    Scanning(ScanGuard& guard, const std::string& id);
    ScanGuard& guard_;
    std::string crash_line_;
  };
  std::unique_ptr<Scanning> begin(const std::string& id);

  /// The message left the server's "new" set (acknowledged): forget whatever was held against
  /// it. Thread-safe.
  void forget(const std::string& id);

 private:
  ScanGuard(std::string dir, int journal_fd, std::map<std::string, Standing> standings, Log& log);
  void append(const std::string& line);

  std::string dir_;
  int journal_fd_;
  Log& log_;
  mutable std::mutex mutex_;  // standings_ and journal appends
  std::map<std::string, Standing> standings_;
  bool write_failed_ = false;
};

}  // namespace clamfetch::app
