// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "scan/scan.hpp"
#include "scan/scanner_common.hpp"

namespace clamfetch::scan {

namespace {

std::unique_ptr<Scanner> make_engine(const Settings& settings, Log& log) {
  if (!settings.clamd.empty()) return detail::make_clamd_scanner(settings, log);
  if (settings.self_check_seconds > 0) return detail::make_reloading_scanner(settings, log);
  return detail::make_clamav_scanner(settings, log);
}

// Chooses the engine (choose_engine: a PING for engine = auto) when it is first needed, so
// that a run without mail costs nothing, and says at -v which one and why.
class ChosenScanner final : public Scanner {
 public:
  ChosenScanner(const Settings& settings, Log& log) : settings_(settings), log_(log) {}

  Verdict scan(std::string_view message) override { return engine().scan(message); }
  std::string engine_version() const override { return engine().engine_version(); }
  bool loaded() const override { return chosen() && engine_->loaded(); }
  bool database_changed() override { return chosen() && engine_->database_changed(); }
  void check_database_now() override {
    if (chosen()) engine_->check_database_now();
  }

 private:
  bool chosen() const { return ready_.load(std::memory_order_acquire); }
  Scanner& engine() const {
    std::call_once(once_, [this] {
      EngineChoice choice = choose_engine(settings_);
      log_.verbose("scan: engine: " + choice.why);
      Settings chosen = settings_;
      chosen.clamd = std::move(choice.clamd);
      engine_ = make_engine(chosen, log_);
      ready_.store(true, std::memory_order_release);
    });
    return *engine_;
  }

  const Settings settings_;
  Log& log_;
  mutable std::once_flag once_;
  mutable std::unique_ptr<Scanner> engine_;
  mutable std::atomic<bool> ready_{false};
};

}  // namespace

std::unique_ptr<Scanner> make_scanner(const Settings& settings, Log& log) {
  return std::make_unique<ChosenScanner>(settings, log);
}

namespace detail {

bool is_limits_name(std::string_view virus_name) {
  return virus_name.starts_with("Heuristics.Limits.Exceeded");
}

Verdict finding(std::string name, double seconds) {
  Verdict v;
  v.seconds = seconds;
  if (is_limits_name(name)) {
    v.status = Verdict::Status::limits;
    v.reason = "limits exceeded: " + name;
    return v;
  }
  v.status = Verdict::Status::infected;
  v.virus = std::move(name);
  return v;
}

Verdict error_verdict(std::string reason, double seconds) {
  Verdict v;
  v.status = Verdict::Status::error;
  v.reason = std::move(reason);
  v.seconds = seconds;
  return v;
}

Verdict oversize_verdict(uint64_t size, uint64_t limit) {
  Verdict v;
  v.status = Verdict::Status::oversize;
  v.reason = std::to_string(size) + " bytes > max_file_size " + std::to_string(limit);
  return v;
}

}  // namespace detail
}  // namespace clamfetch::scan
