// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The scan watchdog in isolation (issue 7, hung scans): ScanWatchdog reports exactly the scans
// that overrun, and a ScanGuard with watch_hangs() ends a process whose scan hangs: exit 23,
// "hang <id>" in the journal, after its on_hang returned (the poller's: the hand-over in
// progress recorded first), the message blamed by the next open(). The hand-over gate's own
// test is in app_handover_test.cpp.

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "scan/scan_guard.hpp"
#include "scan/scan_watchdog.hpp"

using namespace clamfetch;
using namespace clamfetch::scan;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct Reports {
  std::mutex mutex;
  std::vector<ScanWatchdog::Overrun> seen;
  std::vector<std::chrono::steady_clock::time_point> when;

  ScanWatchdog::OnOverrun callback() {
    return [this](const ScanWatchdog::Overrun& o) {
      std::lock_guard lock(mutex);
      seen.push_back(o);
      when.push_back(std::chrono::steady_clock::now());
    };
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return seen.size();
  }
  /// Waits (polling, at most 5 s) until `n` overruns were reported.
  std::size_t wait_for(std::size_t n) {
    for (int i = 0; i < 500 && count() < n; ++i) std::this_thread::sleep_for(10ms);
    return count();
  }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct TempDir {
  std::string path;
  TempDir() {
    char name[] = "/tmp/cf-watchdog-XXXXXX";
    path = ::mkdtemp(name);
  }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("the watchdog reports a scan that overruns, once, at its deadline", "[scan][watchdog]") {
  Reports reports;
  ScanWatchdog dog(300ms, reports.callback());
  auto start = std::chrono::steady_clock::now();
  auto watch = dog.watch("acct INBOX 7", "key (account a, folder INBOX, UID 7)");
  REQUIRE(reports.wait_for(1) == 1);
  CHECK(reports.seen[0].id == "acct INBOX 7");
  CHECK(reports.seen[0].label == "key (account a, folder INBOX, UID 7)");
  CHECK(reports.seen[0].timeout == 300ms);
  auto late = reports.when[0] - start;
  CHECK(late >= 300ms);
  CHECK(late < 1500ms);  // generous: the machine is shared
  std::this_thread::sleep_for(500ms);
  CHECK(reports.count() == 1);  // once, though the scan still runs
}

TEST_CASE("scans that end in time are never reported - only the overrunning one is", "[scan][watchdog]") {
  Reports reports;
  ScanWatchdog dog(1s, reports.callback());
  for (int i = 0; i < 50; ++i) auto quick = dog.watch("quick " + std::to_string(i), "quick");
  auto stuck = dog.watch("stuck", "stuck");
  {
    auto finishing = dog.watch("finishing", "finishing");
    std::this_thread::sleep_for(100ms);
  }
  REQUIRE(reports.wait_for(1) == 1);
  std::this_thread::sleep_for(300ms);
  REQUIRE(reports.count() == 1);
  CHECK(reports.seen[0].id == "stuck");
  stuck.reset();
  // Idle again: a new scan is watched afresh.
  auto again = dog.watch("again", "again");
  REQUIRE(reports.wait_for(2) == 2);
  CHECK(reports.seen[1].id == "again");
}

TEST_CASE("a hung guarded scan ends the process with 23 after the hand-over is recorded", "[scan][watchdog]") {
  TempDir dir;
  const std::string id = scan_identity("pop3://u@h", "INBOX", "000007");
  auto start = std::chrono::steady_clock::now();
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child: a delivery in its end-of-DATA window, then a scan that never returns.
    Log log;
    if (!log.use_file(dir.path + "/log")) ::_exit(90);
    auto guard = ScanGuard::open(dir.path, log);
    if (!guard) ::_exit(91);
    // on_hang, as the poller's: waits for the hand-over in progress to be recorded.
    std::mutex m;
    std::condition_variable cv;
    bool recorded = false;
    (*guard)->watch_hangs(500ms, [&] {
      std::unique_lock lock(m);
      cv.wait_for(lock, 5s, [&] { return recorded; });
    });
    std::thread delivery([&] {
      std::this_thread::sleep_for(1500ms);  // the MTA's 2xx, then the UID record
      std::ofstream(dir.path + "/recorded") << "yes\n";
      std::lock_guard lock(m);
      recorded = true;
      cv.notify_all();
    });
    delivery.detach();
    auto scanning = (*guard)->begin(id, "h/u/000007 (account u@h, folder INBOX, UID 000007)");
    std::this_thread::sleep_for(20s);
    ::_exit(93);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  auto took = std::chrono::steady_clock::now() - start;
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 23);
  CHECK(took >= 1500ms);  // it waited for the hand-over in progress
  CHECK(took < 5s);
  CHECK(fs::exists(dir.path + "/recorded"));
  std::string log_text = slurp(dir.path + "/log");
  INFO(log_text);
  CHECK(log_text.find("scan of h/u/000007 (account u@h, folder INBOX, UID 000007) still running after "
                      "500 ms (scan_timeout): ending this run; from the next run the message is "
                      "handled by on_fail") != std::string::npos);
  CHECK(slurp(dir.path + "/scan-journal").find("hang " + id + "\n") != std::string::npos);

  // The next run blames it, and only it; acknowledging it forgets it.
  Log log;
  REQUIRE(log.use_file(dir.path + "/log2"));
  {
    auto guard = ScanGuard::open(dir.path, log);
    REQUIRE(guard);
    CHECK((*guard)->standing(id) == ScanGuard::Standing::hung);
    CHECK((*guard)->standing(scan_identity("pop3://u@h", "INBOX", "000008")) == ScanGuard::Standing::fine);
    CHECK(slurp(dir.path + "/scan-suspects").find("hung " + id + "\n") != std::string::npos);
    (*guard)->forget(id);
  }
  CHECK(slurp(dir.path + "/log2").find("hung in an earlier run") != std::string::npos);
  auto guard = ScanGuard::open(dir.path, log);
  REQUIRE(guard);
  CHECK((*guard)->standing(id) == ScanGuard::Standing::fine);
}
