// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Scanning: libclamav in-process (loaded lazily, on the first message that needs it) or a
// clamd farm over INSTREAM; the allowlist; the X-Virus-* header edit.

#include <cstdint>
#include <ctime>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/message.hpp"

namespace clamfetch::scan {

/// How a daemon replaces its engine when the database changed (`[scan] reload`).
enum class ReloadMode {
  automatic,   ///< concurrent when MemAvailable leaves room for a second engine, else blocking
  concurrent,  ///< scan with the old engine until the new one is compiled, then swap
  blocking,    ///< free the old engine first; scans wait for the new one
};

/// Which engine scans (`[scan] engine`).
enum class EngineMode {
  automatic,  ///< clamd list set: clamd; database set (not database_default): libclamav;
              ///< else the local clamd if it answers PING, else libclamav in-process
  libclamav,  ///< in-process, whatever clamd says
  clamd,      ///< the clamd list, else the local clamd's socket (clamd_conf)
};

struct Settings {
  std::string database = "/var/lib/clamav";  ///< directory or single signature file
  std::vector<std::string> clamd;            ///< "unix:/path" | "tcp:host:port"; non-empty: use clamd
  uint64_t max_file_size = 25ull << 20;      ///< larger messages are not scanned: Verdict::oversize
  uint64_t max_scan_size = 100ull << 20;
  /// libclamav's own limit on one scan (CL_ENGINE_MAX_SCANTIME, ms): past it the scan stops
  /// with a limits-exceeded error (a scan failure, on_fail decides). Kept below the poller's
  /// hung-scan watchdog so that a slow message is a scan failure, not a blamed hang.
  uint64_t max_scan_time_ms = 120000;
  std::string temp_dir;                      ///< private 0700 dir for libclamav's temp files
  int timeout_seconds = 120;                 ///< clamd connect/reply deadline
  /// Daemon only: every this many seconds a background thread checks the database and
  /// reloads the engine when it changed (clamd's SelfCheck). 0: never (one-shot runs).
  unsigned self_check_seconds = 0;
  ReloadMode reload = ReloadMode::automatic;
  EngineMode engine = EngineMode::automatic;
  /// `database` is only the built-in default (the rc file does not set it): engine = auto may
  /// then prefer the local clamd.
  bool database_default = false;
  /// Where engine = auto/clamd finds the local clamd's LocalSocket.
  std::string clamd_conf = "/etc/clamav/clamd.conf";
};

/// Thread-safe: one scanner shared by every account polled in parallel.
class Scanner {
 public:
  virtual ~Scanner() = default;
  /// Scan one message. The first call loads the engine (libclamav) — a run with no mail
  /// never touches the database. Never fails by exception: errors come back as
  /// Verdict::Status::error with the reason.
  virtual Verdict scan(std::string_view message) = 0;
  /// The engine's name for X-Virus-Scanned (the caller wraps it: "clamfetch X (<this>) on
  /// host"): "libclamav 1.4.6", plus "/<db version>/<db date>" once a database with a
  /// version (.cvd/.cld) is loaded; for clamd its zVERSION reply ("ClamAV 1.4.6/27000/...",
  /// asked on the first call, at most one connection attempt per address and timeout), or
  /// "clamd" while none answers. Never loads the libclamav engine.
  virtual std::string engine_version() const = 0;
  /// True once signatures were loaded (tests and benchmarks show laziness with it).
  virtual bool loaded() const = 0;
  /// For a daemon between polls: true when the signature database on disk changed since it
  /// was loaded (libclamav: cl_statinidir at load, cl_statchkdir here; a single-file
  /// database compares its mtime and size). The reload itself is: make_scanner() again
  /// (lazy, so it loads on its next scan) and drop the old scanner once no scan runs on it.
  /// False before the first load, and always for clamd (clamd reloads itself). Never blocks
  /// beyond a stat() of the database files.
  virtual bool database_changed() { return false; }
  /// For a daemon (SIGUSR2): run the self-check now instead of at the next self_check
  /// interval. Returns at once (the check and any reload run on the checking thread); a no-op
  /// for engines that do not reload (clamd, self_check = 0).
  virtual void check_database_now() {}
};

/// The engine settings.engine picks (see EngineMode) and why, in words for -v and --version:
/// e.g. "clamd at unix:/run/clamav/clamd.ctl (engine = auto: the local clamd answered PING)".
/// With engine = auto and neither database nor clamd set it connects to the local clamd's
/// socket (LocalSocket in settings.clamd_conf, else /run/clamav/clamd.ctl) and sends PING,
/// waiting at most 2 seconds; otherwise no I/O but reading clamd_conf.
struct EngineChoice {
  std::vector<std::string> clamd;  ///< empty: libclamav in-process
  std::string why;
};
EngineChoice choose_engine(const Settings& settings);

/// The scanner settings.engine picks (choose_engine, decided on the first call that needs the
/// engine and logged at -v), libclamav reloading itself when settings.self_check_seconds > 0
/// (its checking thread starts with the scanner and stops with it). Does no I/O until scan().
/// `log` must outlive the scanner; libclamav's own messages go into it (never raw stderr).
///
/// Verdicts, for both engines:
/// - a message larger than max_file_size is not scanned: Status::oversize;
/// - a signature found: Status::infected, `virus` the signature name (databases without a
///   signature file come back with ".UNOFFICIAL" appended);
/// - limits exceeded inside the message (archive too deep, too many files, an inner file over
///   max_file_size; libclamav's "Heuristics.Limits.Exceeded.*"): Status::limits with reason
///   "limits exceeded: <name>", so on_limits applies (clamd's default: clean) and the header
///   says which limit — never silently clean, and not infected either;
/// - no database, an empty directory, 0 signatures, a corrupt file, a clamd that is down:
///   Status::error with the reason, and scanner_fault set (no message is to blame). libclamav loads once: a failed load is remembered and
///   every later scan of this scanner returns the same error.
std::unique_ptr<Scanner> make_scanner(const Settings& settings, Log& log);

/// clamav-milter's AllowList: "To:regex" entries skip scanning only when every recipient
/// matches one; "From:regex" entries skip it for that sender whatever the recipients.
/// As clamav-milter reads it: an optional case-insensitive "From:" / "To:" prefix (none means
/// To:), the rest a POSIX *basic* regular expression matched case-insensitively and
/// unanchored (it may match anywhere: write ^user@example\.com$ for one exact address),
/// against the bare address ("user@example.com"; "" for the null sender).
class Allowlist {
 public:
  /// Lines as in the rc file or clamav-milter's file (blank, '#', ':' and '!' lines ignored).
  /// Errors: Kind::config naming `origin` and the bad line.
  static Result<Allowlist> parse(const std::vector<std::string>& lines, const std::string& origin);
  static Result<Allowlist> load_file(const std::string& path);
  void merge(const Allowlist& other);
  bool skips(std::string_view sender, const std::vector<std::string>& recipients) const;
  bool empty() const { return to_.empty() && from_.empty(); }

 private:
  std::vector<std::regex> to_;
  std::vector<std::regex> from_;
};

enum class HeaderMode { no, add, replace };

/// The message with X-Virus-Scanned / X-Virus-Status set for `verdict` per `mode`
/// (replace removes any existing ones first: a forged "Clean" must not survive; add keeps
/// them; no returns the message unchanged). The two headers go at the top of the header
/// block, with the message's own line ends (CRLF unless its first line ends in a bare LF).
/// `scanned_by` is the X-Virus-Scanned value, e.g. engine_version() + " on " + host.
std::string apply_virus_headers(std::string_view message, HeaderMode mode, const Verdict& verdict,
                                std::string_view scanned_by);

/// Header value for X-Virus-Status: "Clean", "Infected (Name)", "Unscanned (too large)" ...
std::string status_header(const Verdict& verdict);

/// libclamav's version ("1.4.6") for --version.
std::string library_version();

/// For --version: the official databases' versions and dates read from their CVD headers
/// (cheap: the signatures are not loaded), and the number of unofficial signature files.
std::string database_description(const std::string& database);

/// For --doctor: the signature database as found on disk, without loading it.
struct DatabaseFacts {
  std::string error;             ///< why it could not be read; empty: readable
  std::string version;           ///< the highest official (.cvd/.cld) version, empty: none
  /// The newest official build time (CVD header), else the newest signature file's mtime;
  /// 0: no signature file.
  std::time_t built = 0;
  bool official = false;         ///< `built` comes from a CVD header
  int official_files = 0;
  int unofficial_files = 0;
};
/// Reads the CVD headers and stats the signature files of `database` (a directory or one
/// file). Never fails: problems are in `error`. Blocks on the file system only.
DatabaseFacts database_facts(const std::string& database);

}  // namespace clamfetch::scan
