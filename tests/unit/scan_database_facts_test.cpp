// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// scan::database_facts (clamfetch --doctor): version and build time from CVD headers, else the
// newest signature file's mtime; errors for what cannot be read.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <utime.h>

#include <filesystem>
#include <fstream>

#include "scan/scan.hpp"

using namespace clamfetch;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/cfdbXXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string path;
};

void write(const std::string& path, const std::string& text, std::time_t mtime) {
  std::ofstream(path, std::ios::binary) << text;
  utimbuf times{mtime, mtime};
  REQUIRE(utime(path.c_str(), &times) == 0);
}

std::string cvd_header(const std::string& version, const std::string& stime) {
  std::string h = "ClamAV-VDB:07 Dec 2026 08-55 -0500:" + version + ":2000000:90:md5:dsig:builder:" + stime;
  h.resize(512, ' ');
  return h;
}

}  // namespace

TEST_CASE("database facts: the highest official version and the newest CVD build time") {
  TempDir dir;
  write(dir.path + "/main.cvd", cvd_header("62", "1700000000") + "body", 1790000000);
  write(dir.path + "/daily.cld", cvd_header("27000", "1796630100") + "body", 1790000000);
  write(dir.path + "/local.ndb", "Test.Sig:0:*:414243\n", 1799999999);
  write(dir.path + "/README", "not a signature file", 1799999999);
  scan::DatabaseFacts f = scan::database_facts(dir.path);
  CHECK(f.error.empty());
  CHECK(f.official);
  CHECK(f.version == "27000");
  CHECK(f.built == 1796630100);  // the CVD's build time, not a newer local file's mtime
  CHECK(f.official_files == 2);
  CHECK(f.unofficial_files == 1);
}

TEST_CASE("database facts: unofficial files alone give the newest mtime") {
  TempDir dir;
  write(dir.path + "/a.ndb", "A:0:*:414243\n", 1790000000);
  write(dir.path + "/b.hdb", "0123:3:B\n", 1790000500);
  scan::DatabaseFacts f = scan::database_facts(dir.path);
  CHECK_FALSE(f.official);
  CHECK(f.version.empty());
  CHECK(f.built == 1790000500);
  CHECK(f.unofficial_files == 2);
  // One file as the database.
  f = scan::database_facts(dir.path + "/a.ndb");
  CHECK(f.unofficial_files == 1);
  CHECK(f.built == 1790000000);
}

TEST_CASE("database facts: a missing database is an error naming it") {
  scan::DatabaseFacts f = scan::database_facts("/nonexistent/clamav-db");
  CHECK(f.error == "/nonexistent/clamav-db: No such file or directory");
  CHECK(f.official_files + f.unofficial_files == 0);
}
