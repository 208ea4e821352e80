// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "app/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace clamfetch::app {
namespace {

std::string lock_path(const std::string& dir) { return dir + "/clamfetch.pid"; }

Error state_error(const std::string& what, const std::string& path) {
  return make_error(Kind::state, Scope::run, what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Status ensure_private_dir(const std::string& dir) {
  if (dir.empty()) return make_error(Kind::state, Scope::run, "empty state directory");
  for (std::size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string part = dir.substr(0, pos);
    if (mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) return state_error("cannot create", part);
  }
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) return state_error("cannot stat", dir);
  if (!S_ISDIR(st.st_mode)) return make_error(Kind::state, Scope::run, dir + " is not a directory");
  return {};
}

Result<InstanceLock> InstanceLock::acquire(const std::string& state_dir) {
  if (auto made = ensure_private_dir(state_dir); !made) return made.error();
  std::string path = lock_path(state_dir);
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return state_error("cannot open lock file", path);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return make_error(Kind::locked, Scope::run,
                      "another clamfetch (pid " + std::to_string(holder(state_dir)) + ") is running");
  }
  InstanceLock lock(fd);
  lock.update_pid();
  return lock;
}

long InstanceLock::running_pid(const std::string& state_dir) {
  int fd = open(lock_path(state_dir).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  // The kernel's word on who holds the record lock (update_pid takes it). A pid file alone
  // may name a process that died without cleaning up (SIGKILL, the watchdog's _exit) and
  // whose pid now belongs to an unrelated process.
  struct flock query {};
  query.l_type = F_WRLCK;
  query.l_whence = SEEK_SET;
  bool held = fcntl(fd, F_GETLK, &query) == 0 && query.l_type != F_UNLCK;
  close(fd);
  long named = holder(state_dir);
  return held && named > 0 && query.l_pid == named ? named : 0;
}

long InstanceLock::holder(const std::string& state_dir) {
  int fd = open(lock_path(state_dir).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[32] = {};
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n > 0 ? std::strtol(buf, nullptr, 10) : 0;
}

void InstanceLock::update_pid() {
  // A record lock names its holder's pid (F_GETLK), which the flock cannot: -q checks it.
  // Record locks are not inherited across fork, so the detached daemon takes its own here;
  // the flock, inherited with the descriptor, keeps others out meanwhile. It waits (F_SETLKW)
  // only for the parent it was forked from, which is exiting: no one else takes this lock
  // without the flock.
  struct flock whole {};
  whole.l_type = F_WRLCK;
  whole.l_whence = SEEK_SET;
  while (fcntl(fd_, F_SETLKW, &whole) != 0 && errno == EINTR) {
  }
  std::string pid = std::to_string(getpid()) + "\n";
  // No fsync: the pid only names the holder while it runs (for exit 8 and -q); after a crash
  // or a power cut the flock is gone and a stale pid is taken over anyway.
  if (ftruncate(fd_, 0) == 0) {
    ssize_t written = pwrite(fd_, pid.data(), pid.size(), 0);
    (void)written;  // a lock file without a pid still locks; holder() then reports 0
  }
}

InstanceLock::~InstanceLock() {
  if (fd_ < 0) return;
  if (ftruncate(fd_, 0) != 0) { /* the lock is released below in any case */ }
  // The file stays: unlinking it would let an instance that opened it just before lock the
  // orphaned inode while the next one creates and locks a new file, and both would run.
  close(fd_);
}

}  // namespace clamfetch::app
