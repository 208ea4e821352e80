#pragma once
// One clamfetch per state directory: a pid file held with flock(). A lock left by a dead
// process is free again (the kernel drops it), so a stale lock is simply taken over.

#include <string>

#include "core/error.hpp"

namespace clamfetch::app {

class InstanceLock {
 public:
  /// Create the state directory (0700) if needed and take the lock.
  /// Errors: Kind::locked "another clamfetch (pid N) is running"; Kind::state.
  static Result<InstanceLock> acquire(const std::string& state_dir);
  /// The pid recorded in the lock file of `state_dir`, or 0.
  static long holder(const std::string& state_dir);

  InstanceLock(InstanceLock&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) { other.fd_ = -1; }
  InstanceLock& operator=(InstanceLock&&) = delete;
  ~InstanceLock();

  /// Rewrite the pid after daemonizing (fork changes it).
  void update_pid();

 private:
  InstanceLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

/// Create `dir` with mode 0700 (and parents) if missing. Errors: Kind::state.
Status ensure_private_dir(const std::string& dir);

}  // namespace clamfetch::app
