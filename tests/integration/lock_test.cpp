// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The instance lock ($CLAMFETCH_HOME/clamfetch.pid) through the real binary: -q signals only
// a process that holds the lock, and the lock file is never removed under a process that
// opened it (which would let two instances run at once).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A process of ours that must survive: `sleep`, killed and reaped by the destructor.
struct Bystander {
  pid_t pid = fork();
  Bystander() {
    if (pid == 0) {
      execl("/bin/sleep", "sleep", "120", static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~Bystander() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  // Still running (not a zombie: waitpid would reap a dead one).
  bool alive() const { return waitpid(pid, nullptr, WNOHANG) == 0; }
};

}  // namespace

TEST_CASE("a stale lock file: -q does not signal the pid it names") {
  // No servers needed: clamfetch -q runs as root here, so it could signal the bystander.
  char tmpl[] = "/tmp/cflock.XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string home = tmpl;
  Bystander sleeper;
  REQUIRE(sleeper.pid > 0);
  // What a clamfetch ended by SIGKILL (or the scan watchdog's _exit) leaves behind, with its
  // pid since reused by an unrelated process.
  std::ofstream(home + "/clamfetch.pid") << sleeper.pid << "\n";

  auto quit = run({clamfetch_binary(), "-q"}, "", {{"CLAMFETCH_HOME", home}});
  usleep(200000);  // a SIGTERM sent would have arrived by now
  INFO(quit.err);
  CHECK(sleeper.alive());
  CHECK(quit.exit_code == 1);
  CHECK(contains(quit.err, "no clamfetch daemon is running (the lock file names pid " +
                               std::to_string(sleeper.pid) + ", which does not hold the lock: not signalled)"));

  // No lock file at all: the same answer, without a pid.
  fs::remove(home + "/clamfetch.pid");
  auto none = run({clamfetch_binary(), "-q"}, "", {{"CLAMFETCH_HOME", home}});
  CHECK(none.exit_code == 1);
  CHECK(contains(none.err, "clamfetch: no clamfetch daemon is running\n"));
  fs::remove_all(home);
}

TEST_CASE("an instance that opened the lock file before the holder ended keeps the next one out") {
  MailServers servers;
  ClamfetchUser user(servers);
  const std::string lock = user.home() + "/clamfetch.pid";
  const std::string go = user.home() + "/go";
  // The first run holds the lock until the test lets its password_command finish.
  const std::string script = user.home() + "/pw.sh";
  std::ofstream(script) << "#!/bin/sh\nwhile [ ! -e " << go << " ]; do sleep 0.05; done\necho pop3password1\n";
  chmod(script.c_str(), 0755);
  std::string rc = user.standard_rc();
  const std::string literal = "  password = \"pop3password1\"\n";
  REQUIRE(contains(rc, literal));
  rc.replace(rc.find(literal), literal.size(), "  password_command = \"" + script + "\"\n");
  user.write_rc(rc);

  auto first = std::async(std::launch::async, [&] { return user.clamfetch({}); });
  for (int i = 0; i < 300 && slurp(lock).empty(); ++i) usleep(100000);
  REQUIRE_FALSE(slurp(lock).empty());
  // The test plays a second instance that has opened the lock file and is about to lock it
  // when the first one ends.
  int fd = open(lock.c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(fd >= 0);
  std::ofstream(go) << "go\n";
  auto ended = first.get();
  INFO(ended.err);
  CHECK(ended.exit_code == 1);  // no mail
  REQUIRE(flock(fd, LOCK_EX | LOCK_NB) == 0);

  // It holds the lock: a third instance must not run beside it.
  auto third = user.clamfetch({});
  INFO(third.err);
  CHECK(third.exit_code == 8);
  struct stat by_path {}, by_fd {};
  CHECK(stat(lock.c_str(), &by_path) == 0);
  CHECK(fstat(fd, &by_fd) == 0);
  CHECK(by_path.st_ino == by_fd.st_ino);
  close(fd);
  // Once it is gone, the next instance runs.
  CHECK(user.clamfetch({}).exit_code == 1);
}
