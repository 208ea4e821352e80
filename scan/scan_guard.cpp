// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "scan/scan_guard.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <set>
#include <sstream>
#include <system_error>

#include "core/atomic_file.hpp"
#include "core/escape.hpp"

// Journal lines (scan-journal):           Suspects file (scan-suspects):
//   + <id>      scan started                 clamfetch-scan-suspects 2
//   - <id>      scan returned                poison <id>   (the scanner crashed on it)
//   c <id>      message acknowledged: forget it                hung <id>     (its scan hung)
//   crash <id>  written by the crash-signal handler of the thread scanning <id>
//   hang <id>   written by the watchdog before it ends a run whose scan of <id> overran
// <id> is "account-key folder uid", each part %XX-escaped so it has no space or control byte.

namespace clamfetch::scan {
namespace {

constexpr char kHeader[] = "clamfetch-scan-suspects 2";
constexpr int kCrashSignals[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};
constexpr int kSignalCount = sizeof kCrashSignals / sizeof kCrashSignals[0];
constexpr std::size_t kAltStackSize = 64 * 1024;

using Standings = std::map<std::string, ScanGuard::Standing>;

// What the signal handler may touch: plain globals and trivially constructed thread_locals,
// nothing that allocates or locks. One guard per process (see open()).
std::atomic<int> g_journal_fd{-1};
struct sigaction g_previous[kSignalCount];
thread_local const char* tl_crash_line = nullptr;
thread_local std::size_t tl_crash_length = 0;

void on_crash_signal(int sig, siginfo_t* info, void*) {
  int fd = g_journal_fd.load();
  if (fd >= 0 && tl_crash_line != nullptr) {
    [[maybe_unused]] ssize_t n = ::write(fd, tl_crash_line, tl_crash_length);
  }
  // Hand the signal to whoever had it before (the default action: die). A fault (si_code > 0)
  // repeats by itself when we return; a sent signal (abort()) is raised again.
  for (int i = 0; i < kSignalCount; ++i) {
    if (kCrashSignals[i] == sig) ::sigaction(sig, &g_previous[i], nullptr);
  }
  if (info == nullptr || info->si_code <= 0) ::raise(sig);
}

void install_handlers() {
  struct sigaction action {};
  action.sa_sigaction = on_crash_signal;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  for (int i = 0; i < kSignalCount; ++i) ::sigaction(kCrashSignals[i], &action, &g_previous[i]);
}

void restore_handlers() {
  for (int i = 0; i < kSignalCount; ++i) ::sigaction(kCrashSignals[i], &g_previous[i], nullptr);
}

// A scanning thread gets an alternate signal stack once, so that a scan dying of a stack
// overflow still runs the handler; it is switched off and freed when the thread ends.
struct AltStack {
  std::unique_ptr<char[]> memory;
  ~AltStack() {
    if (!memory) return;
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    ::sigaltstack(&off, nullptr);
  }
};
thread_local AltStack tl_alt_stack;  // never touched by the handler

void ensure_alt_stack() {
  if (tl_alt_stack.memory) return;
  auto memory = std::make_unique<char[]>(kAltStackSize);
  stack_t stack{};
  stack.ss_sp = memory.get();
  stack.ss_size = kAltStackSize;
  if (::sigaltstack(&stack, nullptr) == 0) tl_alt_stack.memory = std::move(memory);
}

Error state_error(const std::string& what, const std::string& path, int err) {
  return make_error(Kind::state, Scope::run, what + " " + path + ": " + std::strerror(err));
}

Result<std::string> read_if_present(const std::string& path) {
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) return std::string();
  return read_file(path);
}

Result<Standings> parse_suspects(const std::string& text, const std::string& path) {
  Standings blamed;
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (number == 1 && line == kHeader) continue;
    if (line.starts_with("poison ") && line.size() > 7) {
      blamed[line.substr(7)] = ScanGuard::Standing::poison;
    } else if (line.starts_with("hung ") && line.size() > 5) {
      blamed[line.substr(5)] = ScanGuard::Standing::hung;
    } else {
      return make_error(Kind::state, Scope::run, path + ":" + std::to_string(number) + ": corrupt line");
    }
  }
  return blamed;
}

std::string serialize(const Standings& blamed) {
  std::string text = std::string(kHeader) + "\n";
  for (const auto& [id, standing] : blamed) {
    text += (standing == ScanGuard::Standing::hung ? "hung " : "poison ") + id + "\n";
  }
  return text;
}

// Applies a dead (or finished) run's journal to the blamed messages; logs what it learnt.
void fold(const std::string& journal, Standings& blamed, Log& log) {
  std::set<std::string> open, crashed, hung;
  std::istringstream lines(journal);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("+ ")) open.insert(line.substr(2));
    else if (line.starts_with("- ")) open.erase(line.substr(2));
    else if (line.starts_with("c ")) blamed.erase(line.substr(2));
    else if (line.starts_with("crash ")) crashed.insert(line.substr(6));
    else if (line.starts_with("hang ")) hung.insert(line.substr(5));
    // Anything else is a line torn by the death itself: nothing to learn from it.
  }
  for (const auto& id : crashed) {
    blamed[id] = ScanGuard::Standing::poison;
    log.error("the scanner crashed on message " + id + " in an earlier run: from now on it is "
              "treated as a scan failure (on_fail applies)");
  }
  for (const auto& id : hung) {
    if (crashed.count(id) != 0) continue;
    blamed[id] = ScanGuard::Standing::hung;
    log.error("the scan of message " + id + " hung in an earlier run (longer than scan_timeout): "
              "from now on it is treated as a scan failure (on_fail applies)");
  }
  // The culprit is known: the other open scans were bystanders.
  if (!crashed.empty() || !hung.empty()) return;
  for (const auto& id : open) {
    log.warning("an earlier run ended without a crash record while scanning message " + id +
                " (killed?): nothing is blamed, it will be scanned again");
  }
}

}  // namespace

std::string scan_identity(const std::string& account_key, const std::string& folder,
                          const std::string& uid) {
  return percent_escape(account_key) + " " + percent_escape(folder) + " " + percent_escape(uid);
}

Result<std::unique_ptr<ScanGuard>> ScanGuard::open(const std::string& state_dir, Log& log) {
  const std::string suspects_path = state_dir + "/scan-suspects";
  const std::string journal_path = state_dir + "/scan-journal";
  auto text = read_if_present(suspects_path);
  if (!text) return text.error();
  auto blamed = parse_suspects(*text, suspects_path);
  if (!blamed) return blamed.error();
  auto journal = read_if_present(journal_path);
  if (!journal) return journal.error();
  if (!journal->empty()) {
    fold(*journal, *blamed, log);
    // The folded state first, then a fresh journal: dying in between folds the old journal
    // again, which changes nothing.
    if (Status s = write_file_atomic(suspects_path, serialize(*blamed)); !s) return s.error();
  }
  int fd = ::open(journal_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return state_error("cannot open", journal_path, errno);
  return std::unique_ptr<ScanGuard>(new ScanGuard(state_dir, fd, std::move(*blamed), log));
}

ScanGuard::ScanGuard(std::string dir, int journal_fd, std::map<std::string, Standing> standings, Log& log)
    : dir_(std::move(dir)), journal_fd_(journal_fd), log_(log), standings_(std::move(standings)) {
  g_journal_fd.store(journal_fd_);
  install_handlers();
}

ScanGuard::~ScanGuard() {
  watchdog_.reset();
  restore_handlers();
  g_journal_fd.store(-1);
  ::close(journal_fd_);
}

ScanGuard::Standing ScanGuard::standing(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = standings_.find(id);
  return it == standings_.end() ? Standing::fine : it->second;
}

void ScanGuard::append(const std::string& line) {
  // One write() of a short line to an O_APPEND file: lines of parallel workers never mix.
  ssize_t n = ::write(journal_fd_, line.data(), line.size());
  if (n == static_cast<ssize_t>(line.size())) return;
  int err = n < 0 ? errno : ENOSPC;
  std::lock_guard lock(mutex_);
  if (write_failed_) return;
  write_failed_ = true;
  log_.warning("cannot write " + dir_ + "/scan-journal (" + std::strerror(err) +
               "): scanning without poison-message protection");
}

std::unique_ptr<ScanGuard::Scanning> ScanGuard::begin(const std::string& id) {
  return begin(id, id);
}

std::unique_ptr<ScanGuard::Scanning> ScanGuard::begin(const std::string& id, const std::string& label) {
  return std::unique_ptr<Scanning>(new Scanning(*this, id, label));
}

void ScanGuard::watch_hangs(std::chrono::milliseconds timeout, std::function<void()> on_hang) {
  on_hang_ = std::move(on_hang);
  try {
    watchdog_ = std::make_unique<ScanWatchdog>(
        timeout, [this](const ScanWatchdog::Overrun& overrun) { end_hung_run(overrun); });
  } catch (const std::system_error& e) {
    log_.error(std::string("cannot start the scan watchdog (") + e.what() +
               "): a scan that hangs will not be stopped");
  }
}

std::unique_ptr<ScanWatchdog::Watch> ScanGuard::watch_unblamed(const std::string& label) {
  return watchdog_ ? watchdog_->watch("", label) : nullptr;
}

// A thread stuck inside libclamav cannot be cancelled: the run ends here, once on_hang (the
// poller: nothing new reaches the end of DATA, deliveries past it get a few seconds to be
// recorded, so that ending duplicates nothing) returned. An overrun without an id
// (watch_unblamed: the database load) blames no message.
void ScanGuard::end_hung_run(const ScanWatchdog::Overrun& overrun) {
  long ms = static_cast<long>(overrun.timeout.count());
  std::string after = ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
  if (overrun.id.empty()) {
    log_.error(overrun.label + " still running after " + after +
               " (scan_timeout): ending this run; no message is blamed");
  } else {
    append("hang " + overrun.id + "\n");
    log_.error("scan of " + overrun.label + " still running after " + after +
               " (scan_timeout): ending this run; from the next run the message is handled by on_fail");
  }
  if (on_hang_) on_hang_();
  ::_exit(exit_code(Kind::scan));
}

void ScanGuard::forget(const std::string& id) {
  {
    std::lock_guard lock(mutex_);
    if (standings_.erase(id) == 0) return;
  }
  append("c " + id + "\n");
}

ScanGuard::Scanning::Scanning(ScanGuard& guard, const std::string& id, const std::string& label)
    : guard_(guard), crash_line_("crash " + id + "\n") {
  ensure_alt_stack();
  guard_.append("+ " + id + "\n");
  tl_crash_line = crash_line_.data();
  tl_crash_length = crash_line_.size();
  if (guard_.watchdog_) watch_ = guard_.watchdog_->watch(id, label);
}

ScanGuard::Scanning::~Scanning() {
  watch_.reset();
  tl_crash_line = nullptr;
  tl_crash_length = 0;
  guard_.append("- " + crash_line_.substr(6));
}

}  // namespace clamfetch::scan
