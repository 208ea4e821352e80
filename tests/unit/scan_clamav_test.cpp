// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// libclamav in-process against the test signature database in tests/data/signatures.

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "scan/scan.hpp"
#include "tests/data/corpus/scan_corpus.hpp"

using namespace clamfetch;
namespace corpus = clamfetch::test::corpus;
namespace fs = std::filesystem;

namespace {

struct TempTree {
  fs::path path;
  TempTree() {
    std::string pattern = (fs::temp_directory_path() / "scan-test-XXXXXX").string();
    path = mkdtemp(pattern.data());
  }
  ~TempTree() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

scan::Settings settings_for(const std::string& database, const TempTree& tmp) {
  scan::Settings s;
  s.database = database;
  s.temp_dir = tmp / "state";
  return s;
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

}  // namespace

TEST_CASE("every infected corpus message is found with its signature name") {
  TempTree tmp;
  Log log;
  auto scanner = scan::make_scanner(settings_for(corpus::signatures_dir(), tmp), log);
  for (const auto& c : corpus::infected_cases()) {
    INFO(c.label);
    Verdict v = scanner->scan(c.message);
    REQUIRE(v.status == Verdict::Status::infected);
    if (c.prefix) {
      CHECK(v.virus.rfind(c.expected, 0) == 0);
      CHECK(v.virus.ends_with(".UNOFFICIAL"));
    } else {
      CHECK(v.virus == c.expected);
    }
    CHECK(v.seconds >= 0);
  }
}

TEST_CASE("200 clean messages of varied MIME structure give no finding") {
  TempTree tmp;
  Log log;
  auto scanner = scan::make_scanner(settings_for(corpus::signatures_dir(), tmp), log);
  auto messages = corpus::clean_messages(200);
  REQUIRE(messages.size() == 200);
  int clean = 0;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    Verdict v = scanner->scan(messages[i]);
    INFO("message " << i << ": " << describe(v));
    CHECK(v.status == Verdict::Status::clean);
    clean += v.status == Verdict::Status::clean;
  }
  CHECK(clean == 200);
  // libclamav removed each scan's decoded parts; nothing is left at rest.
  CHECK(fs::is_empty(tmp / "state/libclamav"));
}

TEST_CASE("nothing touches the database or the temp dir before the first scan") {
  TempTree tmp;
  Log log;
  auto scanner = scan::make_scanner(settings_for(tmp / "missing-db", tmp), log);
  CHECK_FALSE(scanner->loaded());
  CHECK_FALSE(fs::exists(tmp / "state"));  // load() creates it: it did not run
  CHECK(scanner->engine_version() == std::string("libclamav ") + scan::library_version());
  CHECK_FALSE(fs::exists(tmp / "state"));

  Verdict v = scanner->scan(corpus::eicar());
  CHECK(v.status == Verdict::Status::error);
  CHECK(v.reason.find("cannot load signature database " + (tmp / "missing-db")) == 0);
  CHECK_FALSE(scanner->loaded());
  CHECK(fs::exists(tmp / "state/libclamav"));
}

TEST_CASE("a failed load is remembered: the database appearing later changes nothing this run") {
  TempTree tmp;
  fs::create_directory(tmp / "db");
  Log log;
  auto scanner = scan::make_scanner(settings_for(tmp / "db", tmp), log);
  Verdict first = scanner->scan(corpus::eicar());
  REQUIRE(first.status == Verdict::Status::error);
  CHECK(first.reason.find("cannot load signature database") == 0);  // empty directory
  fs::copy(corpus::signatures_dir(), tmp / "db");
  Verdict second = scanner->scan(corpus::eicar());
  CHECK(second.status == Verdict::Status::error);
  CHECK(second.reason == first.reason);
  // A new scanner (next run) loads it.
  auto next = scan::make_scanner(settings_for(tmp / "db", tmp), log);
  CHECK(next->scan(corpus::eicar()).status == Verdict::Status::infected);
}

TEST_CASE("a database that loads 0 signatures is a failure, not a clean engine") {
  TempTree tmp;
  write_file(tmp / "signatures.txt", "not a signature file\n");
  Log log;
  auto scanner = scan::make_scanner(settings_for(tmp / "signatures.txt", tmp), log);
  Verdict v = scanner->scan(corpus::eicar());
  CHECK(v.status == Verdict::Status::error);
  CHECK(v.reason == "no signatures in database " + (tmp / "signatures.txt"));
}

TEST_CASE("a corrupt signature file is a failure") {
  TempTree tmp;
  fs::create_directory(tmp / "db");
  write_file(tmp / "db/broken.ndb", "Broken.Sig:0:*:zz-not-hex\n");
  Log log;
  auto scanner = scan::make_scanner(settings_for(tmp / "db", tmp), log);
  Verdict v = scanner->scan(corpus::eicar());
  CHECK(v.status == Verdict::Status::error);
  CHECK(v.reason.find("cannot load signature database") == 0);
}

TEST_CASE("a message over max_file_size is not scanned and loads nothing") {
  TempTree tmp;
  Log log;
  auto settings = settings_for(corpus::signatures_dir(), tmp);
  settings.max_file_size = 1000;
  auto scanner = scan::make_scanner(settings, log);
  std::string big = corpus::eicar() + std::string(1000, 'x');
  Verdict v = scanner->scan(big);
  CHECK(v.status == Verdict::Status::oversize);
  CHECK_FALSE(scanner->loaded());
  CHECK(scanner->scan(corpus::eicar()).status == Verdict::Status::infected);  // 68 bytes: scanned
  CHECK(scanner->loaded());
}

TEST_CASE("limits exceeded inside a message are their own verdict, never plain clean") {
  TempTree tmp;
  Log log;
  auto settings = settings_for(corpus::signatures_dir(), tmp);
  settings.max_scan_size = 4000;
  auto scanner = scan::make_scanner(settings, log);
  std::mt19937 rng(7);
  std::string z = corpus::zip({{"a.bin", corpus::random_bytes(rng, 3000)},
                               {"b.bin", corpus::random_bytes(rng, 3000)},
                               {"c.bin", corpus::random_bytes(rng, 3000)}});
  Verdict v = scanner->scan(corpus::mixed_message("limits", {corpus::attachment("application/zip", "z.zip", z)}));
  INFO(describe(v));
  CHECK(v.status == Verdict::Status::limits);
  CHECK(v.reason.rfind("limits exceeded: Heuristics.Limits.Exceeded", 0) == 0);
}

TEST_CASE("leftovers of a crashed run are removed from the temp dir at load") {
  TempTree tmp;
  fs::create_directories(tmp / "state/libclamav/20260101_000000-scantemp.abc");
  write_file(tmp / "state/libclamav/20260101_000000-scantemp.abc/attachment", corpus::eicar());
  write_file(tmp / "state/keep-me", "not libclamav's");
  Log log;
  auto scanner = scan::make_scanner(settings_for(corpus::signatures_dir(), tmp), log);
  CHECK(fs::exists(tmp / "state/libclamav/20260101_000000-scantemp.abc"));  // lazy: not yet
  REQUIRE(scanner->scan("Subject: hi\r\n\r\nhello\r\n").status == Verdict::Status::clean);
  CHECK(fs::is_empty(tmp / "state/libclamav"));
  CHECK(fs::exists(tmp / "state/keep-me"));  // only libclamav's sub-directory is wiped
  struct stat st{};
  REQUIRE(stat((tmp / "state/libclamav").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
}

TEST_CASE("one scanner shared by 8 threads x 50 scans gives every verdict right") {
  TempTree tmp;
  Log log;
  auto scanner = scan::make_scanner(settings_for(corpus::signatures_dir(), tmp), log);
  auto infected = corpus::infected_cases();
  auto clean = corpus::clean_messages(16);
  std::atomic<int> right{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        bool bad = (i + t) % 2 == 0;
        const std::string& m = bad ? infected[(i + t) % infected.size()].message : clean[(i * 3 + t) % clean.size()];
        Verdict v = scanner->scan(m);
        bool ok = v.status == (bad ? Verdict::Status::infected : Verdict::Status::clean);
        (ok ? right : wrong)++;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(right == 400);
  CHECK(wrong == 0);
  CHECK(scanner->loaded());
}

TEST_CASE("engine version names libclamav - database_changed sees a new signature file") {
  TempTree tmp;
  fs::copy(corpus::signatures_dir(), tmp / "db");
  Log log;
  auto scanner = scan::make_scanner(settings_for(tmp / "db", tmp), log);
  CHECK_FALSE(scanner->database_changed());  // nothing loaded yet: nothing to reload
  REQUIRE(scanner->scan(corpus::eicar()).status == Verdict::Status::infected);
  // The test database has no version (.ndb/.hdb, no .cvd header): the library version only.
  CHECK(scanner->engine_version() == std::string("libclamav ") + scan::library_version());
  CHECK(scan::library_version().rfind("1.", 0) == 0);
  CHECK_FALSE(scanner->database_changed());
  write_file(tmp / "db/extra.ndb", "Clamfetch.Test.Extra:0:*:" + std::string("41424344454647") + "\n");
  CHECK(scanner->database_changed());
}

TEST_CASE("libclamav's messages go into our log, not raw stderr") {
  TempTree tmp;
  fs::create_directory(tmp / "empty-db");
  Log log;
  REQUIRE(log.use_file(tmp / "clamfetch.log"));
  auto scanner = scan::make_scanner(settings_for(tmp / "empty-db", tmp), log);
  REQUIRE(scanner->scan("x").status == Verdict::Status::error);
  std::string logged = corpus::read_file(tmp / "clamfetch.log");
  CHECK(logged.find("libclamav: ") != std::string::npos);  // libclamav's own complaint
  CHECK(logged.find("scan: cannot load signature database") != std::string::npos);
}
