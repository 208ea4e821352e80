// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// The hang half of poison-message protection (scan_guard.hpp has the crash half). A scan stuck
// inside libclamav cannot be cancelled: no thread can be stopped from outside, and signals and
// jumps through library frames are what we do not do. So one watchdog thread notices a scan
// that overran scan_timeout, and the guard then records the message (the next run treats it as
// poison) and ends the process. Ending must not break the invariant nor duplicate mail: the
// guard's on_hang callback (the poller's: app/handover.hpp's HandoverGate) stops new
// hand-overs to the MTA and waits, for a bounded time, for those between the end of DATA and
// the UID record to be recorded.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace clamfetch::scan {

/// Watches running scans; reports each one that runs longer than the timeout, once.
/// One thread, asleep on a condition variable while no scan runs; while scans run it wakes at
/// the oldest one's deadline only. Thread-safe.
class ScanWatchdog {
 public:
  using Clock = std::chrono::steady_clock;

  /// A scan that overran.
  struct Overrun {
    std::string id;      ///< as given to watch()
    std::string label;   ///< as given to watch(), for the log line
    std::chrono::milliseconds timeout{0};
  };
  /// Called on the watchdog's thread, without any lock held, once per overrunning scan. In
  /// production it ends the process and never returns; if it returns the watchdog goes on.
  using OnOverrun = std::function<void(const Overrun&)>;

  /// Starts the thread. Throws std::system_error when no thread can be had (the caller then
  /// runs without the watchdog).
  ScanWatchdog(std::chrono::milliseconds timeout, OnOverrun on_overrun);
  /// Stops and joins the thread (blocks while an OnOverrun call is in progress).
  ~ScanWatchdog();
  ScanWatchdog(const ScanWatchdog&) = delete;
  ScanWatchdog& operator=(const ScanWatchdog&) = delete;

  /// One watched scan, from watch() until destroyed. Must not outlive the watchdog.
  class Watch {
   public:
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

   private:
    friend class ScanWatchdog;
    Watch(ScanWatchdog& dog, uint64_t ticket) : dog_(dog), ticket_(ticket) {}
    ScanWatchdog& dog_;
    uint64_t ticket_;
  };
  /// Starts the clock for one scan. Never blocks beyond a short lock.
  std::unique_ptr<Watch> watch(std::string id, std::string label);

  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  struct Entry {
    Clock::time_point deadline;
    std::string id;
    std::string label;
  };
  void run();
  void forget(uint64_t ticket);

  const std::chrono::milliseconds timeout_;
  OnOverrun on_overrun_;
  std::mutex mutex_;
  std::condition_variable wake_;
  // By ticket, which is also deadline order: every scan gets the same timeout.
  std::map<uint64_t, Entry> active_;
  uint64_t next_ticket_ = 0;
  bool stopping_ = false;
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace clamfetch::scan
