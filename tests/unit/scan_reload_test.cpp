// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// A daemon's self-reloading libclamav engine (scan/reloading.cpp) with a real libclamav and a
// test database in a temp directory, and the pure parts of reload = auto and engine = auto.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "scan/engine_choice.hpp"
#include "scan/reloading.hpp"
#include "scan/scan.hpp"
#include "tests/data/corpus/scan_corpus.hpp"

using namespace clamfetch;
namespace corpus = clamfetch::test::corpus;
namespace fs = std::filesystem;

namespace {

// A body marker only the added signature knows (built in two parts like EICAR, so that this
// file is never itself a match).
std::string reload_marker() { return std::string("CLAMFETCH-RELOAD-") + "TEST-MARKER"; }

std::string hex(const std::string& text) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string marked_message() {
  return "From: a@example.com\r\nSubject: new\r\n\r\nhello " + reload_marker() + "\r\n";
}

// A private copy of the test database; the test adds files to it as freshclam would.
struct TempDatabase {
  TempDatabase() {
    char pattern[] = "/tmp/cfreload-XXXXXX";
    dir = mkdtemp(pattern);
    fs::copy(corpus::signatures_dir(), dir + "/db");
  }
  ~TempDatabase() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  // Written aside and renamed in, like freshclam.
  void add(const std::string& name, const std::string& content) const {
    std::ofstream(dir + "/" + name + ".tmp") << content;
    fs::rename(dir + "/" + name + ".tmp", dir + "/db/" + name);
  }
  void add_marker_signature() const {
    add("reload.ndb", "Clamfetch.Test.Reload:0:*:" + hex(reload_marker()) + "\n");
  }
  std::string dir;
};

scan::Settings reloading_settings(const TempDatabase& db, scan::ReloadMode mode) {
  scan::Settings s;
  s.database = db.dir + "/db";
  s.temp_dir = db.dir + "/tmp";
  s.self_check_seconds = 3600;  // the tests ask for each check: check_database_now()
  s.reload = mode;
  s.engine = scan::EngineMode::libclamav;
  return s;
}

// Scans until `done` holds for the verdict (the reload runs on the scanner's thread).
bool eventually(scan::Scanner& scanner, const std::string& message,
                bool (*done)(const Verdict&), int seconds = 30) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (done(scanner.scan(message))) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool infected(const Verdict& v) { return v.status == Verdict::Status::infected; }
bool failed(const Verdict& v) { return v.status == Verdict::Status::error; }

}  // namespace

TEST_CASE("reload = auto is concurrent only with room for a second engine") {
  using scan::ReloadMode;
  using scan::detail::reload_concurrently;
  CHECK(reload_concurrently(ReloadMode::concurrent, 0, 0));
  CHECK_FALSE(reload_concurrently(ReloadMode::blocking, 1ull << 40, 1));
  CHECK(reload_concurrently(ReloadMode::automatic, 3000, 2000));
  CHECK_FALSE(reload_concurrently(ReloadMode::automatic, 2999, 2000));
  CHECK_FALSE(reload_concurrently(ReloadMode::automatic, 0, 2000));        // MemAvailable unknown
  CHECK_FALSE(reload_concurrently(ReloadMode::automatic, 1ull << 40, 0));  // engine size unknown
}

TEST_CASE("kB fields of /proc/meminfo and /proc/self/status are read in bytes") {
  std::istringstream meminfo("MemTotal:       16303284 kB\nMemFree:  100 kB\nMemAvailable:   12 kB\n");
  CHECK(scan::detail::proc_kb_field(meminfo, "MemAvailable") == 12 * 1024);
  std::istringstream none("MemTotal: 5 kB\n");
  CHECK(scan::detail::proc_kb_field(none, "MemAvailable") == 0);
  CHECK(scan::detail::mem_available_bytes() > 0);
  CHECK(scan::detail::resident_bytes() > 0);
}

TEST_CASE("LocalSocket is read from clamd.conf: the last one, comments skipped") {
  std::istringstream conf("#LocalSocket /commented\nFoo bar\nLocalSocket /run/a.ctl\n  LocalSocket /run/b.ctl\n");
  CHECK(scan::detail::local_socket_from(conf) == "/run/b.ctl");
  std::istringstream empty("# nothing\nTCPSocket 3310\n");
  CHECK(scan::detail::local_socket_from(empty).empty());
  CHECK(scan::detail::local_clamd_socket("/nonexistent/clamd.conf") == "/run/clamav/clamd.ctl");
}

TEST_CASE("engine choice: forced, database set, clamd set, and auto with no clamd answering") {
  TempDatabase db;
  scan::Settings s;
  s.database = db.dir + "/db";
  CHECK(scan::choose_engine(s).clamd.empty());  // database set: in-process, no PING
  CHECK(scan::choose_engine(s).why.find("engine = auto: database is set") != std::string::npos);
  s.clamd = {"unix:/nonexistent.sock"};
  CHECK(scan::choose_engine(s).clamd == s.clamd);
  s.engine = scan::EngineMode::libclamav;
  CHECK(scan::choose_engine(s).clamd.empty());
  s.clamd.clear();
  s.engine = scan::EngineMode::automatic;
  s.database_default = true;
  std::ofstream(db.dir + "/clamd.conf") << "LocalSocket " << db.dir << "/none.sock\n";
  s.clamd_conf = db.dir + "/clamd.conf";
  auto choice = scan::choose_engine(s);
  CHECK(choice.clamd.empty());
  CHECK(choice.why.find("no local clamd answered PING on unix:" + db.dir + "/none.sock") != std::string::npos);
  s.engine = scan::EngineMode::clamd;
  CHECK(scan::choose_engine(s).clamd == std::vector<std::string>{"unix:" + db.dir + "/none.sock"});
}

TEST_CASE("concurrent reload: a new signature is found after a check, a broken update keeps the old engine") {
  TempDatabase db;
  Log log;
  auto scanner = scan::make_scanner(reloading_settings(db, scan::ReloadMode::concurrent), log);
  REQUIRE(scanner->scan(marked_message()).status == Verdict::Status::clean);
  db.add_marker_signature();
  scanner->check_database_now();
  REQUIRE(eventually(*scanner, marked_message(), infected));
  CHECK(scanner->scan(marked_message()).virus == "Clamfetch.Test.Reload.UNOFFICIAL");

  db.add("broken.ndb", "this is not a signature\n");
  scanner->check_database_now();
  // The failed load takes a moment: whatever the timing, every scan meanwhile and after it
  // is done with a working engine.
  for (int i = 0; i < 40; ++i) {
    REQUIRE(infected(scanner->scan(marked_message())));
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  CHECK(scanner->loaded());
}

TEST_CASE("blocking reload: a broken update leaves no engine (scanner fault) until a fixed one loads") {
  TempDatabase db;
  Log log;
  auto scanner = scan::make_scanner(reloading_settings(db, scan::ReloadMode::blocking), log);
  REQUIRE(scanner->scan(marked_message()).status == Verdict::Status::clean);
  db.add("broken.ndb", "this is not a signature\n");
  scanner->check_database_now();
  REQUIRE(eventually(*scanner, marked_message(), failed));
  Verdict v = scanner->scan(marked_message());
  CHECK(v.scanner_fault);
  CHECK_FALSE(scanner->loaded());

  fs::remove(db.dir + "/db/broken.ndb");
  db.add_marker_signature();
  scanner->check_database_now();  // a failed blocking load is retried at every check
  REQUIRE(eventually(*scanner, marked_message(), infected));
  CHECK(scanner->loaded());
}

TEST_CASE("self_check alone notices the change: no check_database_now") {
  TempDatabase db;
  Log log;
  auto settings = reloading_settings(db, scan::ReloadMode::automatic);
  settings.self_check_seconds = 1;
  auto scanner = scan::make_scanner(settings, log);
  REQUIRE(scanner->scan(marked_message()).status == Verdict::Status::clean);
  db.add_marker_signature();
  CHECK(eventually(*scanner, marked_message(), infected, 20));
}
