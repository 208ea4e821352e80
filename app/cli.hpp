// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// The command line: fetchmail's options where fetchmail has them (DESIGN.md "Command line").

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace clamfetch::app {

enum class Command {
  poll,               ///< the normal run (once, or as a daemon with -d)
  help,
  version,
  check_config,
  import_fetchmailrc,
  scan_files,
  quit_daemon,
  quarantine_list,    ///< --quarantine
  quarantine_show,    ///< --quarantine-show ID
  release,            ///< --release ID [--to ADDRESS]
  quarantine_delete,  ///< --quarantine-delete ID | --all
  doctor,             ///< --doctor [server...]: check the setup, fetch nothing
  oauth_login,        ///< --oauth-login [account...]: obtain and store OAuth2 refresh tokens
};

struct Options {
  Command command = Command::poll;
  std::string rcfile;              ///< empty: $CLAMFETCH_HOME/clamfetch.toml, else ~/.clamfetch.toml
  int verbose = 0;                 ///< -v count
  bool silent = false;
  std::optional<bool> fetchall;    ///< -a
  std::optional<bool> keep;        ///< -k (true) / -K (false)
  bool check = false;              ///< -c
  std::optional<unsigned long long> limit;       ///< -l
  std::optional<unsigned> fetchlimit;            ///< -B
  std::optional<unsigned> batchlimit;            ///< -b
  std::optional<int> timeout;                    ///< -t
  std::optional<unsigned> daemon_seconds;        ///< -d
  bool nodetach = false;           ///< -N
  bool idle = false;
  std::optional<bool> invisible;
  std::optional<bool> syslog;      ///< --syslog / --nosyslog
  std::string logfile;             ///< -L
  bool no_scan = false;            ///< --no-scan: deliver unscanned (benchmarks)
  std::string import_file;         ///< --import-fetchmailrc FILE
  std::string fetchids_file;       ///< --fetchids FILE (with --import-fetchmailrc)
  std::vector<std::string> servers;  ///< poll only these servers (--oauth-login: these accounts)
  std::vector<std::string> files;    ///< --scan FILE...
  std::string quarantine_id;         ///< --quarantine-show/--release/--quarantine-delete; "*" = --all
  std::string release_to;            ///< --to ADDRESS
  std::vector<std::string> rcpt;     ///< --scan --rcpt ADDRESS (allowlist decision)
  std::string sender;                ///< --scan --sender ADDRESS
};

/// Parse argv. Errors: Kind::config with a one-line message naming the bad option.
Result<Options> parse_args(int argc, char** argv);

/// The --help text.
std::string usage();

}  // namespace clamfetch::app
