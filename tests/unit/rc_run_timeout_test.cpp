// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// [global] run_timeout: the bound on one poll of one account (issue 15, defect 6). Default,
// the duration syntax, the bounds with file:line:col errors, and --check-config.

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
  return config.error().text;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("run_timeout defaults to an hour and shows in --check-config", "[rc][run_timeout]") {
  Config c = parsed("[global]\npostmaster = \"pm@example.com\"\n");
  CHECK(c.global.run_timeout_seconds == 3600);
  CHECK(has_line(describe(c), "run_timeout = 3600s"));
}

TEST_CASE("run_timeout takes the duration syntax", "[rc][run_timeout]") {
  CHECK(parsed("[global]\nrun_timeout = \"30m\"\n").global.run_timeout_seconds == 1800);
  CHECK(parsed("[global]\nrun_timeout = 45\n").global.run_timeout_seconds == 45);
  CHECK(parsed("[global]\nrun_timeout = \"7d\"\n").global.run_timeout_seconds == 604800);
  CHECK(has_line(describe(parsed("[global]\nrun_timeout = \"2h\"\n")), "run_timeout = 7200s"));
}

TEST_CASE("run_timeout errors name file, line and column", "[rc][run_timeout]") {
  const std::string syntax = " must be a duration like \"30d\", \"12h\", \"15m\", \"45s\" or a number of seconds, got ";
  CHECK(error_of("[global]\nrun_timeout = \"an hour\"\n") ==
        "t.toml:2:15: run_timeout" + syntax + "\"an hour\"");
  CHECK(error_of("[global]\nrun_timeout = 0\n") == "t.toml:2:15: run_timeout" + syntax + "0");
  CHECK(error_of("[global]\nrun_timeout = -5\n") == "t.toml:2:15: run_timeout" + syntax + "-5");
  CHECK(error_of("[global]\nrun_timeout = \"8d\"\n") ==
        "t.toml:2:15: run_timeout must be at most 7d (604800 seconds), got 691200 seconds");
}
