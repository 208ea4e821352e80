// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The rc file holds passwords: load() refuses one that is not the user's own or that group or
// others can access (Kind::permissions, exit 6, fetchmail's wording), on real files.

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "rc/rc.hpp"

using namespace clamfetch;
using namespace clamfetch::rc;

namespace {

constexpr const char* kValid =
    "[[poll]]\nserver = \"pop.example.com\"\n[[poll.user]]\nusername = \"u\"\npassword = \"p\"\n"
    "is = \"u@example.com\"\n";

/// A private temporary directory, removed with its files.
struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/rc_permissions_XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string write(const std::string& name, const std::string& text, mode_t mode) const {
    std::string file = path + "/" + name;
    std::ofstream(file) << text;
    REQUIRE(::chmod(file.c_str(), mode) == 0);
    return file;
  }
};

}  // namespace

TEST_CASE("a 0600 file of one's own loads", "[rc][permissions]") {
  TempDir dir;
  std::string file = dir.write("rc.toml", kValid, 0600);
  CHECK(check_permissions(file).ok());
  auto config = load(file);
  REQUIRE(config.ok());
  CHECK(config->path == file);
  CHECK(config->polls.at(0).users.at(0).username == "u");
  // 0400 and 0700 are no more open than 0600.
  CHECK(check_permissions(dir.write("ro.toml", kValid, 0400)).ok());
  CHECK(check_permissions(dir.write("x.toml", kValid, 0700)).ok());
}

TEST_CASE("group or other access is refused with the mode in the message", "[rc][permissions]") {
  TempDir dir;
  struct Case {
    mode_t mode;
    const char* shown;
  };
  for (Case c : {Case{0644, "-rw-r--r-- (0644)"}, Case{0640, "-rw-r----- (0640)"}, Case{0602, "-rw-----w- (0602)"},
                 Case{0601, "-rw------x (0601)"}, Case{0666, "-rw-rw-rw- (0666)"}}) {
    std::string file = dir.write("rc.toml", kValid, c.mode);
    std::string expected = "File " + file + " must have no more than -rw------- (0600) permissions (it has " +
                           c.shown + ").";
    Status status = check_permissions(file);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().text == expected);
    CHECK(status.error().kind == Kind::permissions);
    CHECK(exit_code(status.error().kind) == 6);
    auto config = load(file);
    REQUIRE_FALSE(config.ok());
    CHECK(config.error().text == expected);
    CHECK(exit_code(config.error().kind) == 6);
  }
}

TEST_CASE("a file owned by someone else is refused", "[rc][permissions]") {
  if (::geteuid() != 0) {
    WARN("needs root to give a file away; skipped");
    return;
  }
  TempDir dir;
  std::string file = dir.write("rc.toml", kValid, 0600);
  REQUIRE(::chown(file.c_str(), 65534, 65534) == 0);  // nobody
  Status status = check_permissions(file);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().text == "File " + file + " must be owned by you.");
  CHECK(exit_code(status.error().kind) == 6);
  CHECK(load(file).error().text == "File " + file + " must be owned by you.");
}

TEST_CASE("missing files and directories", "[rc][permissions]") {
  TempDir dir;
  std::string missing = dir.path + "/nope.toml";
  auto config = load(missing);
  REQUIRE_FALSE(config.ok());
  CHECK(config.error().text == "cannot read rc file " + missing + ": No such file or directory");
  CHECK(exit_code(config.error().kind) == 5);
  REQUIRE(::chmod(dir.path.c_str(), 0700) == 0);
  Status status = check_permissions(dir.path);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().text == "File " + dir.path + " must be a regular file.");
  CHECK(exit_code(status.error().kind) == 6);
}

TEST_CASE("load reports syntax errors with the path as the name", "[rc][permissions]") {
  TempDir dir;
  std::string file = dir.write("bad.toml", "[global]\nparallel = 0\n", 0600);
  auto config = load(file);
  REQUIRE_FALSE(config.ok());
  CHECK(config.error().text == file + ":2:12: parallel must be between 1 and 64, got 0");
  CHECK(exit_code(config.error().kind) == 5);
}
