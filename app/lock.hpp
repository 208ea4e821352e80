// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// One clamfetch per state directory: a pid file held with flock(). A lock left by a dead
// process is free again (the kernel drops it), so a stale lock is simply taken over. The file
// is never removed (see the destructor); an empty or stale pid in it means nobody runs.

#include <string>

#include "core/error.hpp"

namespace clamfetch::app {

class InstanceLock {
 public:
  /// Create the state directory (0700) if needed and take the lock.
  /// Errors: Kind::locked "another clamfetch (pid N) is running"; Kind::state.
  static Result<InstanceLock> acquire(const std::string& state_dir);
  /// The pid recorded in the lock file of `state_dir`, or 0. Not verified: for messages.
  /// Never call it in the process holding the lock (closing any descriptor of the file
  /// drops that process's record lock).
  static long holder(const std::string& state_dir);
  /// The pid of the clamfetch holding the lock of `state_dir`: the recorded pid, only when
  /// the kernel confirms that this process holds the file's record lock; else 0. Does not
  /// block. Same caveat as holder().
  static long running_pid(const std::string& state_dir);

  InstanceLock(InstanceLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  InstanceLock& operator=(InstanceLock&&) = delete;
  ~InstanceLock();

  /// Rewrite the pid after daemonizing (fork changes it).
  void update_pid();

 private:
  explicit InstanceLock(int fd) : fd_(fd) {}
  int fd_;
};

/// Create `dir` with mode 0700 (and parents) if missing. Errors: Kind::state.
Status ensure_private_dir(const std::string& dir);

}  // namespace clamfetch::app
