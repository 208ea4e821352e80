// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The command line through the real binary, no servers needed: --check-config, the
// fetchmailrc importer, --help, bad arguments, rc errors and permissions.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/cfcli.XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& text, mode_t mode = 0600) const {
    std::string p = (path / name).string();
    std::ofstream(p, std::ios::trunc) << text;
    chmod(p.c_str(), mode);
    return p;
  }
};

RunResult run_clamfetch(const std::vector<std::string>& args, const TempDir& home) {
  std::vector<std::string> argv{clamfetch_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, "", {{"CLAMFETCH_HOME", home.path.string()}});
}

}  // namespace

TEST_CASE("the issue-8 fetchmailrc imports into an rc file --check-config accepts") {
  TempDir dir;
  auto imported = run_clamfetch({"--import-fetchmailrc", CLAMFETCH_SOURCE_DIR "/examples/fetchmailrc.sample"}, dir);
  INFO(imported.err);
  REQUIRE(imported.exit_code == 0);
  std::string rc = dir.write("imported.toml", imported.out);
  auto checked = run_clamfetch({"--check-config", "-f", rc}, dir);
  INFO(checked.out << checked.err);
  REQUIRE(checked.exit_code == 0);
  for (const char* expected : {"pop3userid1@pop.example.com", "pop3userid2@pop.example.com",
                               "pop3userid0@other.example.com", "virtualuser1@example.com",
                               "virtualuser2@example.com", "127.0.0.1:2525", "postmaster@example.com"}) {
    CHECK(contains(checked.out, expected));
  }
  // Passwords never shown.
  CHECK_FALSE(contains(checked.out, "pop3password1"));
  CHECK_FALSE(contains(checked.out, "pop3password0"));
  CHECK(contains(checked.out, "********"));
}

TEST_CASE("examples/clamfetch.toml passes --check-config") {
  TempDir dir;
  std::ifstream in(CLAMFETCH_SOURCE_DIR "/examples/clamfetch.toml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string rc = dir.write("clamfetch.toml", text);
  auto checked = run_clamfetch({"--check-config", "-f", rc}, dir);
  INFO(checked.err);
  CHECK(checked.exit_code == 0);
  CHECK(contains(checked.out, "pop.example.com"));
}

TEST_CASE("rc errors exit 5 naming file, line and column - permissions exit 6") {
  TempDir dir;
  std::string bad = dir.write("bad.toml",
                              "[[poll]]\nserver = \"pop.example.com\"\nprotocol = \"pop3\"\n"
                              "  [[poll.user]]\n  username = \"u\"\n  password = \"p\"\n"
                              "  is = \"u@example.com\"\n  fetchal = true\n");
  auto r = run_clamfetch({"--check-config", "-f", bad}, dir);
  CHECK(r.exit_code == 5);
  CHECK(contains(r.err, bad + ":8:3: "));
  CHECK(contains(r.err, "did you mean 'fetchall'?"));

  std::string open = dir.write("open.toml", "", 0644);
  auto p = run_clamfetch({"-f", open}, dir);
  CHECK(p.exit_code == 6);
  CHECK(contains(p.err, "File " + open + " must have no more than -rw------- (0600) permissions (it has -rw-r--r-- (0644))."));
  // Nothing was written to the state directory: no lock, no UIDs.
  CHECK_FALSE(fs::exists(dir.path / "uids"));
}

TEST_CASE("one account polled on two ports is refused at load: exit 5 naming both entries") {
  TempDir dir;
  std::string account = "  [[poll.user]]\n  username = \"u\"\n  password = \"p\"\n  is = \"u@example.com\"\n";
  std::string rc = dir.write("two_ports.toml", "[[poll]]\nserver = \"pop.example.com\"\nport = 995\n" + account +
                                                   "\n[[poll]]\nserver = \"pop.example.com\"\nport = 110\n" +
                                                   "tls = \"starttls\"\n" + account);
  auto checked = run_clamfetch({"--check-config", "-f", rc}, dir);
  INFO(checked.err);
  CHECK(checked.exit_code == 5);
  CHECK(contains(checked.err, rc + ":13:3: user \"u\" of server \"pop.example.com\" (pop3, port 110) is already "
                              "polled at line 4 (port 995)"));
  // A run refuses it the same way, before touching the state directory.
  auto ran = run_clamfetch({"-f", rc}, dir);
  CHECK(ran.exit_code == 5);
  CHECK_FALSE(fs::exists(dir.path / "uids"));
}

TEST_CASE("bad arguments exit 5 with a one-line error - --help and --version exit 0") {
  TempDir dir;
  auto bad = run_clamfetch({"--frobnicate"}, dir);
  CHECK(bad.exit_code == 5);
  CHECK(bad.err == "clamfetch: unknown option --frobnicate (see clamfetch --help)\n");
  auto help = run_clamfetch({"--help"}, dir);
  CHECK(help.exit_code == 0);
  CHECK(contains(help.out, "--import-fetchmailrc"));
  auto version = run_clamfetch({"--version"}, dir);
  CHECK(version.exit_code == 0);
  CHECK(contains(version.out, "libclamav"));
  CHECK(contains(version.out, "libetpan"));
  CHECK(contains(version.out, "OpenSSL"));
  auto missing = run_clamfetch({"-f", (dir.path / "nope.toml").string()}, dir);
  CHECK(missing.exit_code == 5);
}
