// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "scan/scan_watchdog.hpp"

#include <utility>

namespace clamfetch::scan {

ScanWatchdog::ScanWatchdog(std::chrono::milliseconds timeout, OnOverrun on_overrun)
    : timeout_(timeout), on_overrun_(std::move(on_overrun)), thread_([this] { run(); }) {}

ScanWatchdog::~ScanWatchdog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

std::unique_ptr<ScanWatchdog::Watch> ScanWatchdog::watch(std::string id, std::string label) {
  uint64_t ticket;
  bool was_idle;
  {
    std::lock_guard lock(mutex_);
    ticket = next_ticket_++;
    was_idle = active_.empty();
    active_.emplace(ticket, Entry{Clock::now() + timeout_, std::move(id), std::move(label)});
  }
  // A later scan never has an earlier deadline: only a sleeping thread needs waking.
  if (was_idle) wake_.notify_one();
  return std::unique_ptr<Watch>(new Watch(*this, ticket));
}

void ScanWatchdog::forget(uint64_t ticket) {
  // No wake-up: the thread wakes at the deadline it sleeps for, finds the scan gone and
  // looks at the next one (or sleeps until a scan starts).
  std::lock_guard lock(mutex_);
  active_.erase(ticket);
}

ScanWatchdog::Watch::~Watch() { dog_.forget(ticket_); }

void ScanWatchdog::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (active_.empty()) {
      wake_.wait(lock);
      continue;
    }
    auto oldest = active_.begin();
    if (Clock::now() < oldest->second.deadline) {
      Clock::time_point deadline = oldest->second.deadline;  // the entry may go while we wait
      wake_.wait_until(lock, deadline);
      continue;
    }
    Overrun overrun{std::move(oldest->second.id), std::move(oldest->second.label), timeout_};
    active_.erase(oldest);  // reported once; its Watch's erase later finds nothing
    lock.unlock();
    on_overrun_(overrun);
    lock.lock();
  }
}

}  // namespace clamfetch::scan
