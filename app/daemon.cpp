// Daemon mode: poll every N seconds; signals are taken synchronously with sigtimedwait
// between polls, so a poll in progress always finishes the messages in hand.

#include <fcntl.h>
#include <cerrno>
#include <signal.h>
#include <unistd.h>

#include <ctime>
#include <memory>

#include "app/commands.hpp"
#include "app/poller.hpp"
#include "app/settings.hpp"

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
  for (int sig : {SIGHUP, SIGUSR1, SIGTERM, SIGINT}) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto poller = std::make_unique<Poller>(*config, state_dir, log);
  PollOptions poll_options{false, options.servers};
  log.info("starting clamfetch " CLAMFETCH_VERSION " daemon, polling every " +
           std::to_string(*options.daemon_seconds) + " seconds");
  int code = 1;
  for (;;) {
    code = poller->poll_once(poll_options);
    int sig = wait_signal(set, *options.daemon_seconds);
    if (sig == SIGTERM || sig == SIGINT) break;
    if (sig != SIGHUP) continue;
    auto reloaded = rc::load(rcfile);
    if (!reloaded) {
      log.error("rc file not reloaded, keeping the running configuration: " + reloaded.error().text);
      continue;
    }
    poller.reset();
    config = std::make_unique<rc::Config>(apply_overrides(std::move(*reloaded), options));
    poller = std::make_unique<Poller>(*config, state_dir, log);
    log.info("rc file " + rcfile + " reloaded");
  }
  log.info("terminated by signal, exiting");
  return code;
}

}  // namespace clamfetch::app
