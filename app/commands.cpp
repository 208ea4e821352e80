// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "app/commands.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

#include "app/fetchids_import.hpp"
#include "app/settings.hpp"
#include "fetch/fetch.hpp"
#include "scan/scan.hpp"

namespace clamfetch::app {

int print_version(const std::string& rcfile) {
  std::printf("clamfetch %s\n", CLAMFETCH_VERSION);
  std::printf("  %s\n", fetch::library_versions().c_str());
  std::printf("  libclamav %s\n", scan::library_version().c_str());
  // The signature database of the rc file, if there is a readable one: its version and date.
  auto config = rc::load(rcfile);
  // The engine a run would use and why (engine = auto asks the local clamd: PING).
  scan::EngineChoice engine;
  if (config && config->scan.enabled) {
    engine = scan::choose_engine(scan_engine_settings(config->scan));
    std::printf("  engine: %s\n", engine.why.c_str());
  }
  if (config && config->scan.enabled && engine.clamd.empty()) {
    std::printf("  signatures: %s\n", scan::database_description(config->scan.database).c_str());
  }
  return 0;
}

int import_fetchmailrc(const std::string& path, const std::string& fetchids) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "clamfetch: cannot read %s\n", path.c_str());
    return 5;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> warnings;
  auto toml = rc::import_fetchmailrc(text, path, warnings);
  for (const auto& w : warnings) std::fprintf(stderr, "clamfetch: warning: %s\n", w.c_str());
  if (!toml) {
    std::fprintf(stderr, "clamfetch: %s\n", toml.error().text.c_str());
    return exit_code(toml.error().kind);
  }
  std::fputs(toml->c_str(), stdout);
  std::fflush(stdout);
  // fetchmail's UID state too: without it a keep account delivers its whole mailbox again.
  bool explicit_path = !fetchids.empty();
  return import_fetchids(*toml, path + " (converted)", explicit_path ? fetchids : default_fetchids(),
                         explicit_path, state_directory());
}

static Result<std::string> read_input(const std::string& file) {
  std::ifstream disk;
  std::istream* in = &std::cin;
  if (file != "-") {
    disk.open(file, std::ios::binary);
    if (!disk) return make_error(Kind::internal, Scope::message, "Can't open file or directory");
    in = &disk;
  }
  std::ostringstream buf;
  buf << in->rdbuf();
  return buf.str();
}

// With --rcpt/--sender: what the allowlist would decide for that envelope.
static void print_allowlist_decision(const rc::Config& config, const Options& options) {
  auto allowlist = scan::Allowlist::parse(config.scan.allowlist, config.path);
  if (!allowlist) {
    std::printf("allowlist: %s\n", allowlist.error().text.c_str());
    return;
  }
  if (!config.scan.allowlist_file.empty()) {
    if (auto more = scan::Allowlist::load_file(config.scan.allowlist_file); more) allowlist->merge(*more);
  }
  std::string rcpts;
  for (const auto& r : options.rcpt) rcpts += (rcpts.empty() ? "" : ",") + r;
  bool skip = allowlist->skips(options.sender, options.rcpt);
  std::printf("allowlist: sender <%s> recipients <%s>: %s\n", options.sender.c_str(), rcpts.c_str(),
              skip ? "allowlisted, would not be scanned" : "would be scanned");
}

int scan_files(const rc::Config& config, const std::string& state_dir, const Options& options, Log& log) {
  if (!options.rcpt.empty() || !options.sender.empty()) print_allowlist_decision(config, options);
  auto scanner = scan::make_scanner(scan_settings(config.scan, state_dir), log);
  int code = 0;
  for (const auto& file : options.files) {
    auto data = read_input(file);
    if (!data) {
      std::printf("%s: %s ERROR\n", file.c_str(), data.error().text.c_str());
      code = 2;
      continue;
    }
    Verdict v = scanner->scan(*data);
    switch (v.status) {
      case Verdict::Status::infected:
        std::printf("%s: %s FOUND\n", file.c_str(), v.virus.c_str());
        if (code == 0) code = 1;
        break;
      case Verdict::Status::error:
        std::printf("%s: %s ERROR\n", file.c_str(), v.reason.c_str());
        code = 2;
        break;
      case Verdict::Status::oversize:
        std::printf("%s: OK (not scanned: larger than max_file_size)\n", file.c_str());
        break;
      case Verdict::Status::limits:
        // clamscan without --alert-exceeds-max: OK.
        std::printf("%s: OK (%s)\n", file.c_str(), v.reason.c_str());
        break;
      default:
        std::printf("%s: OK\n", file.c_str());
        break;
    }
  }
  std::fflush(stdout);
  return code;
}

int quit_daemon(const std::string& state_dir) {
  // Only a pid that holds the lock is signalled: the file may name a process that died
  // without cleaning up, and that pid may since belong to anything.
  long pid = InstanceLock::running_pid(state_dir);
  if (pid <= 0) {
    long named = InstanceLock::holder(state_dir);
    std::string stale = named > 0 ? " (the lock file names pid " + std::to_string(named) +
                                        ", which does not hold the lock: not signalled)" : "";
    std::fprintf(stderr, "clamfetch: no clamfetch daemon is running%s\n", stale.c_str());
    return 1;
  }
  kill(static_cast<pid_t>(pid), SIGTERM);
  for (int i = 0; i < 600 && kill(static_cast<pid_t>(pid), 0) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (kill(static_cast<pid_t>(pid), 0) == 0) {
    std::fprintf(stderr, "clamfetch: daemon (pid %ld) did not stop within 60 s\n", pid);
    return 23;
  }
  std::fprintf(stderr, "clamfetch: background clamfetch at %ld terminated.\n", pid);
  return 0;
}

}  // namespace clamfetch::app
