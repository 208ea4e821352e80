// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// resolve_password(): the literal password, or the first line printed by password_command.
// The command runs without a shell unless it uses shell syntax, in its own process group so
// that a timeout kills everything it started. Its output is a secret: never in an error.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>
#include <thread>

#include "core/child_signals.hpp"
#include "rc/fd.hpp"
#include "rc/rc.hpp"

namespace clamfetch::rc {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxOutput = 64 * 1024;
constexpr std::string_view kShellCharacters = "|&;<>()$`\\\"'*?[]{}~";

Error auth_error(std::string text) { return make_error(Kind::auth, Scope::account, std::move(text)); }

/// The argv to exec: split on whitespace, or /bin/sh -c when the command needs a shell.
std::vector<std::string> command_argv(const std::string& command) {
  if (command.find_first_of(kShellCharacters) != std::string::npos) return {"/bin/sh", "-c", command};
  std::vector<std::string> argv;
  size_t pos = 0;
  while ((pos = command.find_first_not_of(" \t\n", pos)) != std::string::npos) {
    size_t end = command.find_first_of(" \t\n", pos);
    argv.push_back(command.substr(pos, end - pos));
    pos = end;
  }
  return argv;
}

/// Child side of fork: only async-signal-safe calls. Never returns.
[[noreturn]] void exec_child(int out_fd, char* const* argv) {
  ::setpgid(0, 0);
  restore_default_signals();
  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
  ::dup2(out_fd, STDOUT_FILENO);
  ::execvp(argv[0], argv);
  ::_exit(127);
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

/// Read the child's stdout until EOF; false when the deadline passed first.
bool read_output(int fd, Clock::time_point deadline, std::string& out) {
  char buffer[4096];
  for (;;) {
    pollfd pfd{fd, POLLIN, 0};
    int ready = ::poll(&pfd, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    if (out.size() < kMaxOutput) out.append(buffer, static_cast<size_t>(n));
  }
}

/// Reap the child; false when the deadline passed first.
bool wait_child(pid_t pid, Clock::time_point deadline, int& status) {
  for (;;) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return true;
    if (done < 0 && errno != EINTR) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void kill_group(pid_t pid) {
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

/// `key` names the rc key in errors ("password_command"); `printed` what its line is.
Result<std::string> run_command(const std::string& command, const std::string& account, int timeout,
                                const char* key = "password_command", const char* printed = "password") {
  std::string what = std::string(key) + " for " + account;
  std::vector<std::string> args = command_argv(command);
  if (args.empty()) return auth_error(what + " is empty");
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return auth_error(what + ": pipe: " + std::strerror(errno));
  detail::Fd read_end(fds[0]);
  detail::Fd write_end(fds[1]);
  auto deadline = Clock::now() + std::chrono::seconds(timeout);
  pid_t pid = ::fork();
  if (pid < 0) return auth_error(what + ": fork: " + std::strerror(errno));
  if (pid == 0) exec_child(write_end.get(), argv.data());
  ::setpgid(pid, pid);  // also here: no race with a kill before the child ran setpgid
  write_end.reset();

  std::string output;
  int status = 0;
  if (!read_output(read_end.get(), deadline, output) || !wait_child(pid, deadline, status)) {
    kill_group(pid);
    return auth_error(what + " timed out after " + std::to_string(timeout) + "s");
  }
  if (WIFSIGNALED(status)) return auth_error(what + " failed (signal " + std::to_string(WTERMSIG(status)) + ")");
  if (WEXITSTATUS(status) != 0) return auth_error(what + " failed (exit " + std::to_string(WEXITSTATUS(status)) + ")");
  std::string password = output.substr(0, output.find('\n'));
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) return auth_error(what + " printed no " + printed);
  return password;
}

}  // namespace

Result<std::string> resolve_password(const User& user, const std::string& account, int timeout_seconds) {
  if (user.password_command.empty()) return user.password;
  return run_command(user.password_command, account, timeout_seconds > 0 ? timeout_seconds : 1);
}

Result<std::string> run_token_command(const User& user, const std::string& account, int timeout_seconds) {
  if (!user.oauth || user.oauth->token_command.empty()) {
    return auth_error("no token_command for " + account);
  }
  return run_command(user.oauth->token_command, account, timeout_seconds > 0 ? timeout_seconds : 1,
                     "token_command", "access token");
}

Result<std::string> resolve_client_secret(const User& user, const std::string& account, int timeout_seconds) {
  if (!user.oauth) return auth_error("no [poll.user.oauth] for " + account);
  if (user.oauth->client_secret_command.empty()) return user.oauth->client_secret;
  return run_command(user.oauth->client_secret_command, account, timeout_seconds > 0 ? timeout_seconds : 1,
                     "client_secret_command", "client secret");
}

}  // namespace clamfetch::rc
