// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// libclamav in-process: one compiled engine, loaded on the first scan and shared by every
// thread. Nothing here touches the database before scan() is called.

#include <clamav.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>
#include <string>

#include "scan/clamav_support.hpp"
#include "scan/scanner_common.hpp"

namespace clamfetch::scan::detail {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Fixed per engine: libclamav's clean cache is keyed on content only, so changing options
// between scans would let a buffer once found clean with fewer parsers stay clean.
cl_scan_options scan_options() {
  cl_scan_options options{};
  // clamd's default (HeuristicAlerts yes), so in-process and clamd verdicts agree.
  options.general = CL_SCAN_GENERAL_HEURISTICS;
  options.parse = CL_SCAN_PARSE_ARCHIVE | CL_SCAN_PARSE_ELF | CL_SCAN_PARSE_PDF |
                  CL_SCAN_PARSE_SWF | CL_SCAN_PARSE_HWP3 | CL_SCAN_PARSE_XMLDOCS |
                  CL_SCAN_PARSE_MAIL | CL_SCAN_PARSE_OLE2 | CL_SCAN_PARSE_HTML | CL_SCAN_PARSE_PE |
                  CL_SCAN_PARSE_ONENOTE | CL_SCAN_PARSE_IMAGE | CL_SCAN_PARSE_IMAGE_FUZZY_HASH;
  // Over-limit content would otherwise scan clean silently.
  options.heuristic = CL_SCAN_HEURISTIC_EXCEEDS_MAX;
  return options;
}

class ClamavScanner final : public Scanner {
 public:
  ClamavScanner(const Settings& settings, Log& log, bool clean_temp)
      : settings_(settings), log_(log), clean_temp_(clean_temp) {}

  Verdict scan(std::string_view message) override {
    if (message.size() > settings_.max_file_size) {
      return oversize_verdict(message.size(), settings_.max_file_size);
    }
    const cl_engine* engine = engine_for_scan();
    if (engine == nullptr) {
      Verdict v = error_verdict(load_error());
      v.scanner_fault = true;
      return v;
    }
    return scan_with(engine, message);
  }

  std::string engine_version() const override {
    std::lock_guard lock(mutex_);
    std::string engine = "libclamav " + library_version();
    if (engine_ && db_version_ != 0) {
      engine += "/" + std::to_string(db_version_) + "/" + format_time(db_time_);
    }
    return engine;
  }

  bool loaded() const override { return ready_.load(std::memory_order_acquire) != nullptr; }

  bool database_changed() override {
    std::lock_guard lock(mutex_);
    return engine_ && watch_.changed();
  }

 private:
  static std::string format_time(std::time_t t) {
    char buf[32];
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
  }

  // The engine, loading it on the first call; nullptr when loading failed (once per scanner).
  const cl_engine* engine_for_scan() {
    if (const cl_engine* ready = ready_.load(std::memory_order_acquire)) return ready;
    std::lock_guard lock(mutex_);
    if (!attempted_) {
      attempted_ = true;
      Status status = load();
      if (!status) {
        load_error_ = status.error().text;
        log_.error("scan: " + load_error_);
      }
    }
    return engine_.get();
  }

  std::string load_error() const {
    std::lock_guard lock(mutex_);
    return load_error_;
  }

  // Called with mutex_ held.
  Status load() {
    auto start = std::chrono::steady_clock::now();
    if (Status s = init_libclamav(); !s) return s;
    auto temp = prepare_temp_dir(settings_.temp_dir, clean_temp_);
    if (!temp) return temp.error();
    temp_dir_ = std::move(*temp);
    auto engine = load_engine(settings_, temp_dir_.path(), log_);
    if (!engine) return engine.error();
    engine_ = std::move(engine->engine);
    db_version_ = engine->db_version;
    db_time_ = engine->db_time;
    watch_.start(settings_.database);
    ready_.store(engine_.get(), std::memory_order_release);
    log_.info("scan: loaded " + std::to_string(engine->signatures) + " signatures from " +
              settings_.database + " in " + std::to_string(seconds_since(start)) + " s");
    return {};
  }

  Verdict scan_with(const cl_engine* engine, std::string_view message) {
    FmapPtr map(clamav().fmap_open_memory(message.data(), message.size()));
    if (!map) {
      Verdict v = error_verdict("libclamav: cannot map the message");
      v.scanner_fault = true;  // out of memory: nothing about this message
      return v;
    }
    ScanContext context{&log_, {}};
    cl_scan_options options = scan_options();
    const char* name = nullptr;
    unsigned long scanned = 0;
    auto start = std::chrono::steady_clock::now();
    cl_error_t rc = clamav().scanmap_callback(map.get(), nullptr, &name, &scanned, engine,
                                              &options, &context);
    double seconds = seconds_since(start);
    log_suppressed(log_, context.messages);
    if (rc == CL_CLEAN) {
      Verdict v;
      v.status = Verdict::Status::clean;
      v.seconds = seconds;
      return v;
    }
    if (rc == CL_VIRUS) {
      // The out-parameter may be NULL for heuristic results: the callback saw the name.
      std::string found = name ? name : context.first_virus;
      return finding(found.empty() ? "Heuristics.Unnamed" : found, seconds);
    }
    Verdict v = error_verdict(std::string("libclamav: ") + clamav().strerror(rc), seconds);
    // Memory or the temp directory (full, unwritable) failed: the machine's fault, retried
    // every poll; other codes (a parser error on this message's content) are the message's.
    v.scanner_fault = rc == CL_EMEM || rc == CL_ETMPFILE || rc == CL_ETMPDIR || rc == CL_EWRITE ||
                      rc == CL_ECREAT;
    return v;
  }

  const Settings settings_;
  Log& log_;
  const bool clean_temp_;
  mutable std::mutex mutex_;  // guards everything below (the load, not the scans)
  std::atomic<const cl_engine*> ready_{nullptr};
  bool attempted_ = false;
  std::string load_error_;
  TempDir temp_dir_;  // outlives engine_ (declared first, destroyed last)
  EnginePtr engine_;
  uint32_t db_version_ = 0;
  std::time_t db_time_ = 0;
  DatabaseWatch watch_;
};

}  // namespace

std::unique_ptr<Scanner> make_clamav_scanner(const Settings& settings, Log& log, bool clean_temp) {
  return std::make_unique<ClamavScanner>(settings, log, clean_temp);
}

}  // namespace clamfetch::scan::detail
