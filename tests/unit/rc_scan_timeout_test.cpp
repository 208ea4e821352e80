// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// [scan] scan_timeout: the watchdog's limit for one in-process scan (issue 7, hung scans).
// Default, the duration syntax, the bounds with file:line:col errors, and --check-config.

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
  CHECK(config.error().kind == Kind::config);
  CHECK(exit_code(config.error().kind) == 5);
  return config.error().text;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("scan_timeout defaults to 300 s, above libclamav's own 120 s limit", "[rc][scan_timeout]") {
  Config c = parsed("[scan]\ndatabase = \"/var/lib/clamav\"\n");
  CHECK(c.scan.scan_timeout_seconds == 300);
  CHECK(c.scan.scan_timeout_seconds > 120);
  CHECK(has_line(describe(c), "scan_timeout = 300s"));
}

TEST_CASE("scan_timeout takes the duration syntax", "[rc][scan_timeout]") {
  CHECK(parsed("[scan]\nscan_timeout = \"5m\"\n").scan.scan_timeout_seconds == 300);
  CHECK(parsed("[scan]\nscan_timeout = \"2s\"\n").scan.scan_timeout_seconds == 2);
  CHECK(parsed("[scan]\nscan_timeout = \"1h\"\n").scan.scan_timeout_seconds == 3600);
  CHECK(parsed("[scan]\nscan_timeout = 45\n").scan.scan_timeout_seconds == 45);
  CHECK(parsed("[scan]\nscan_timeout = 1\n").scan.scan_timeout_seconds == 1);
  CHECK(parsed("[scan]\nscan_timeout = \"1d\"\n").scan.scan_timeout_seconds == 86400);
  CHECK(has_line(describe(parsed("[scan]\nscan_timeout = \"10m\"\n")), "scan_timeout = 600s"));
}

TEST_CASE("scan_timeout errors name file, line and column", "[rc][scan_timeout]") {
  const std::string syntax = " must be a duration like \"30d\", \"12h\", \"15m\", \"45s\" or a number of seconds, got ";
  CHECK(error_of("[scan]\nscan_timeout = \"5 minutes\"\n") ==
        "t.toml:2:16: scan_timeout" + syntax + "\"5 minutes\"");
  // Below the minimum of 1 s.
  CHECK(error_of("[scan]\nscan_timeout = 0\n") == "t.toml:2:16: scan_timeout" + syntax + "0");
  CHECK(error_of("[scan]\nscan_timeout = \"0s\"\n") == "t.toml:2:16: scan_timeout" + syntax + "\"0s\"");
  CHECK(error_of("[scan]\nscan_timeout = -3\n") == "t.toml:2:16: scan_timeout" + syntax + "-3");
  CHECK(error_of("[scan]\nscan_timeout = true\n") == "t.toml:2:16: scan_timeout" + syntax + "boolean");
  // Above the maximum of one day.
  CHECK(error_of("[scan]\n\nscan_timeout = \"2d\"\n") ==
        "t.toml:3:16: scan_timeout must be at most 1d (86400 seconds), got 172800 seconds");
  // A near miss of the key name.
  CHECK(error_of("[scan]\nscan_timout = \"5m\"\n") ==
        "t.toml:2:1: unknown key 'scan_timout' in [scan] (did you mean 'scan_timeout'?)");
}
