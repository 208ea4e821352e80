// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// core/text.hpp: the helpers that had a copy in several modules, pinned once.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/text.hpp"

using namespace clamfetch;

TEST_CASE("join puts the separator between the items only") {
  CHECK(join({}, ",").empty());
  CHECK(join({"a"}, ",") == "a");
  CHECK(join({"a", "b", "c"}, ",") == "a,b,c");
  CHECK(join({"a", "b"}, ", ") == "a, b");
  CHECK(join({"", "b"}, ",") == ",b");  // an empty first item still gets its separator
}

TEST_CASE("base64 follows RFC 4648's test vectors") {
  CHECK(base64("").empty());
  CHECK(base64("f") == "Zg==");
  CHECK(base64("fo") == "Zm8=");
  CHECK(base64("foo") == "Zm9v");
  CHECK(base64("foob") == "Zm9vYg==");
  CHECK(base64("fooba") == "Zm9vYmE=");
  CHECK(base64("foobar") == "Zm9vYmFy");
  CHECK(base64(std::string("\0\xff", 2)) == "AP8=");
}

TEST_CASE("iequals ignores ASCII case only") {
  CHECK(iequals("Return-Path", "return-PATH"));
  CHECK_FALSE(iequals("From", "From:"));
  CHECK_FALSE(iequals("a", "b"));
}

TEST_CASE("printable keeps 200 printable characters and masks the rest") {
  CHECK(printable("OK done") == "OK done");
  CHECK(printable("a\r\nb\x01\xc3") == "a??b??");
  CHECK(printable(std::string(300, 'x')).size() == 200);
}
