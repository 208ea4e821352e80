// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "app/test_hooks.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace clamfetch::app {
namespace {

struct KillPlan {
  bool armed = false;
  KillPoint point = KillPoint::after_2xx;
  long nth = 0;
};

std::atomic<long> visits{0};

// Parsed once per process (a function-local static: thread-safe initialisation).
const KillPlan& plan() {
  static const KillPlan p = [] {
    KillPlan k;
    const char* value = std::getenv("CLAMFETCH_TEST_KILL_AT");
    if (value == nullptr) return k;
    std::string text(value);
    auto colon = text.find(':');
    if (colon == std::string::npos) return k;
    std::string name = text.substr(0, colon);
    long n = std::strtol(text.c_str() + colon + 1, nullptr, 10);
    if (n <= 0) return k;
    if (name == "after_2xx") k.point = KillPoint::after_2xx;
    else if (name == "after_record") k.point = KillPoint::after_record;
    else if (name == "after_acknowledge") k.point = KillPoint::after_acknowledge;
    else if (name == "before_save") k.point = KillPoint::before_save;
    else return k;
    k.nth = n;
    k.armed = true;
    return k;
  }();
  return p;
}

}  // namespace

void kill_point(KillPoint point) {
  const KillPlan& p = plan();
  if (!p.armed || p.point != point) return;
  if (visits.fetch_add(1) + 1 == p.nth) ::kill(::getpid(), SIGKILL);
}

HandoverProbe& kill_point_probe() {
  struct KillProbe final : HandoverProbe {
    void after_2xx() override { kill_point(KillPoint::after_2xx); }
    void after_record() override { kill_point(KillPoint::after_record); }
  };
  static KillProbe probe;
  return probe;
}

}  // namespace clamfetch::app
