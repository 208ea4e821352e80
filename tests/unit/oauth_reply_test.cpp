// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// oauth/: the providers' presets, PKCE, the token file name and the JSON replies (pure).
#include <catch2/catch.hpp>

#include "oauth/oauth.hpp"
#include "oauth/pkce.hpp"
#include "oauth/reply.hpp"

using namespace clamfetch;
using namespace clamfetch::oauth;

TEST_CASE("microsoft preset: the tenant's v2.0 endpoints and the delegated mail scopes", "[oauth]") {
  Config config;
  config.provider = Provider::microsoft;
  config.tenant = "contoso.onmicrosoft.com";
  Config filled = preset(config);
  const std::string base = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/";
  CHECK(filled.token_endpoint == base + "token");
  CHECK(filled.device_endpoint == base + "devicecode");
  CHECK(filled.authorization_endpoint == base + "authorize");
  CHECK(filled.scope ==
        "https://outlook.office365.com/IMAP.AccessAsUser.All "
        "https://outlook.office365.com/POP.AccessAsUser.All offline_access");
  Config no_tenant;
  no_tenant.provider = Provider::microsoft;
  CHECK(preset(no_tenant).tenant == "common");
}

TEST_CASE("microsoft preset for client credentials asks for the resource's default scope", "[oauth]") {
  Config config;
  config.provider = Provider::microsoft;
  config.tenant = "00000000-1111-2222-3333-444444444444";
  config.flow = Flow::client_credentials;
  CHECK(preset(config).scope == "https://outlook.office365.com/.default");
}

TEST_CASE("google preset and overrides", "[oauth]") {
  Config config;
  config.provider = Provider::google;
  config.token_endpoint = "https://token.example.net/t";
  Config filled = preset(config);
  CHECK(filled.token_endpoint == "https://token.example.net/t");  // the rc file wins
  CHECK(filled.device_endpoint == "https://oauth2.googleapis.com/device/code");
  CHECK(filled.authorization_endpoint == "https://accounts.google.com/o/oauth2/v2/auth");
  CHECK(filled.scope == "https://mail.google.com/");
  Config custom;
  custom.scope = "x";
  CHECK(preset(custom).token_endpoint.empty());
}

TEST_CASE("PKCE S256 matches RFC 7636 appendix B", "[oauth]") {
  CHECK(pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") ==
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  // Appendix B's verifier is base64url of these 32 octets.
  const unsigned char octets[] = {116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96,
                                  125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214,
                                  191, 240, 91, 88, 5, 88, 83, 132, 141, 121};
  CHECK(base64url(std::string_view(reinterpret_cast<const char*>(octets), sizeof octets)) ==
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
  std::string verifier = random_token(32);
  CHECK(verifier.size() == 43);
  CHECK(verifier != random_token(32));
}

TEST_CASE("token file names cannot leave the oauth directory", "[oauth]") {
  CHECK(token_file("/h", "alice@mail.example.com") == "/h/oauth/alice@mail.example.com.json");
  CHECK(token_file("/h", "../x/y") == "/h/oauth/%2E.%2Fx%2Fy.json");
  CHECK(token_file("/h", ".hidden") == "/h/oauth/%2Ehidden.json");
  CHECK(token_file("/h", "") == "/h/oauth/%.json");
  CHECK(token_file("/h", "a b%") == "/h/oauth/a%20b%25.json");
}

TEST_CASE("a token reply is decoded", "[oauth]") {
  auto reply = decode_token_reply(
      200, R"({"access_token":"AT","token_type":"bearer","expires_in":3599,"refresh_token":"RT","scope":"s"})");
  REQUIRE(reply.ok());
  CHECK(reply->ok());
  CHECK(reply->access_token == "AT");
  CHECK(reply->refresh_token == "RT");
  CHECK(reply->expires_in == 3599);
  // Some servers send expires_in as a string.
  auto text = decode_token_reply(200, R"({"access_token":"AT","token_type":"Bearer","expires_in":"3600"})");
  REQUIRE(text.ok());
  CHECK(text->expires_in == 3600);
  CHECK(text->refresh_token.empty());
}

TEST_CASE("an OAuth error reply is decoded, its description made one line", "[oauth]") {
  auto reply = decode_token_reply(400, "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS70000:\\r\\nbad\"}");
  REQUIRE(reply.ok());
  CHECK_FALSE(reply->ok());
  CHECK(reply->error == "invalid_grant");
  CHECK(reply->error_description == "AADSTS70000:??bad");
}

TEST_CASE("malformed token replies are protocol errors that do not quote the body", "[oauth]") {
  for (const char* body : {"", "not json", "[]", R"({"access_token":5})", R"({"token_type":"bearer"})",
                           R"({"access_token":"SECRET","token_type":"mac"})",
                           R"({"access_token":"SECRET","expires_in":-1})",
                           R"({"access_token":"SECRET","expires_in":"12x"})", R"({"error":7})"}) {
    auto reply = decode_token_reply(200, body);
    INFO(body);
    REQUIRE_FALSE(reply.ok());
    CHECK(reply.error().kind == Kind::protocol);
    CHECK(reply.error().text.find("SECRET") == std::string::npos);
  }
  auto gateway = decode_token_reply(502, "<html>Bad gateway</html>");
  REQUIRE_FALSE(gateway.ok());
  CHECK(gateway.error().kind == Kind::server);
}

TEST_CASE("a device authorization reply is decoded (verification_url too)", "[oauth]") {
  auto reply = decode_device_reply(
      200, R"({"device_code":"DC","user_code":"ABCD-EFGH","verification_uri":"https://x/device",)"
           R"("verification_uri_complete":"https://x/device?user_code=ABCD-EFGH","expires_in":900,"interval":5})");
  REQUIRE(reply.ok());
  CHECK(reply->user_code == "ABCD-EFGH");
  CHECK(reply->interval == 5);
  auto google = decode_device_reply(
      200, R"({"device_code":"DC","user_code":"GQVQ-JKEC","verification_url":"https://www.google.com/device","expires_in":1800})");
  REQUIRE(google.ok());
  CHECK(google->verification_uri == "https://www.google.com/device");
  CHECK(google->interval == 5);  // RFC 8628's default
  auto refused = decode_device_reply(400, R"({"error":"invalid_client"})");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == Kind::auth);
  CHECK(decode_device_reply(200, R"({"device_code":"DC"})").error().kind == Kind::protocol);
}
