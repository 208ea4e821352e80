// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// The commands besides a single poll: --version, --import-fetchmailrc, --scan, -q, -d.

#include <string>
#include <vector>

#include "app/cli.hpp"
#include "app/lock.hpp"
#include "core/log.hpp"
#include "rc/rc.hpp"

namespace clamfetch::app {

/// --version: clamfetch's, libetpan's, libclamav's and OpenSSL's versions, and the rc file's
/// signature database (version and date from its headers) when one is readable. Exit 0.
int print_version(const std::string& rcfile);

/// --import-fetchmailrc FILE [--fetchids IDS]: the TOML on stdout, warnings on stderr; then
/// fetchmail's UIDs from IDS (empty: default_fetchids()) into the UID store
/// (import_fetchids()). Exit 0, or import_fetchids()'s code, or 5.
int import_fetchmailrc(const std::string& path, const std::string& fetchids);

/// --scan FILE...: clamscan's output ("FILE: OK", "FILE: NAME FOUND") and exit codes
/// (0 all clean, 1 something found, 2 an error).
int scan_files(const rc::Config& config, const std::string& state_dir, const Options& options, Log& log);

/// --quarantine: one line per entry (id, date, account, sender, recipients, virus, size).
int quarantine_list(const rc::Config& config, const std::string& state_dir);
/// --quarantine-show ID: the facts and the original's header block. Exit 1: no such id.
int quarantine_show(const rc::Config& config, const std::string& state_dir, const std::string& id);
/// --release ID [--to ADDRESS]: deliver the original, unscanned, with X-Virus-Status:
/// Released; the entry goes only after the MTA's 2xx. Exit 10 when the MTA did not take it.
int quarantine_release(const rc::Config& config, const std::string& state_dir, const std::string& id,
                       const std::string& to, Log& log);
/// --quarantine-delete ID, or every entry for "*".
int quarantine_delete(const rc::Config& config, const std::string& state_dir, const std::string& id);

/// -q: stop the daemon whose pid is in the state directory's lock file. Exit 0 when it
/// stopped, 1 when none was running.
int quit_daemon(const std::string& state_dir);

/// -d SECS: poll every SECS seconds until SIGTERM/SIGINT; SIGUSR1 polls at once; SIGHUP
/// re-reads the rc file (keeping the old configuration if the new one is invalid).
/// With options.idle (--idle) each IMAP account waits in IMAP IDLE on a connection and thread
/// of its own and is polled as soon as the server announces new mail (see daemon.cpp).
/// Detaches unless options.nodetach. Returns the exit code of the last interval poll.
int run_daemon(const std::string& rcfile, const Options& options, const std::string& state_dir,
               InstanceLock& lock, Log& log);

}  // namespace clamfetch::app
