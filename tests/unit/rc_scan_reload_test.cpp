// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// [scan] self_check, reload, engine, clamd_conf (issue 19): defaults, values, errors, and
// whether database was written (engine = auto looks for a local clamd only when it was not).

#include <catch2/catch.hpp>

#include "rc/rc.hpp"

using namespace clamfetch;
using namespace clamfetch::rc;

namespace {

Config parsed(std::string_view text) {
  auto config = parse(text, "t.toml");
  INFO((config.ok() ? std::string() : config.error().text));
  REQUIRE(config.ok());
  return *config;
}

std::string error_of(std::string_view text) {
  auto config = parse(text, "t.toml");
  REQUIRE_FALSE(config.ok());
  return config.error().text;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("defaults: self_check 600 s, reload and engine auto, Debian's clamd.conf", "[rc][reload]") {
  Config c = parsed("[scan]\n");
  CHECK(c.scan.self_check_seconds == 600);
  CHECK(c.scan.reload == Reload::automatic);
  CHECK(c.scan.engine == Engine::automatic);
  CHECK(c.scan.clamd_conf == "/etc/clamav/clamd.conf");
  CHECK_FALSE(c.scan.database_set);
  CHECK(parsed("[scan]\ndatabase = \"/var/lib/clamav\"\n").scan.database_set);  // even the default path
}

TEST_CASE("self_check takes a duration or 0 (off), at most a day", "[rc][reload]") {
  CHECK(parsed("[scan]\nself_check = 0\n").scan.self_check_seconds == 0);
  CHECK(parsed("[scan]\nself_check = \"10m\"\n").scan.self_check_seconds == 600);
  CHECK(parsed("[scan]\nself_check = 2\n").scan.self_check_seconds == 2);
  CHECK(error_of("[scan]\nself_check = \"2d\"\n") ==
        "t.toml:2:14: self_check must be at most 1d (86400 seconds), got 172800 seconds");
  CHECK(error_of("[scan]\nself_check = -1\n").find("t.toml:2:14: self_check must be a duration") == 0);
  CHECK(has_line(describe(parsed("[scan]\nself_check = \"1h\"\n")), "self_check = 3600s"));
}

TEST_CASE("reload and engine are choices, clamd_conf a path", "[rc][reload]") {
  Config c = parsed("[scan]\nreload = \"blocking\"\nengine = \"clamd\"\nclamd_conf = \"/srv/clamd.conf\"\n");
  CHECK(c.scan.reload == Reload::blocking);
  CHECK(c.scan.engine == Engine::clamd);
  CHECK(c.scan.clamd_conf == "/srv/clamd.conf");
  CHECK(parsed("[scan]\nreload = \"concurrent\"\nengine = \"libclamav\"\n").scan.engine == Engine::libclamav);
  CHECK(error_of("[scan]\nreload = \"sometimes\"\n").find("t.toml:2:10: reload") == 0);
  CHECK(error_of("[scan]\nengine = \"clamscan\"\n").find("t.toml:2:10: engine") == 0);
  std::string text = describe(c);
  CHECK(has_line(text, "reload = blocking"));
  CHECK(has_line(text, "engine = clamd"));
  CHECK(has_line(text, "clamd_conf = /srv/clamd.conf"));
}
