// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Daemon mode: poll every N seconds; signals are taken synchronously with sigtimedwait
// between polls, so a poll in progress always finishes the messages in hand.
//
// --idle (IMAP IDLE, RFC 2177): every IMAP account gets an IdleWatcher, a thread of its own
// that keeps one connection open and waits in IDLE on the account's folder; when the server
// announces new mail it polls the account at once over that same connection, through the
// poller's own pipeline (Poller::poll_account: retrieve -> scan -> deliver -> acknowledge),
// then idles again. IDLE is re-issued (and the account polled) every kIdleSeconds, before
// the 29 minutes after which servers may drop an idle client. The main thread stays what it
// was: it polls the other accounts (POP3) every N seconds and is the only one to take
// signals, in sigtimedwait (the mask is set before any thread starts). It reaches a watcher
// through the watcher's eventfd, which the watcher's IDLE wait polls along with the socket:
// SIGUSR1 wakes every watcher to poll now; SIGHUP and SIGTERM stop them (a watcher finishes
// the poll in hand, ends IDLE, logs out) and join them before the configuration they point
// into goes away. A server without IDLE, an account with several folders (one connection
// can IDLE on one folder only) and a connection that failed fall back to polling every N
// seconds, from the watcher's thread, which retries IDLE after a failure.
//
// SIGUSR2 (taken by sigtimedwait like the others, so no handler runs) asks the scanner to
// check its signature database now instead of at the next [scan] self_check.

#include <fcntl.h>
#include <cerrno>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <ctime>
#include <memory>
#include <system_error>
#include <thread>
#include <vector>

#include "app/commands.hpp"
#include "app/poller.hpp"
#include "app/settings.hpp"
#include "core/deadline.hpp"

namespace clamfetch::app {
namespace {

void detach(InstanceLock& lock) {
  if (fork() > 0) _exit(0);
  setsid();
  int devnull = open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    if (devnull > 2) close(devnull);
  }
  lock.update_pid();
}

// Waits up to `seconds` for a signal. Returns the signal, or 0 when the time is up.
int wait_signal(const sigset_t& set, unsigned seconds) {
  timespec left{static_cast<time_t>(seconds), 0};
  for (;;) {
    int sig = sigtimedwait(&set, nullptr, &left);
    if (sig > 0) return sig;
    if (errno == EAGAIN) return 0;
    if (errno != EINTR) return 0;
  }
}

// Re-issue IDLE after 28 minutes: RFC 2177 lets a server log out a client idle for 29.
constexpr int kIdleSeconds = 28 * 60;

/// One IMAP account under --idle: its thread, its connection, its wake-up eventfd.
class IdleWatcher {
 public:
  /// Starts the thread (see running()). `poller` (and the configuration behind poll and
  /// user) must outlive the watcher.
  IdleWatcher(Poller& poller, const rc::Poll& poll, const rc::User& user, unsigned interval, Log& log)
      : poller_(poller), poll_(poll), user_(user), interval_(interval), log_(log),
        name_(account_name(poll, user)), wake_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (wake_ < 0) return;
    try {
      thread_ = std::thread([this] { run(); });
    } catch (const std::system_error&) {
      // running() stays false; the caller falls back to polling.
    }
  }
  /// Stops the watcher: it finishes the poll in hand, ends IDLE and logs out. Blocks until then.
  ~IdleWatcher() {
    stopping_ = true;
    if (thread_.joinable()) {
      wake();
      thread_.join();
    }
    if (wake_ >= 0) ::close(wake_);
  }
  /// False when no eventfd or no thread could be had.
  bool running() const { return thread_.joinable(); }
  IdleWatcher(const IdleWatcher&) = delete;
  IdleWatcher& operator=(const IdleWatcher&) = delete;

  /// SIGUSR1: poll the account now (ends the current IDLE or interval wait).
  void wake() {
    uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof one);
  }

 private:
  enum class Ended { stopped, failed, no_idle };

  void run();
  Ended watch();
  /// Waits up to `seconds` or until woken; consumes the wake-up.
  void wait(unsigned seconds);
  void drain() {
    uint64_t count = 0;
    (void)!::read(wake_, &count, sizeof count);
  }

  Poller& poller_;
  const rc::Poll& poll_;
  const rc::User& user_;
  unsigned interval_;
  Log& log_;
  std::string name_;
  int wake_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

void IdleWatcher::run() {
  bool idle = user_.folders.size() == 1;
  if (!idle) {
    log_.info(name_ + ": IDLE watches one folder, this account has several: polling every " +
              std::to_string(interval_) + " seconds");
  }
  while (!stopping_) {
    if (!idle) {
      poller_.poll_account(poll_, user_);
      wait(interval_);
      continue;
    }
    switch (watch()) {
      case Ended::stopped: break;
      case Ended::failed: wait(interval_); break;  // then connect again
      case Ended::no_idle:
        log_.info(name_ + ": the server offers no IDLE: polling every " + std::to_string(interval_) +
                  " seconds");
        idle = false;
        break;
    }
  }
}

// The life of one connection: poll what is waiting, then IDLE; every end of IDLE but a stop
// (new mail, the 28-minute re-issue, SIGUSR1) polls the account again over the same session.
IdleWatcher::Ended IdleWatcher::watch() {
  auto session = fetch::make_session(fetch_settings(poll_, user_), log_);
  if (auto opened = session->open(); !opened) {
    log_.error(opened.error().text);
    (void)session->close();
    return Ended::failed;
  }
  if (!session->can_idle()) {
    (void)session->close();
    return Ended::no_idle;
  }
  log_.verbose(name_ + ": waiting for new mail in IDLE");
  while (!stopping_) {
    poller_.poll_account(poll_, user_, session.get());
    if (stopping_) break;
    auto event = session->idle(kIdleSeconds, wake_);
    drain();
    if (!event) {
      log_.error(event.error().text);
      (void)session->close();
      return Ended::failed;
    }
  }
  // Commits the last poll's deletions (EXPUNGE) and logs out.
  if (auto closed = session->close(); !closed) log_.error(closed.error().text);
  return Ended::stopped;
}

void IdleWatcher::wait(unsigned seconds) {
  Deadline deadline = Deadline::after(std::max(1, static_cast<int>(seconds)));
  pollfd pfd{wake_, POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&pfd, 1, deadline.remaining_ms());
  } while (ready < 0 && errno == EINTR);
  drain();
}

using Watchers = std::vector<std::unique_ptr<IdleWatcher>>;

/// --idle: a watcher for each selected IMAP account, and `poll_options.skip_imap` set. If one
/// cannot start, none runs and the main loop polls the IMAP accounts too.
Watchers start_watchers(Poller& poller, const Options& options, PollOptions& poll_options, Log& log) {
  Watchers watchers;
  poll_options.skip_imap = false;
  if (!options.idle) return watchers;
  for (const auto& [poll, user] : poller.accounts(PollOptions{false, options.servers})) {
    if (poll->protocol != rc::Protocol::imap) continue;
    watchers.push_back(std::make_unique<IdleWatcher>(poller, *poll, *user, *options.daemon_seconds, log));
    if (!watchers.back()->running()) {
      log.error("--idle: cannot start a thread for " + account_name(*poll, *user) +
                ": polling IMAP accounts every " + std::to_string(*options.daemon_seconds) + " seconds");
      watchers.clear();
      return watchers;
    }
  }
  poll_options.skip_imap = true;
  return watchers;
}

}  // namespace

int run_daemon(const std::string& rcfile, const Options& options, const std::string& state_dir,
               InstanceLock& lock, Log& log) {
  auto first = rc::load(rcfile);
  if (!first) return exit_code(first.error().kind);
  auto config = std::make_unique<rc::Config>(apply_overrides(std::move(*first), options));
  if (!options.nodetach) {
    // Detached, stderr goes nowhere: log to syslog unless a log file was named.
    if (config->global.logfile.empty()) log.use_syslog();
    detach(lock);
  }
  // Blocked before any thread starts, so every thread inherits the mask and only
  // sigtimedwait below ever takes these signals.
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGHUP, SIGUSR1, SIGUSR2, SIGTERM, SIGINT}) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto poller = std::make_unique<Poller>(*config, state_dir, log);
  PollOptions poll_options{false, options.servers};
  log.info("starting clamfetch " CLAMFETCH_VERSION " daemon, polling every " +
           std::to_string(*options.daemon_seconds) + " seconds" +
           (options.idle ? ", IMAP accounts in IDLE" : ""));
  // Declared after the poller: destroyed (stopped and joined) before it.
  Watchers watchers = start_watchers(*poller, options, poll_options, log);
  int code = 1;
  for (;;) {
    code = poller->poll_once(poll_options);
    Deadline next_poll = Deadline::after(static_cast<int>(*options.daemon_seconds));
    int sig = wait_signal(set, *options.daemon_seconds);
    // SIGUSR2: check the signature database now (on the scanner's own thread); the next poll
    // keeps its time.
    while (sig == SIGUSR2) {
      poller->check_signatures_now();
      sig = wait_signal(set, static_cast<unsigned>((next_poll.remaining_ms() + 999) / 1000));
    }
    if (sig == SIGTERM || sig == SIGINT) break;
    if (sig == SIGUSR1) {
      for (auto& watcher : watchers) watcher->wake();
      continue;
    }
    if (sig != SIGHUP) continue;
    auto reloaded = rc::load(rcfile);
    if (!reloaded) {
      log.error("rc file not reloaded, keeping the running configuration: " + reloaded.error().text);
      continue;
    }
    // The watchers point into the old configuration: they stop before it goes.
    watchers.clear();
    poller.reset();
    config = std::make_unique<rc::Config>(apply_overrides(std::move(*reloaded), options));
    poller = std::make_unique<Poller>(*config, state_dir, log);
    watchers = start_watchers(*poller, options, poll_options, log);
    log.info("rc file " + rcfile + " reloaded");
  }
  watchers.clear();
  log.info("terminated by signal, exiting");
  return code;
}

}  // namespace clamfetch::app
