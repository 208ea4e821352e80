// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "app/virus_action.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>
#include <vector>

#include "core/child_signals.hpp"
#include "core/text.hpp"

namespace clamfetch::app {
namespace {

// Waits for `pid` up to the timeout; kills it after that. Returns the wait status, or -1.
int wait_bounded(pid_t pid, int timeout_seconds) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  int status = 0;
  while (std::chrono::steady_clock::now() < until) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

}  // namespace

void run_virus_action(const std::string& command, const deliver::ReportFacts& facts, Log& log,
                      int timeout_seconds) {
  std::vector<std::string> args;
  std::istringstream words(command);
  for (std::string w; words >> w;) args.push_back(w);
  if (args.empty()) return;
  for (const auto& a : {facts.virus, facts.key, facts.sender, join(facts.recipients, ","), facts.subject,
                        facts.message_id, facts.date}) {
    args.push_back(a);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) {
    log.error("virus_action: cannot fork for " + facts.key);
    return;
  }
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) { dup2(devnull, 0); dup2(devnull, 1); }
    restore_default_signals();
    execvp(argv[0], argv.data());
    _exit(127);
  }
  int status = wait_bounded(pid, timeout_seconds);
  if (status == -1) {
    log.error("virus_action " + args[0] + " for " + facts.key + " timed out after " +
              std::to_string(timeout_seconds) + "s and was killed");
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    log.error("virus_action " + args[0] + " for " + facts.key + " failed (status " +
              std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)) + ")");
  }
}

}  // namespace clamfetch::app
