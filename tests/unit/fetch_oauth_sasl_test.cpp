// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The pure SASL side of OAuth2 logins (fetch/oauth_sasl.hpp): the exact OAUTHBEARER and
// XOAUTH2 messages, the choice of mechanism, and failure challenges decoded or refused.

#include <catch2/catch.hpp>

#include <string>

#include "fetch/oauth_sasl.hpp"

using namespace clamfetch;
using namespace clamfetch::fetch;

TEST_CASE("OAUTHBEARER and XOAUTH2 initial responses, byte for byte", "[fetch][oauth]") {
  CHECK(oauth_initial_response(OAuthMechanism::oauthbearer, "u@example.com", "imap.example.com", 993, "tok.en") ==
        "n,a=u@example.com,\x01host=imap.example.com\x01port=993\x01" "auth=Bearer tok.en\x01\x01");
  // RFC 5801 saslname: ',' and '=' escaped.
  CHECK(oauth_initial_response(OAuthMechanism::oauthbearer, "a,b=c", "h", 1, "t") ==
        "n,a=a=2Cb=3Dc,\x01host=h\x01port=1\x01" "auth=Bearer t\x01\x01");
  CHECK(oauth_initial_response(OAuthMechanism::xoauth2, "someuser@example.com", "h", 995, "ya29.vF9dft4") ==
        "user=someuser@example.com\x01" "auth=Bearer ya29.vF9dft4\x01\x01");
  CHECK(oauth_failure_answer(OAuthMechanism::oauthbearer) == "\x01");
  CHECK(oauth_failure_answer(OAuthMechanism::xoauth2).empty());
}

TEST_CASE("OAUTHBEARER is preferred, XOAUTH2 is the fallback, neither is an auth error", "[fetch][oauth]") {
  CHECK(*choose_oauth_mechanism(true, true) == OAuthMechanism::oauthbearer);
  CHECK(*choose_oauth_mechanism(true, false) == OAuthMechanism::oauthbearer);
  CHECK(*choose_oauth_mechanism(false, true) == OAuthMechanism::xoauth2);
  auto none = choose_oauth_mechanism(false, false);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().kind == Kind::auth);
  CHECK(none.error().text == "server offers neither OAUTHBEARER nor XOAUTH2");
}

TEST_CASE("usable tokens are printable, without spaces, up to 16 KiB", "[fetch][oauth]") {
  CHECK(usable_token("eyJ0eXAi.eyJzdWIi.c2ln-_~+/="));
  CHECK_FALSE(usable_token(""));
  CHECK_FALSE(usable_token("two words"));
  CHECK_FALSE(usable_token("line\r\n"));
  CHECK_FALSE(usable_token(std::string("a\x01" "b")));
  CHECK_FALSE(usable_token(std::string(16385, 'a')));
  CHECK(usable_token(std::string(16384, 'a')));
}

TEST_CASE("failure challenges: status and scope decoded, anything else refused", "[fetch][oauth]") {
  // Google's documented example and Dovecot's two forms.
  auto google = decode_oauth_failure(
      "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==");
  REQUIRE(google.ok());
  CHECK(describe_oauth_failure(*google) == "status 401, scope https://mail.google.com/");
  auto dovecot = decode_oauth_failure("eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=");
  REQUIRE(dovecot.ok());
  CHECK(dovecot->status == "invalid_token");
  CHECK(describe_oauth_failure(*dovecot) == "status invalid_token");
  // {"status":401,"openid-configuration":"https://x/.well-known"} : a number, and the URL.
  auto numeric = decode_oauth_failure(
      "eyJzdGF0dXMiOjQwMSwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL3gvLndlbGwta25vd24ifQ==");
  REQUIRE(numeric.ok());
  CHECK(numeric->status == "401");
  CHECK(numeric->openid_configuration == "https://x/.well-known");
  // {"status":"bad\u0007"}: control characters made printable.
  auto control = decode_oauth_failure("eyJzdGF0dXMiOiJiYWRcdTAwMDcifQ==");
  REQUIRE(control.ok());
  CHECK(control->status == "bad?");
  CHECK(describe_oauth_failure(OAuthFailure{}).empty());

  for (const char* bad : {"not base64!", "e30", "W10=", "bm90IGpzb24=", "eyJzdGF0dXMiOg=="}) {
    INFO(bad);  // not base64, unpadded, [], "not json", {"status":
    auto refused = decode_oauth_failure(bad);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == Kind::protocol);
  }
  CHECK_FALSE(decode_oauth_failure(std::string(8196, 'A')).ok());
}

TEST_CASE("base64 decoding is strict", "[fetch][oauth]") {
  CHECK(base64_decode("") == std::string());
  CHECK(base64_decode("AQ==") == std::string("\x01"));
  CHECK(base64_decode("YWJj") == std::string("abc"));
  CHECK(base64_decode("YWI=") == std::string("ab"));
  CHECK_FALSE(base64_decode("YW=j").has_value());
  CHECK_FALSE(base64_decode("YWJ").has_value());
  CHECK_FALSE(base64_decode("YW\nJj").has_value());
}
