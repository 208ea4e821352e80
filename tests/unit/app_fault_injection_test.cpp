// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The test-only poison scanner (tests/hooks/fault_injection.hpp), moved here from
// scan_clamav_test.cpp with the marker switch it replaces (scan/ reads no test variable now):
// a message with the marker aborts the process; without the wrapper it scans normally.

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <string>

#include "scan/scan.hpp"
#include "tests/data/corpus/scan_corpus.hpp"
#include "tests/hooks/fault_injection.hpp"

using namespace clamfetch;
namespace corpus = clamfetch::test::corpus;
namespace fs = std::filesystem;

namespace {

struct TempTree {
  fs::path path;
  TempTree() {
    std::string pattern = (fs::temp_directory_path() / "fault-test-XXXXXX").string();
    path = mkdtemp(pattern.data());
  }
  ~TempTree() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

scan::Settings settings_for(const std::string& database, const TempTree& tmp) {
  scan::Settings s;
  s.database = database;
  s.temp_dir = (tmp.path / "state").string();
  return s;
}

}  // namespace

TEST_CASE("the poison scanner aborts the process on a message with the abort marker (test switch)") {
  const std::string marker = "POISON-" + std::to_string(getpid());
  TempTree tmp;
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    signal(SIGABRT, SIG_DFL);  // Catch's handler would report the expected abort as a failure
    Log log;
    auto scanner = testing::poison_scanner(scan::make_scanner(settings_for(corpus::signatures_dir(), tmp), log),
                                           marker, "");
    scanner->scan("Subject: harmless\r\n\r\nno marker\r\n");  // survives
    scanner->scan("Subject: x\r\n\r\n" + marker + "\r\n");
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
  // Without the wrapper (the shipped binary): the same message scans normally.
  Log log;
  auto scanner = scan::make_scanner(settings_for(corpus::signatures_dir(), tmp), log);
  CHECK(scanner->scan("Subject: x\r\n\r\n" + marker + "\r\n").status == Verdict::Status::clean);
}
