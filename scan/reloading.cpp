// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// A daemon's libclamav engine that follows freshclam, like clamd's SelfCheck: a thread checks
// the database every self_check seconds (or at once: check_database_now, SIGUSR2) and, when
// it changed, compiles a new engine and puts it in place of the old one.
//
// The engine is a shared_ptr: a scan holds it for its duration, so replacing it never pulls
// an engine from under a scan in flight. concurrent: the old engine scans on until the new
// one is compiled, then the swap; a failed load (a broken update) leaves the old one in place.
// blocking: the old engine is dropped first and freed once the scans in flight are done (one
// engine's memory at the peak); scans that arrive meanwhile wait for the new one. A failed
// blocking load leaves no engine: scans fail with a scanner fault (on_fail = defer keeps
// the messages on the server) and every check retries the load until one succeeds.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "scan/clamav_support.hpp"
#include "scan/reloading.hpp"
#include "scan/scanner_common.hpp"

namespace clamfetch::scan::detail {

bool reload_concurrently(ReloadMode mode, uint64_t mem_available, uint64_t engine_bytes) {
  switch (mode) {
    case ReloadMode::concurrent: return true;
    case ReloadMode::blocking: return false;
    case ReloadMode::automatic: break;
  }
  if (mem_available == 0 || engine_bytes == 0) return false;
  return static_cast<double>(mem_available) >= kConcurrentHeadroom * static_cast<double>(engine_bytes);
}

uint64_t proc_kb_field(std::istream& text, const std::string& key) {
  std::string line;
  while (std::getline(text, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::istringstream value(line.substr(key.size() + 1));
    uint64_t kb = 0;
    return value >> kb ? kb * 1024 : 0;
  }
  return 0;
}

uint64_t mem_available_bytes() {
  std::ifstream in("/proc/meminfo");
  return proc_kb_field(in, "MemAvailable");
}

uint64_t resident_bytes() {
  std::ifstream in("/proc/self/status");
  return proc_kb_field(in, "VmRSS");
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string megabytes(uint64_t bytes) { return std::to_string(bytes >> 20) + " MB"; }

// "27001 (2026-12-07 ...)" out of "libclamav 1.4.6/27001/2026-12-07 ...": the version
// libclamav reports for the loaded engine (CL_ENGINE_DB_VERSION, the daily database's).
std::string engine_db_version(const std::string& engine_version) {
  auto slash = engine_version.find('/');
  if (slash == std::string::npos) return "none (no .cvd/.cld)";
  std::string rest = engine_version.substr(slash + 1);
  auto second = rest.find('/');
  return second == std::string::npos ? rest : rest.substr(0, second) + " (" + rest.substr(second + 1) + ")";
}

class ReloadingScanner final : public Scanner {
 public:
  ReloadingScanner(const Settings& settings, Log& log)
      : settings_(settings), log_(log), current_(make_clamav_scanner(settings, log)) {
    if (settings_.self_check_seconds > 0) thread_ = std::thread([this] { run(); });
  }
  ~ReloadingScanner() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  ReloadingScanner(const ReloadingScanner&) = delete;
  ReloadingScanner& operator=(const ReloadingScanner&) = delete;

  Verdict scan(std::string_view message) override {
    if (reloading_.load(std::memory_order_relaxed)) during_reload_.fetch_add(1, std::memory_order_relaxed);
    std::shared_ptr<Scanner> engine = acquire();
    if (!first_loaded_.load(std::memory_order_acquire)) first_load(*engine);
    Verdict v = engine->scan(message);
    release(std::move(engine));
    return v;
  }

  // The engine's own calls run outside mutex_: the first load holds the engine's lock.
  std::string engine_version() const override {
    std::shared_ptr<Scanner> engine = current();
    return engine ? engine->engine_version() : "libclamav " + library_version();
  }

  // False while a blocking reload has no engine, so that the caller treats the wait like the
  // first load (no message is to blame for it).
  bool loaded() const override {
    std::shared_ptr<Scanner> engine = current();
    return engine && engine->loaded();
  }

  bool database_changed() override {
    std::shared_ptr<Scanner> engine = current();
    return engine && engine->database_changed();
  }

  void check_database_now() override {
    {
      std::lock_guard lock(mutex_);
      check_now_ = true;
    }
    changed_.notify_all();
  }

 private:
  std::shared_ptr<Scanner> current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }

  // The engine to scan with; waits while a blocking reload has none.
  std::shared_ptr<Scanner> acquire() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return current_ != nullptr; });
    return current_;
  }

  // Drops a scan's hold; a blocking reload waits for the last one.
  void release(std::shared_ptr<Scanner> engine) {
    engine.reset();
    { std::lock_guard lock(mutex_); }  // a waiter between its test and its wait sees it
    changed_.notify_all();
  }

  // The first load, measured: reload = auto sizes the second engine from it.
  void first_load(Scanner& engine) {
    std::lock_guard lock(first_mutex_);
    if (first_loaded_.load(std::memory_order_acquire)) return;
    uint64_t before = resident_bytes();
    (void)engine.scan("");
    if (!engine.loaded()) {
      broken_.store(true);  // logged by the engine; every check tries the load again
      return;
    }
    uint64_t after = resident_bytes();
    engine_bytes_ = after > before ? after - before : 0;
    loaded_description_ = database_description(settings_.database);
    first_loaded_.store(true, std::memory_order_release);
  }

  void run();
  /// One self-check: reloads when the database changed (or no engine works). `forced`: SIGUSR2.
  void check(bool forced);
  void reload_concurrent(const std::shared_ptr<Scanner>& old);
  void reload_blocking(std::shared_ptr<Scanner> old);
  void begin_reload() {
    during_reload_.store(0);
    reloading_.store(true);
  }
  /// Ends what begin_reload started: how many scans arrived meanwhile.
  int end_reload() {
    reloading_.store(false);
    return during_reload_.exchange(0);
  }
  void log_reloaded(const std::string& how, const std::string& old_version, double seconds);

  const Settings settings_;
  Log& log_;
  mutable std::mutex mutex_;            // current_, stopping_, check_now_
  std::condition_variable changed_;     // any of them changed, or a scan let go of an engine
  std::shared_ptr<Scanner> current_;    // null while a blocking reload loads
  bool stopping_ = false;
  bool check_now_ = false;
  std::mutex first_mutex_;
  std::atomic<bool> first_loaded_{false};
  // The checking thread's own (also written once by first_load, before any reload).
  uint64_t engine_bytes_ = 0;
  std::string loaded_description_;
  std::atomic<bool> broken_{false};     // the last load failed and no engine works
  DatabaseWatch failed_watch_;          // the database as a failed concurrent reload saw it
  bool failed_ = false;
  std::atomic<bool> reloading_{false};  // for the log: scans that came while a reload ran
  std::atomic<int> during_reload_{0};
  std::thread thread_;                  // last: started once everything else exists
};

void ReloadingScanner::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    changed_.wait_for(lock, std::chrono::seconds(settings_.self_check_seconds),
                      [&] { return stopping_ || check_now_; });
    if (stopping_) break;
    bool forced = std::exchange(check_now_, false);
    lock.unlock();
    check(forced);
    lock.lock();
  }
}

void ReloadingScanner::check(bool forced) {
  std::shared_ptr<Scanner> engine = current();
  bool broken = broken_.load();
  if (!broken) {
    // Never loaded: the first scan loads whatever is on disk then.
    if (!first_loaded_.load(std::memory_order_acquire)) return;
    // After a failed update, the same broken files are not loaded again: only a new change.
    bool changed = failed_ ? failed_watch_.changed() : engine->database_changed();
    if (!changed) {
      if (forced) log_.info("scan: signature database " + settings_.database + " unchanged");
      return;
    }
  }
  uint64_t available = mem_available_bytes();
  bool concurrent = reload_concurrently(settings_.reload, available, engine_bytes_);
  if (settings_.reload == ReloadMode::automatic) {
    log_.verbose("scan: reload = auto: engine " + megabytes(engine_bytes_) + ", " +
                 megabytes(available) + " available: " + (concurrent ? "concurrent" : "blocking"));
  }
  // Without a working engine there is nothing to keep scanning with.
  if (concurrent && !broken) reload_concurrent(engine);
  else reload_blocking(std::move(engine));
}

void ReloadingScanner::reload_concurrent(const std::shared_ptr<Scanner>& old) {
  auto start = std::chrono::steady_clock::now();
  std::string old_version = old->engine_version();
  log_.info("scan: signature database " + settings_.database +
            " changed: loading the new one, scanning with the old one meanwhile");
  begin_reload();
  // The old engine's scans may have temp files in the shared directory: keep them.
  std::shared_ptr<Scanner> fresh = make_clamav_scanner(settings_, log_, false);
  Verdict v = fresh->scan("");
  int meanwhile = end_reload();
  if (!fresh->loaded()) {
    failed_ = true;
    failed_watch_.start(settings_.database);
    log_.error("scan: signature reload failed, still scanning with the old signatures (database version " +
               engine_db_version(old_version) + "): " + v.reason);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    current_ = fresh;  // the old engine goes when its last scan in flight returns
  }
  changed_.notify_all();
  failed_ = false;
  log_reloaded("concurrent, " + std::to_string(meanwhile) + " scans meanwhile on the old engine",
               old_version, seconds_since(start));
}

void ReloadingScanner::reload_blocking(std::shared_ptr<Scanner> old) {
  auto start = std::chrono::steady_clock::now();
  bool broken = broken_.load();
  std::string old_version = broken ? "none (the last load failed)" : old->engine_version();
  begin_reload();
  {
    std::unique_lock lock(mutex_);
    current_.reset();
    log_.info("scan: signature database " + settings_.database +
              (broken ? ": loading it again" : " changed: freeing the old engine, scans wait for the new one"));
    // Ours is the last hold once the scans in flight have returned theirs. Short-lived
    // copies (loaded(), engine_version()) go without a notify: look again every 50 ms.
    while (old.use_count() > 1) changed_.wait_for(lock, std::chrono::milliseconds(50));
  }
  old.reset();  // frees the old engine before the new one is loaded: one engine at the peak
  std::shared_ptr<Scanner> fresh = make_clamav_scanner(settings_, log_, false);
  Verdict v = fresh->scan("");
  broken = !fresh->loaded();
  broken_.store(broken);
  int waited = end_reload();
  failed_ = false;
  // A first load that failed is made good here: first_load must not measure this one.
  if (!broken) first_loaded_.store(true, std::memory_order_release);
  {
    std::lock_guard lock(mutex_);
    current_ = fresh;  // a failed one too: it answers every scan with its load error
  }
  changed_.notify_all();
  if (broken) {
    log_.error("scan: signature load failed and no old engine is left (reload = blocking): messages "
               "are not scanned (on_fail decides: defer keeps them on the server) until a load "
               "succeeds, tried again every self_check: " + v.reason);
    return;
  }
  log_reloaded("blocking, " + std::to_string(waited) + " scans waited", old_version, seconds_since(start));
}

void ReloadingScanner::log_reloaded(const std::string& how, const std::string& old_version,
                                    double seconds) {
  std::string old_description = std::exchange(loaded_description_, database_description(settings_.database));
  std::ostringstream text;
  text.precision(2);
  text << std::fixed << "scan: signatures reloaded in " << seconds << " s (" << how << "): database version "
       << engine_db_version(old_version) << " -> " << engine_db_version(current()->engine_version())
       << "; before: " << old_description << "; now: " << loaded_description_;
  log_.info(text.str());
}

}  // namespace

std::unique_ptr<Scanner> make_reloading_scanner(const Settings& settings, Log& log) {
  return std::make_unique<ReloadingScanner>(settings, log);
}

}  // namespace clamfetch::scan::detail
