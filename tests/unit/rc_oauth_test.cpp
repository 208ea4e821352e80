// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The [poll.user.oauth] table and auth = "oauth2": values read, impossible combinations
// refused with one exact line each (exit 5), and describe() never showing a secret.

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "rc/rc.hpp"

using namespace clamfetch;
using namespace clamfetch::rc;

namespace {

/// A poll (IMAPS) with one user whose table is `oauth`; `poll_extra` goes into [[poll]],
/// `user_extra` into [[poll.user]] before the table.
std::string with_oauth(const std::string& oauth, const std::string& poll_extra = "",
                       const std::string& user_extra = "") {
  return "[[poll]]\nserver = \"outlook.office365.com\"\nprotocol = \"imap\"\n" + poll_extra +
         "[[poll.user]]\nusername = \"u@example.com\"\nis = \"u@example.com\"\n" + user_extra +
         "[poll.user.oauth]\n" + oauth;
}

Config parsed(std::string_view text) {
  auto config = parse(text, "t.toml");
  INFO((config.ok() ? std::string() : config.error().text));
  REQUIRE(config.ok());
  return *config;
}

std::string error_of(std::string_view text) {
  auto config = parse(text, "t.toml");
  REQUIRE_FALSE(config.ok());
  CHECK(exit_code(config.error().kind) == 5);
  return config.error().text;
}

}  // namespace

TEST_CASE("an oauth table is read and implies auth = oauth2, without a password", "[rc][oauth]") {
  Config c = parsed(with_oauth(
      "provider = \"microsoft\"\nclient_id = \"9e5f94bc\"\ntenant = \"contoso.onmicrosoft.com\"\n"
      "flow = \"client_credentials\"\nclient_secret_command = \"pass show azure\"\n"
      "scope = \"https://outlook.office365.com/.default\"\nca_file = \"/etc/ssl/ms.pem\"\n"));
  const User& user = c.polls.at(0).users.at(0);
  REQUIRE(user.oauth.has_value());
  CHECK(user.oauth->has_provider);
  CHECK(user.oauth->provider == OAuth::Provider::microsoft);
  CHECK(user.oauth->client_id == "9e5f94bc");
  CHECK(user.oauth->tenant == "contoso.onmicrosoft.com");
  CHECK(user.oauth->flow == OAuth::Flow::client_credentials);
  CHECK(user.oauth->client_secret_command == "pass show azure");
  CHECK(user.oauth->scope == "https://outlook.office365.com/.default");
  CHECK(user.oauth->ca_file == "/etc/ssl/ms.pem");
  CHECK(user.password.empty());

  Config g = parsed(with_oauth("provider = \"google\"\nclient_id = \"c\"\nclient_secret = \"s\"\n"));
  CHECK(g.polls.at(0).users.at(0).oauth->flow == OAuth::Flow::device);
  Config t = parsed(with_oauth("token_command = \"oama access u@example.com\"\n", "auth = \"oauth2\"\n"));
  CHECK(t.polls.at(0).auth == Poll::Auth::oauth2);
  CHECK_FALSE(t.polls.at(0).users.at(0).oauth->has_provider);
  CHECK(t.polls.at(0).users.at(0).oauth->token_command == "oama access u@example.com");
}

TEST_CASE("describe() shows the oauth table with every secret and command masked", "[rc][oauth]") {
  std::string text = describe(parsed(with_oauth(
      "provider = \"custom\"\nclient_id = \"cid\"\nclient_secret = \"hunter2-secret\"\n"
      "token_endpoint = \"https://idp.example.com/token\"\n")));
  CHECK(text.find("\nauth = oauth2\n") != std::string::npos);
  CHECK(text.find("\noauth.provider = custom\n") != std::string::npos);
  CHECK(text.find("\noauth.client_id = cid\n") != std::string::npos);
  CHECK(text.find("\noauth.client_secret = ********\n") != std::string::npos);
  CHECK(text.find("\noauth.token_endpoint = https://idp.example.com/token\n") != std::string::npos);
  CHECK(text.find("hunter2-secret") == std::string::npos);
  CHECK(text.find("password") == std::string::npos);
  std::string command = describe(parsed(with_oauth("token_command = \"pizauth show secret-account\"\n")));
  CHECK(command.find("\noauth.token_command = ********\n") != std::string::npos);
  CHECK(command.find("secret-account") == std::string::npos);
}

TEST_CASE("oauth mistakes are one exact line each", "[rc][oauth]") {
  CHECK(error_of(with_oauth("provider = \"yahoo\"\nclient_id = \"c\"\n")) ==
        "t.toml:8:12: provider must be one of \"microsoft\", \"google\", \"custom\", got \"yahoo\"");
  CHECK(error_of(with_oauth("provider = \"google\"\nclient_id = \"c\"\nflow = \"implicit\"\n")) ==
        "t.toml:10:8: flow must be one of \"device\", \"client_credentials\", \"authorization_code\", "
        "got \"implicit\"");
  CHECK(error_of(with_oauth("provider = \"google\"\nclient_id = \"c\"\nclient_secret = \"s\"\n"
                            "client_secret_command = \"pass x\"\n")) ==
        "t.toml:11:1: [poll.user.oauth] has both client_secret and client_secret_command: give only one");
  CHECK(error_of(with_oauth("provider = \"custom\"\nclient_id = \"c\"\n")) ==
        "t.toml:8:12: provider = \"custom\" needs a token_endpoint");
  CHECK(error_of(with_oauth("client_id = \"c\"\n")) ==
        "t.toml:7:1: [poll.user.oauth] needs provider = \"microsoft\", \"google\" or \"custom\", or token_command");
  CHECK(error_of(with_oauth("provider = \"microsoft\"\n")) == "t.toml:7:1: [poll.user.oauth] has no client_id");
  CHECK(error_of(with_oauth("provider = \"microsoft\"\nclient_id = \"c\"\nflow = \"client_credentials\"\n")) ==
        "t.toml:10:8: flow = \"client_credentials\" needs client_secret or client_secret_command");
  CHECK(error_of(with_oauth("token_command = \"x\"\nprovider = \"google\"\n")) ==
        "t.toml:8:1: [poll.user.oauth] has both token_command and provider: token_command takes the "
        "token from a program, provider has clamfetch get it; give only one");
  CHECK(error_of(with_oauth("token_comand = \"x\"\n")).rfind(
            "t.toml:8:1: unknown key 'token_comand' in [poll.user.oauth] (did you mean 'token_command'?)", 0) == 0);
}

TEST_CASE("oauth2 accounts need TLS, a token source and no password", "[rc][oauth]") {
  CHECK(error_of(with_oauth("token_command = \"x\"\n", "tls = \"none\"\nallow_plaintext = true\n")) ==
        "t.toml:4:7: user \"u@example.com\" logs in with OAuth2, which is refused without TLS: "
        "use tls = \"implicit\" or \"starttls\"");
  CHECK(error_of(with_oauth("token_command = \"x\"\n", "", "password = \"p\"\n")) ==
        "t.toml:7:1: user \"u@example.com\" logs in with OAuth2: password is not used, remove it");
  CHECK(error_of(with_oauth("token_command = \"x\"\n", "auth = \"plain\"\n")) ==
        "t.toml:8:12: user \"u@example.com\" has a [poll.user.oauth] table, but the poll sets another "
        "auth: use auth = \"oauth2\" or leave auth out");
  CHECK(error_of("[[poll]]\nserver = \"s\"\nauth = \"oauth2\"\n[[poll.user]]\nusername = \"u\"\n"
                 "password = \"p\"\nis = \"u@example.com\"\n") ==
        "t.toml:4:1: auth = \"oauth2\" needs a [poll.user.oauth] table for user \"u\" (token_command, "
        "or provider and client_id)\n"
        "t.toml:6:1: user \"u\" logs in with OAuth2: password is not used, remove it");
}

TEST_CASE("the Microsoft 365 and Gmail examples are accepted", "[rc][oauth]") {
  for (const char* name : {"microsoft365-token-command.toml", "gmail-token-command.toml", "microsoft365.toml",
                            "gmail.toml"}) {
    INFO(name);
    std::ifstream in(std::string(CLAMFETCH_SOURCE_DIR "/examples/") + name);
    std::stringstream text;
    text << in.rdbuf();
    Config c = parsed(text.str());
    REQUIRE(c.polls.size() == 1);
    const User& user = c.polls.at(0).users.at(0);
    REQUIRE(user.oauth.has_value());
    // The *-token-command examples take the token from a helper; the others have a provider.
    CHECK(user.oauth->token_command.empty() == (std::string(name).find("token-command") == std::string::npos));
    CHECK(describe(c).find("\nauth = oauth2\n") != std::string::npos);
  }
}
