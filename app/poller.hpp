#pragma once
// The poller: walks the accounts (global.parallel at once) through
// retrieve -> scan -> route -> deliver -> acknowledge, and turns the outcome into an exit code.

#include <memory>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "rc/rc.hpp"
#include "scan/scan.hpp"

namespace clamfetch::app {

struct PollOptions {
  bool check_only = false;            ///< -c: count waiting mail, download nothing
  std::vector<std::string> servers;   ///< poll only these (empty: all)
};

class Poller {
 public:
  /// The scanner (unless scanning is disabled) is created here but loads its signatures only
  /// when the first message needs scanning; it is kept across polls (daemon mode).
  Poller(const rc::Config& config, std::string state_dir, Log& log);
  ~Poller();

  /// One poll of every selected account. Returns fetchmail's exit code: 0 if any account
  /// retrieved mail, else the last error's code, else 1 (no mail).
  int poll_once(const PollOptions& options);

  /// The scanner, for --version and tests; null when scanning is disabled.
  scan::Scanner* scanner() { return scanner_.get(); }

 private:
  /// Entries older than scan.quarantine_keep leave at the start of each poll, logged.
  void expire_quarantine();

  const rc::Config& config_;
  std::string state_dir_;
  Log& log_;
  std::unique_ptr<scan::Scanner> scanner_;
  scan::Allowlist allowlist_;
};

}  // namespace clamfetch::app
