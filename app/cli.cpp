// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "app/cli.hpp"

#include <getopt.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

namespace clamfetch::app {
namespace {

enum LongOnly {
  kIdle = 1000, kInvisible, kSyslog, kNoSyslog, kImport, kCheckConfig, kScan, kNoScan,
  kQuarantine, kQuarantineShow, kRelease, kTo, kQuarantineDelete, kRcpt, kSender, kFetchids,
  kDoctor,
  kOAuthLogin,
};

const option kLongOptions[] = {
    {"rcfile", required_argument, nullptr, 'f'},
    {"verbose", no_argument, nullptr, 'v'},
    {"silent", no_argument, nullptr, 's'},
    {"all", no_argument, nullptr, 'a'},
    {"keep", no_argument, nullptr, 'k'},
    {"nokeep", no_argument, nullptr, 'K'},
    {"check", no_argument, nullptr, 'c'},
    {"limit", required_argument, nullptr, 'l'},
    {"fetchlimit", required_argument, nullptr, 'B'},
    {"batchlimit", required_argument, nullptr, 'b'},
    {"timeout", required_argument, nullptr, 't'},
    {"daemon", required_argument, nullptr, 'd'},
    {"quit", no_argument, nullptr, 'q'},
    {"nodetach", no_argument, nullptr, 'N'},
    {"logfile", required_argument, nullptr, 'L'},
    {"version", no_argument, nullptr, 'V'},
    {"help", no_argument, nullptr, 'h'},
    {"idle", no_argument, nullptr, kIdle},
    {"invisible", no_argument, nullptr, kInvisible},
    {"syslog", no_argument, nullptr, kSyslog},
    {"nosyslog", no_argument, nullptr, kNoSyslog},
    {"import-fetchmailrc", required_argument, nullptr, kImport},
    {"fetchids", required_argument, nullptr, kFetchids},
    {"check-config", no_argument, nullptr, kCheckConfig},
    {"scan", no_argument, nullptr, kScan},
    {"no-scan", no_argument, nullptr, kNoScan},
    {"quarantine", no_argument, nullptr, kQuarantine},
    {"quarantine-show", required_argument, nullptr, kQuarantineShow},
    {"release", required_argument, nullptr, kRelease},
    {"to", required_argument, nullptr, kTo},
    {"quarantine-delete", required_argument, nullptr, kQuarantineDelete},
    {"rcpt", required_argument, nullptr, kRcpt},
    {"sender", required_argument, nullptr, kSender},
    {"doctor", no_argument, nullptr, kDoctor},
    {"oauth-login", no_argument, nullptr, kOAuthLogin},
    {nullptr, 0, nullptr, 0},
};

Error bad(const std::string& text) { return make_error(Kind::config, Scope::run, text); }

Result<unsigned long long> number(const char* option, const char* text, unsigned long long max) {
  errno = 0;
  char* end = nullptr;
  unsigned long long value = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || value > max) {
    return bad(std::string("option ") + option + ": expected a number up to " +
               std::to_string(max) + ", got '" + text + "'");
  }
  return value;
}

// Applies one parsed option; returns an error for a bad value.
Status apply(Options& o, int c, const char* arg, const char* name) {
  auto num = [&](unsigned long long max) { return number(name, arg, max); };
  switch (c) {
    case 'f': o.rcfile = arg; return {};
    case 'v': ++o.verbose; return {};
    case 's': o.silent = true; return {};
    case 'a': o.fetchall = true; return {};
    case 'k': o.keep = true; return {};
    case 'K': o.keep = false; return {};
    case 'c': o.check = true; return {};
    case 'N': o.nodetach = true; return {};
    case 'L': o.logfile = arg; return {};
    case 'q': o.command = Command::quit_daemon; return {};
    case 'V': o.command = Command::version; return {};
    case 'h': o.command = Command::help; return {};
    case kIdle: o.idle = true; return {};
    case kInvisible: o.invisible = true; return {};
    case kSyslog: o.syslog = true; return {};
    case kNoSyslog: o.syslog = false; return {};
    case kNoScan: o.no_scan = true; return {};
    case kCheckConfig: o.command = Command::check_config; return {};
    case kScan: o.command = Command::scan_files; return {};
    case kImport: o.command = Command::import_fetchmailrc; o.import_file = arg; return {};
    case kFetchids: o.fetchids_file = arg; return {};
    case kQuarantine: o.command = Command::quarantine_list; return {};
    case kQuarantineShow: o.command = Command::quarantine_show; o.quarantine_id = arg; return {};
    case kRelease: o.command = Command::release; o.quarantine_id = arg; return {};
    case kTo: o.release_to = arg; return {};
    // "--quarantine-delete --all": getopt hands "--all" over as the value.
    case kQuarantineDelete:
      o.command = Command::quarantine_delete;
      o.quarantine_id = std::string(arg) == "--all" || std::string(arg) == "-a" ? "*" : arg;
      return {};
    case kRcpt: o.rcpt.push_back(arg); return {};
    case kSender: o.sender = arg; return {};
    case kDoctor: o.command = Command::doctor; return {};
    case kOAuthLogin: o.command = Command::oauth_login; return {};
    default: break;
  }
  auto value = num(c == 'l' ? ULLONG_MAX : INT_MAX);
  if (!value) return value.error();
  switch (c) {
    case 'l': o.limit = *value; break;
    case 'B': o.fetchlimit = static_cast<unsigned>(*value); break;
    case 'b': o.batchlimit = static_cast<unsigned>(*value); break;
    case 't': o.timeout = static_cast<int>(*value); break;
    case 'd': o.daemon_seconds = static_cast<unsigned>(*value); break;
    default: return bad("unknown option");
  }
  return {};
}

// The option's name as typed, for messages: "-t" or "--timeout".
std::string option_name(int c, int long_index) {
  if (long_index >= 0) return std::string("--") + kLongOptions[long_index].name;
  return std::string("-") + static_cast<char>(c);
}

}  // namespace

Result<Options> parse_args(int argc, char** argv) {
  Options o;
  optind = 1;
  opterr = 0;
  for (;;) {
    int long_index = -1;
    int c = getopt_long(argc, argv, ":f:vsakKcl:B:b:t:d:qNL:Vh", kLongOptions, &long_index);
    if (c == -1) break;
    if (c == '?') {
      std::string what = optopt != 0 ? std::string("-") + static_cast<char>(optopt) : argv[optind - 1];
      return bad("unknown option " + what + " (see clamfetch --help)");
    }
    if (c == ':') return bad(std::string("option ") + argv[optind - 1] + " needs a value");
    auto applied = apply(o, c, optarg, option_name(c, long_index).c_str());
    if (!applied) return applied.error();
  }
  for (int i = optind; i < argc; ++i) {
    (o.command == Command::scan_files ? o.files : o.servers).push_back(argv[i]);
  }
  if (o.command == Command::scan_files && o.files.empty()) {
    return bad("--scan needs at least one FILE (or - for standard input)");
  }
  if (o.silent && o.verbose > 0) return bad("-s/--silent and -v/--verbose exclude each other");
  if (!o.fetchids_file.empty() && o.command != Command::import_fetchmailrc) {
    return bad("--fetchids goes with --import-fetchmailrc FILE");
  }
  if (o.idle && !o.daemon_seconds) return bad("--idle works in daemon mode only: add -d SECS");
  return o;
}

std::string usage() {
  return R"(usage: clamfetch [options] [server ...]
Fetch mail over POP3/IMAP, scan it with ClamAV, deliver it to the local MTA.

  -f, --rcfile FILE     rc file (default $CLAMFETCH_HOME/clamfetch.toml, else ~/.clamfetch.toml)
  -v, --verbose         more output; twice: protocol trace (passwords masked)
  -s, --silent          errors only
  -a, --all             fetch all messages, also those seen before
  -k, --keep            keep messages on the server
  -K, --nokeep          delete retrieved messages from the server
  -c, --check           only report whether mail waits; exit 0 if any, 1 if none
  -l, --limit BYTES     leave messages larger than this on the server
  -B, --fetchlimit N    at most N messages per account per poll
  -b, --batchlimit N    reconnect to the MTA after N messages
  -t, --timeout SECS    network timeout
  -d, --daemon SECS     poll every SECS seconds; -q/--quit stops a running daemon
  -N, --nodetach        stay in the foreground in daemon mode
      --idle            IMAP IDLE in daemon mode
      --invisible       add no Received header
      --syslog, --nosyslog, -L/--logfile FILE
      --import-fetchmailrc FILE [--fetchids IDS]  print the TOML equivalent of a
                        fetchmailrc; import fetchmail's seen UIDs (IDS, default
                        $FETCHMAILHOME/.fetchids or ~/.fetchids) for its POP3 accounts
      --check-config    validate the rc file and print the effective configuration
      --doctor [server...]  check the setup step by step (DNS, TLS, login, folders,
                        MTA recipients, scanner, state); fetches and delivers nothing
      --oauth-login [account...]  sign in to the OAuth2 provider of each account with a
                        [poll.user.oauth] table (or those named) and store its refresh token
      --scan FILE...    scan local message files (clamscan's output and exit codes)
      --no-scan         deliver without scanning (benchmarks; X-Virus-Status: Unscanned)
      --rcpt ADDR, --sender ADDR  with --scan: also print the allowlist decision
      --quarantine      list quarantined messages (id first)
      --quarantine-show ID        the facts and header block of one
      --release ID [--to ADDR]    deliver the original to its recipients (or ADDR), unscanned
      --quarantine-delete ID|--all
  -V, --version, -h, --help

Exit codes (fetchmail's): 0 mail retrieved, 1 no mail, 2 connect/TLS error, 3 auth failed,
4 protocol error, 5 syntax error, 6 rc file permissions, 7 server error or timeout,
8 another instance running, 9 lock busy on server, 10 SMTP error, 11 DNS error,
13 fetchlimit reached, 14 server busy, 23 internal error.
)";
}

}  // namespace clamfetch::app
