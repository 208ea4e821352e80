// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The pure parts of POP3 authentication (fetch/pop3_auth.hpp): the APOP digest against RFC
// 1939's own example, the timestamp taken from a greeting, base64 and the AUTH PLAIN initial
// response, and which login each rc `auth` value leads to given what the server offers.

#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "fetch/pop3_auth.hpp"

using namespace clamfetch;
using namespace clamfetch::fetch;

TEST_CASE("APOP digest: RFC 1939's example", "[fetch][pop3][auth]") {
  auto digest = apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf");
  REQUIRE(digest.ok());
  CHECK(*digest == "c4c9334bac560ecc979e58001b3e22fb");
  // Another secret, another digest (lower-case hex, 32 digits).
  auto other = apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaafl");
  REQUIRE(other.ok());
  CHECK(*other != *digest);
  CHECK(other->find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(other->size() == 32);
}

TEST_CASE("APOP timestamp: taken from the greeting only when well formed", "[fetch][pop3][auth]") {
  // RFC 1939's greeting, and Dovecot's shape.
  CHECK(apop_timestamp("POP3 server ready <1896.697170952@dbc.mtview.ca.us>") ==
        "<1896.697170952@dbc.mtview.ca.us>");
  CHECK(apop_timestamp("Dovecot ready. <5a1.1.6560a3b1.AbCdEf+0xyz==@host>") ==
        "<5a1.1.6560a3b1.AbCdEf+0xyz==@host>");
  // The first bracketed part counts, as in libetpan.
  CHECK(apop_timestamp("ready <1.2@a> <3.4@b>") == "<1.2@a>");

  SECTION("none") {
    CHECK(apop_timestamp("").empty());
    CHECK(apop_timestamp("Dovecot ready.").empty());
  }
  SECTION("malformed") {
    CHECK(apop_timestamp("ready <1896.697170952@dbc").empty());   // not closed
    CHECK(apop_timestamp("ready 1896.697170952@dbc>").empty());   // not opened
    CHECK(apop_timestamp("ready <1896.697170952.dbc>").empty());  // no '@'
    CHECK(apop_timestamp("ready <>").empty());
    CHECK(apop_timestamp("ready <@>").empty());
    CHECK(apop_timestamp("ready <a <b@c>").empty());              // a space inside
  }
  SECTION("over-long") {
    std::string inside = std::string(kMaxApopTimestamp, 'x') + "@host";
    CHECK(apop_timestamp("ready <" + inside + ">").empty());
    std::string fits = std::string(kMaxApopTimestamp - 7, 'x') + "@host";  // 256 with brackets
    CHECK(apop_timestamp("ready <" + fits + ">") == "<" + fits + ">");
  }
  SECTION("control characters and 8-bit octets") {
    CHECK(apop_timestamp(std::string("ready <12\x01" "34@host>")).empty());
    CHECK(apop_timestamp(std::string("ready <12\t34@host>")).empty());
    CHECK(apop_timestamp(std::string("ready <12\x7f" "34@host>")).empty());
    CHECK(apop_timestamp(std::string("ready <12\xc3\xa9" "34@host>")).empty());
    CHECK(apop_timestamp(std::string("ready <12\0" "34@host>", 18)).empty());
  }
}

TEST_CASE("base64 and the AUTH PLAIN initial response", "[fetch][pop3][auth]") {
  // RFC 4648 10 test vectors.
  CHECK(base64("").empty());
  CHECK(base64("f") == "Zg==");
  CHECK(base64("fo") == "Zm8=");
  CHECK(base64("foo") == "Zm9v");
  CHECK(base64("foob") == "Zm9vYg==");
  CHECK(base64("fooba") == "Zm9vYmE=");
  CHECK(base64("foobar") == "Zm9vYmFy");
  CHECK(base64("Username:") == "VXNlcm5hbWU6");
  // "\0pop3userid1\0pop3password1", checked with `printf '\0pop3userid1\0pop3password1' | base64`.
  CHECK(plain_response("pop3userid1", "pop3password1") == "AHBvcDN1c2VyaWQxAHBvcDNwYXNzd29yZDE=");
  // RFC 4616's example without an authorization identity: "\0tim\0tanstaaftanstaaf".
  CHECK(plain_response("tim", "tanstaaftanstaaf") == "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
  // Long credentials (up to the 400-octet limit) are encoded whole, without line breaks.
  std::string long_password(400, 'p');
  std::string response = plain_response("user", long_password);
  CHECK(response.size() == 4 * ((1 + 4 + 1 + 400 + 2) / 3));
  CHECK(response.find('\n') == std::string::npos);
}

TEST_CASE("which login each auth value leads to", "[fetch][pop3][auth]") {
  const std::set<std::string> both{"PLAIN", "LOGIN"};
  const std::set<std::string> login_only{"LOGIN"};
  const std::set<std::string> none;
  auto chosen = [](AuthMethod wanted, bool tls, const std::set<std::string>& sasl, bool stamp) {
    Result<Pop3Login> r = choose_pop3_login(wanted, tls, sasl, stamp);
    REQUIRE(r.ok());
    return *r;
  };
  SECTION("auto: SASL under TLS only, PLAIN before LOGIN, never APOP") {
    CHECK(chosen(AuthMethod::automatic, true, both, true) == Pop3Login::auth_plain);
    CHECK(chosen(AuthMethod::automatic, true, login_only, true) == Pop3Login::auth_login);
    CHECK(chosen(AuthMethod::automatic, true, none, true) == Pop3Login::user_pass);
    CHECK(chosen(AuthMethod::automatic, false, both, true) == Pop3Login::user_pass);
  }
  SECTION("password: USER/PASS whatever is offered") {
    CHECK(chosen(AuthMethod::password, true, both, true) == Pop3Login::user_pass);
  }
  SECTION("required methods, also over plaintext when asked for by name") {
    CHECK(chosen(AuthMethod::plain, false, both, false) == Pop3Login::auth_plain);
    CHECK(chosen(AuthMethod::login, true, login_only, false) == Pop3Login::auth_login);
    CHECK(chosen(AuthMethod::apop, true, none, true) == Pop3Login::apop);
  }
  SECTION("a required method the server lacks is Kind::auth with the reason") {
    Result<Pop3Login> plain = choose_pop3_login(AuthMethod::plain, true, login_only, true);
    REQUIRE_FALSE(plain.ok());
    CHECK(plain.error().kind == Kind::auth);
    CHECK(plain.error().text == "server offers no AUTH PLAIN");
    Result<Pop3Login> login = choose_pop3_login(AuthMethod::login, true, none, true);
    REQUIRE_FALSE(login.ok());
    CHECK(login.error().text == "server offers no AUTH LOGIN");
    Result<Pop3Login> apop = choose_pop3_login(AuthMethod::apop, true, both, false);
    REQUIRE_FALSE(apop.ok());
    CHECK(apop.error().kind == Kind::auth);
    CHECK(apop.error().text.rfind("server offers no APOP", 0) == 0);
  }
}
