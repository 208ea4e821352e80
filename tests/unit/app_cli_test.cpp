// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include <catch2/catch.hpp>

#include <vector>

#include "app/cli.hpp"

using namespace clamfetch;
using namespace clamfetch::app;

namespace {
Result<Options> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "clamfetch");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return parse_args(static_cast<int>(args.size()), argv.data());
}
}  // namespace

TEST_CASE("fetchmail's short options") {
  auto o = parse({"-v", "-v", "-a", "-k", "-f", "/tmp/rc", "-l", "1000", "-B", "5", "-b", "7", "-t", "30", "pop.example.com"});
  REQUIRE(o.ok());
  CHECK(o->verbose == 2);
  CHECK(o->fetchall == true);
  CHECK(o->keep == true);
  CHECK(o->rcfile == "/tmp/rc");
  CHECK(o->limit == 1000ull);
  CHECK(o->fetchlimit == 5u);
  CHECK(o->batchlimit == 7u);
  CHECK(o->timeout == 30);
  CHECK(o->servers == std::vector<std::string>{"pop.example.com"});
}

TEST_CASE("long options and commands") {
  CHECK(parse({"--nokeep"})->keep == false);
  CHECK(parse({"--check-config"})->command == Command::check_config);
  CHECK(parse({"-q"})->command == Command::quit_daemon);
  CHECK(parse({"-V"})->command == Command::version);
  auto o = parse({"--scan", "a.eml", "-"});
  REQUIRE(o.ok());
  CHECK(o->command == Command::scan_files);
  CHECK(o->files == std::vector<std::string>{"a.eml", "-"});
  auto d = parse({"-d", "60", "-N"});
  CHECK(d->daemon_seconds == 60u);
  CHECK(d->nodetach);
}

TEST_CASE("bad arguments are config errors (exit 5) naming the option") {
  auto unknown = parse({"--frobnicate"});
  REQUIRE_FALSE(unknown.ok());
  CHECK(exit_code(unknown.error().kind) == 5);
  CHECK(unknown.error().text == "unknown option --frobnicate (see clamfetch --help)");
  auto bad_number = parse({"-t", "soon"});
  REQUIRE_FALSE(bad_number.ok());
  CHECK(bad_number.error().text == "option -t: expected a number up to 2147483647, got 'soon'");
  auto missing = parse({"-f"});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().text == "option -f needs a value");
  CHECK_FALSE(parse({"--scan"}).ok());
  CHECK_FALSE(parse({"-s", "-v"}).ok());
  auto idle = parse({"--idle"});
  REQUIRE_FALSE(idle.ok());
  CHECK(idle.error().text == "--idle works in daemon mode only: add -d SECS");
  CHECK(parse({"--idle", "-d", "60"}).ok());
}
