// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Deadlines for network phases: every wait is bounded, never a signal and a jump.

#include <chrono>

namespace clamfetch {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  /// A deadline `seconds` from now; seconds <= 0 means "never".
  static Deadline after(int seconds) {
    Deadline d;
    if (seconds > 0) d.at_ = Clock::now() + std::chrono::seconds(seconds);
    return d;
  }
  static Deadline after_ms(long ms) {
    Deadline d;
    d.at_ = Clock::now() + std::chrono::milliseconds(ms);
    return d;
  }

  /// Whichever of `a` and `b` comes first (a bound on top of another).
  static Deadline earlier(const Deadline& a, const Deadline& b) { return a.at_ <= b.at_ ? a : b; }

  /// True if this deadline comes strictly before `other`.
  bool sooner_than(const Deadline& other) const { return at_ < other.at_; }

  bool never() const { return at_ == Clock::time_point::max(); }
  bool expired() const { return !never() && Clock::now() >= at_; }

  /// Milliseconds left, for poll(): -1 when there is no deadline, 0 when expired.
  int remaining_ms() const {
    if (never()) return -1;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(at_ - Clock::now()).count();
    if (left <= 0) return 0;
    return left > 0x7fffffff ? 0x7fffffff : static_cast<int>(left);
  }

 private:
  Clock::time_point at_ = Clock::time_point::max();
};

}  // namespace clamfetch
