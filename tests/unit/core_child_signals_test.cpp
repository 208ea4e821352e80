// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// restore_default_signals(): what a forked child runs before exec. Checked in a child of the
// test (it changes the whole process's signal state), which reports through its exit status.

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/child_signals.hpp"

namespace {

// In a fresh child: set up the daemon's state, restore, exit 0 only if nothing is left.
int child_status_after_restore() {
  pid_t pid = fork();
  if (pid == 0) {
    sigset_t blocked;
    sigemptyset(&blocked);
    for (int sig : {SIGHUP, SIGINT, SIGUSR1, SIGTERM}) sigaddset(&blocked, sig);
    sigprocmask(SIG_BLOCK, &blocked, nullptr);
    signal(SIGPIPE, SIG_IGN);
    clamfetch::restore_default_signals();
    sigset_t now;
    sigprocmask(SIG_SETMASK, nullptr, &now);
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sigismember(&now, sig) == 1) _exit(1);
    }
    struct sigaction pipe_action {};
    sigaction(SIGPIPE, nullptr, &pipe_action);
    _exit(pipe_action.sa_handler == SIG_DFL ? 0 : 2);
  }
  int status = -1;
  waitpid(pid, &status, 0);
  return status;
}

}  // namespace

TEST_CASE("a child gets an empty signal mask and SIGPIPE's default back", "[core][child_signals]") {
  int status = child_status_after_restore();
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);  // 1: a signal still blocked, 2: SIGPIPE still ignored
}
