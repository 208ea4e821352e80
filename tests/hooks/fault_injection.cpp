// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "tests/hooks/fault_injection.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <utility>

#include "app/test_seams.hpp"

namespace clamfetch::testing {
namespace {

enum class KillPoint { after_2xx, after_record, after_acknowledge, before_save };

// SIGKILLs the process the n-th time its point is reached.
class KillProbe final : public app::PipelineProbe {
 public:
  KillProbe(KillPoint point, long nth) : point_(point), nth_(nth) {}
  void after_2xx() override { reached(KillPoint::after_2xx); }
  void after_record() override { reached(KillPoint::after_record); }
  void after_acknowledge() override { reached(KillPoint::after_acknowledge); }
  void before_save() override { reached(KillPoint::before_save); }

 private:
  void reached(KillPoint point) {
    if (point != point_) return;
    if (visits_.fetch_add(1) + 1 == nth_) ::kill(::getpid(), SIGKILL);
  }
  KillPoint point_;
  long nth_;
  std::atomic<long> visits_{0};
};

std::unique_ptr<KillProbe> kill_probe_from(const char* value) {
  if (value == nullptr) return nullptr;
  std::string text(value);
  auto colon = text.find(':');
  if (colon == std::string::npos) return nullptr;
  std::string name = text.substr(0, colon);
  long n = std::strtol(text.c_str() + colon + 1, nullptr, 10);
  if (n <= 0) return nullptr;
  KillPoint point;
  if (name == "after_2xx") point = KillPoint::after_2xx;
  else if (name == "after_record") point = KillPoint::after_record;
  else if (name == "after_acknowledge") point = KillPoint::after_acknowledge;
  else if (name == "before_save") point = KillPoint::before_save;
  else return nullptr;
  return std::make_unique<KillProbe>(point, n);
}

class PoisonScanner final : public scan::Scanner {
 public:
  PoisonScanner(std::unique_ptr<scan::Scanner> inner, std::string abort_marker, std::string hang_marker)
      : inner_(std::move(inner)), abort_(std::move(abort_marker)), hang_(std::move(hang_marker)) {}
  Verdict scan(std::string_view message) override {
    if (!abort_.empty() && message.find(abort_) != std::string_view::npos) std::abort();
    if (!hang_.empty() && message.find(hang_) != std::string_view::npos) {
      for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
    }
    return inner_->scan(message);
  }
  std::string engine_version() const override { return inner_->engine_version(); }
  bool loaded() const override { return inner_->loaded(); }
  bool database_changed() override { return inner_->database_changed(); }
  void check_database_now() override { inner_->check_database_now(); }

 private:
  std::unique_ptr<scan::Scanner> inner_;
  std::string abort_;
  std::string hang_;
};

std::string variable(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace

std::unique_ptr<scan::Scanner> poison_scanner(std::unique_ptr<scan::Scanner> inner, std::string abort_marker,
                                              std::string hang_marker) {
  return std::make_unique<PoisonScanner>(std::move(inner), std::move(abort_marker), std::move(hang_marker));
}

void install_fault_injection_from_environment() {
  static std::unique_ptr<KillProbe> probe = kill_probe_from(std::getenv("CLAMFETCH_TEST_KILL_AT"));
  std::string abort_marker = variable("CLAMFETCH_TEST_ABORT_MARKER");
  std::string hang_marker = variable("CLAMFETCH_TEST_HANG_MARKER");
  app::TestSeams seams;
  seams.probe = probe.get();
  if (!abort_marker.empty() || !hang_marker.empty()) {
    seams.wrap_scanner = [abort_marker, hang_marker](std::unique_ptr<scan::Scanner> inner, bool in_process) {
      // As before the move: clamd scans never hang on the marker.
      return poison_scanner(std::move(inner), abort_marker, in_process ? hang_marker : std::string());
    };
  }
  app::install_test_seams(std::move(seams));
}

}  // namespace clamfetch::testing
