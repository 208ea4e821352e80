// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// clamfetch: fetch mail over POP3/IMAP, scan it with ClamAV, deliver it to the local MTA.
// A straight pipeline of named steps; each module does its part and returns a Result.

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/cli.hpp"
#include "app/commands.hpp"
#include "app/doctor.hpp"
#include "app/oauth_tokens.hpp"
#include "app/lock.hpp"
#include "app/poller.hpp"
#include "app/settings.hpp"
#include "core/log.hpp"
#include "rc/rc.hpp"

#ifdef CLAMFETCH_FAULT_INJECTION
#include "tests/hooks/fault_injection.hpp"
#endif

using namespace clamfetch;
using namespace clamfetch::app;

namespace {

// Prints each line of the error (the rc parser reports several at once) and maps it to
// fetchmail's exit code.
int fail(const Error& e) {
  std::size_t start = 0;
  while (start <= e.text.size()) {
    std::size_t end = e.text.find('\n', start);
    if (end == std::string::npos) end = e.text.size();
    std::fprintf(stderr, "clamfetch: %.*s\n", static_cast<int>(end - start), e.text.c_str() + start);
    start = end + 1;
  }
  return exit_code(e.kind);
}

// Logging as the rc file and options ask: level from -v/-s, then syslog or a log file.
Status setup_log(Log& log, const rc::Config& config, const Options& options) {
  if (options.silent) log.set_level(Level::error);
  if (options.verbose >= 1) log.set_level(Level::verbose);
  if (options.verbose >= 2) log.enable_trace(~0u);
  if (!config.global.logfile.empty()) return log.use_file(config.global.logfile);
  if (config.global.syslog) log.use_syslog();
  return {};
}

// Hundreds of accounts in one daemon hold a server connection, an MTA connection and state
// files each: the soft limit on open files (often 1024) goes up to the hard limit at start.
// A hard limit too low for the accounts is said plainly instead of failing as EMFILE later.
void raise_fd_limit(const rc::Config& config, Log& log) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    rlim_t before = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) == 0) {
      log.verbose("file descriptors: soft limit raised from " + std::to_string(before) + " to " +
                  std::to_string(limit.rlim_max));
    } else {
      limit.rlim_cur = before;
    }
  }
  std::size_t accounts = 0;
  for (const auto& poll : config.polls) accounts += poll.users.size();
  rlim_t wanted = 64 + 4 * static_cast<rlim_t>(accounts);  // server, MTA, store, journal
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted) {
    log.warning("WARNING: the open file limit is " + std::to_string(limit.rlim_cur) + ", " +
                std::to_string(accounts) + " accounts may need " + std::to_string(wanted) +
                " (raise the hard limit: ulimit -Hn, LimitNOFILE= in a systemd unit)");
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Before any secret is read (rc file passwords, password_command output): no core dump
  // can carry a password, and no other process of the same user may ptrace us or read
  // /proc/PID/mem (non-dumpable processes' /proc files belong to root). Kept for the whole
  // run: a daemon holds its passwords all along. Cost: no core files for post-mortems.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#ifdef CLAMFETCH_FAULT_INJECTION
  // Test build only: the kill trials' and poison-message trials' switches, read once here.
  testing::install_fault_injection_from_environment();
#endif
  // A write to a peer that went away must be an error, not the end of the process.
  signal(SIGPIPE, SIG_IGN);

  auto parsed = parse_args(argc, argv);
  if (!parsed) return fail(parsed.error());
  const Options& options = *parsed;

  // Commands that need no rc file.
  switch (options.command) {
    case Command::help: std::fputs(usage().c_str(), stdout); return 0;
    case Command::version: return print_version(options.rcfile.empty() ? default_rcfile() : options.rcfile);
    case Command::import_fetchmailrc: return import_fetchmailrc(options.import_file, options.fetchids_file);
    case Command::quit_daemon: return quit_daemon(state_directory());
    default: break;
  }

  // The rc file: permissions first (exit 6), then syntax (exit 5).
  std::string rcfile = options.rcfile.empty() ? default_rcfile() : options.rcfile;
  auto loaded = rc::load(rcfile);
  if (!loaded) return fail(loaded.error());
  const rc::Config config = apply_overrides(std::move(*loaded), options);

  if (options.command == Command::check_config) {
    std::fputs(rc::describe(config).c_str(), stdout);
    return 0;
  }

  Log log;
  if (auto ready = setup_log(log, config, options); !ready) return fail(ready.error());
  if (geteuid() == 0) log.warning("WARNING: Running as root is discouraged.");
  raise_fd_limit(config, log);
  for (const auto& poll : config.polls) {
    if (poll.tls == rc::TlsMode::none) {
      log.warning("WARNING: " + poll.server + " is polled without TLS: the password and mail cross the network in clear");
    }
  }

  std::string state_dir = state_directory();
  switch (options.command) {
    case Command::scan_files: return scan_files(config, state_dir, options, log);
    case Command::quarantine_list: return quarantine_list(config, state_dir);
    case Command::quarantine_show: return quarantine_show(config, state_dir, options.quarantine_id);
    case Command::release:
      return quarantine_release(config, state_dir, options.quarantine_id, options.release_to, log);
    case Command::quarantine_delete: return quarantine_delete(config, state_dir, options.quarantine_id);
    // Takes no lock: it changes nothing, so it may run next to a cron run or a daemon.
    case Command::doctor: return doctor::run_doctor(config, options.servers, state_dir, stdout);
    // No lock either: the token file is replaced atomically and a daemon rereads it.
    case Command::oauth_login: return oauth_login(config, options.servers, state_dir, stdout);
    default: break;
  }

  // One instance per state directory: cron overlap is harmless.
  auto lock = InstanceLock::acquire(state_dir);
  if (!lock) return fail(lock.error());

  if (options.daemon_seconds) return run_daemon(rcfile, options, state_dir, *lock, log);
  Poller poller(config, state_dir, log);
  return poller.poll_once(PollOptions{options.check, options.servers});
}
