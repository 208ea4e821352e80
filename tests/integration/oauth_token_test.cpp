// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// oauth/ against a real authorization server (oidc-provider, tests/support/oauth_server.hpp):
// the device login with the test playing the person, the authorization-code login over a
// loopback redirect, refresh on expiry, refresh-token rotation, revocation, client
// credentials, slow_down. One server per test case.
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "oauth/oauth.hpp"
#include "support/oauth_server.hpp"
#include "support/servers.hpp"

using namespace clamfetch;
using clamfetch::test::OAuthServer;

namespace {

constexpr const char* kAccount = "alice@mail.example.com";

struct StateDir {
  std::string path;
  StateDir() {
    char buffer[] = "/tmp/cfsXXXXXX";
    REQUIRE(mkdtemp(buffer) != nullptr);
    path = buffer;
  }
  ~StateDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

oauth::Config device_config(const OAuthServer& server) {
  oauth::Config config;
  config.provider = oauth::Provider::custom;
  config.client_id = OAuthServer::kDeviceClient;
  config.client_secret = OAuthServer::kDeviceSecret;
  config.flow = oauth::Flow::device;
  config.token_endpoint = server.issuer() + "/token";
  config.device_endpoint = server.issuer() + "/device/auth";
  config.scope = "openid offline_access mail";
  config.ca_file = server.ca_file();
  config.timeout = std::chrono::seconds(10);
  return config;
}

nlohmann::json token_file_json(const std::string& state_dir) {
  return nlohmann::json::parse(test::read_file(oauth::token_file(state_dir, kAccount)));
}

// The person approves in the browser a moment after the code was shown: the first polls see
// authorization_pending.
void device_login(const OAuthServer& server, const oauth::Config& config, const std::string& state_dir) {
  std::thread person;
  oauth::LoginIo io;
  io.on_device_code = [&](const std::string& uri, const std::string& code, const std::string&) {
    person = std::thread([&server, uri, code] { server.approve(uri, code); });
  };
  Status done = oauth::login(config, kAccount, state_dir, io);
  if (person.joinable()) person.join();
  INFO((done.ok() ? "" : done.error().text));
  REQUIRE(done.ok());
}

void no_secret_in(const std::string& text, const std::string& state_dir) {
  CHECK(text.find('\n') == std::string::npos);
  CHECK(text.find(OAuthServer::kDeviceSecret) == std::string::npos);
  CHECK(text.find(OAuthServer::kAppSecret) == std::string::npos);
  auto path = oauth::token_file(state_dir, kAccount);
  if (!std::filesystem::exists(path)) return;
  auto json = token_file_json(state_dir);
  for (const char* key : {"refresh_token", "access_token"}) {
    std::string secret = json[key].get<std::string>();
    if (!secret.empty()) CHECK(text.find(secret) == std::string::npos);
  }
}

}  // namespace

TEST_CASE("device login stores the refresh token privately and later runs use it", "[oauth]") {
  OAuthServer server;
  StateDir state;
  device_login(server, device_config(server), state.path);

  struct stat st {};
  REQUIRE(::stat((state.path + "/oauth").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  const std::string file = oauth::token_file(state.path, kAccount);
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto json = token_file_json(state.path);
  const std::string refresh = json["refresh_token"];
  CHECK(!refresh.empty());
  // The device code was polled while the person was still at the forms.
  CHECK(server.polls().size() >= 1);

  // A later run (a new TokenSource, as a new process would have) uses the cached token.
  oauth::TokenSource source(device_config(server), kAccount, state.path);
  auto token = source.access_token(false);
  REQUIRE(token.ok());
  CHECK(*token == json["access_token"].get<std::string>());
  CHECK(server.active(*token));
  // The server refused it: a new one from the refresh token.
  auto fresh = source.access_token(true);
  REQUIRE(fresh.ok());
  CHECK(*fresh != *token);
  CHECK(server.active(*fresh));
}

TEST_CASE("an expired access token is refreshed and the rotated refresh token saved first", "[oauth]") {
  OAuthServer::Options options;
  options.access_token_ttl = 2;
  OAuthServer server(options);
  StateDir state;
  device_login(server, device_config(server), state.path);
  const std::string first_refresh = token_file_json(state.path)["refresh_token"];

  oauth::TokenSource source(device_config(server), kAccount, state.path);
  auto first = source.access_token(false);
  REQUIRE(first.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  CHECK_FALSE(server.active(*first));
  auto second = source.access_token(false);  // not forced: the expiry alone
  REQUIRE(second.ok());
  CHECK(*second != *first);
  CHECK(server.active(*second));
  const std::string second_refresh = token_file_json(state.path)["refresh_token"];
  CHECK(second_refresh != first_refresh);

  // The rotated token is the one used next: with the old one the server would refuse (and,
  // seeing a reuse, revoke the whole grant).
  auto third = source.access_token(true);
  INFO((third.ok() ? "" : third.error().text));
  REQUIRE(third.ok());
  CHECK(server.active(*third));
  CHECK(token_file_json(state.path)["refresh_token"] != second_refresh);
  auto reuse = server.post("/token", {{"grant_type", "refresh_token"},
                                      {"refresh_token", first_refresh},
                                      {"client_id", OAuthServer::kDeviceClient},
                                      {"client_secret", OAuthServer::kDeviceSecret}});
  CHECK(reuse.status == 400);
  CHECK(reuse.body.find("invalid_grant") != std::string::npos);
}

TEST_CASE("a revoked refresh token is an auth error naming the renewal command, a new login cures it", "[oauth]") {
  OAuthServer server;
  StateDir state;
  device_login(server, device_config(server), state.path);
  server.revoke_refresh_token(token_file_json(state.path)["refresh_token"]);

  oauth::TokenSource source(device_config(server), kAccount, state.path);
  auto token = source.access_token(true);
  REQUIRE_FALSE(token.ok());
  CHECK(token.error().kind == Kind::auth);
  CHECK(token.error().text ==
        std::string("OAuth2 refresh token for ") + kAccount +
            " was revoked or has expired (invalid_grant): renew it with `clamfetch --oauth-login " +
            kAccount + "`");
  no_secret_in(token.error().text, state.path);

  // The renewal, made while this TokenSource lives (a daemon running): it takes the new
  // refresh token from the file.
  device_login(server, device_config(server), state.path);
  auto renewed = source.access_token(true);
  INFO((renewed.ok() ? "" : renewed.error().text));
  REQUIRE(renewed.ok());
  CHECK(server.active(*renewed));
}

TEST_CASE("no login yet is an auth error naming the login command", "[oauth]") {
  StateDir state;
  oauth::Config config;
  config.client_id = "device";
  config.token_endpoint = "https://127.0.0.1:1/token";
  oauth::TokenSource source(config, kAccount, state.path);
  auto token = source.access_token(false);
  REQUIRE_FALSE(token.ok());
  CHECK(token.error().kind == Kind::auth);
  CHECK(token.error().text.find(std::string("clamfetch --oauth-login ") + kAccount) != std::string::npos);
}

TEST_CASE("client credentials need no login and keep nothing on disk", "[oauth]") {
  OAuthServer server;
  StateDir state;
  oauth::Config config;
  config.client_id = OAuthServer::kAppClient;
  config.client_secret = OAuthServer::kAppSecret;
  config.flow = oauth::Flow::client_credentials;
  config.token_endpoint = server.issuer() + "/token";
  config.scope = "mail";
  config.ca_file = server.ca_file();
  oauth::TokenSource source(config, kAccount, state.path);
  auto token = source.access_token(false);
  INFO((token.ok() ? "" : token.error().text));
  REQUIRE(token.ok());
  CHECK(server.active(*token));
  auto again = source.access_token(false);
  REQUIRE(again.ok());
  CHECK(*again == *token);  // cached
  CHECK_FALSE(std::filesystem::exists(state.path + "/oauth"));

  // A wrong secret: refused, and the secret is not in the message.
  config.client_secret = "wrong-app-secret";
  oauth::TokenSource wrong(config, kAccount, state.path);
  auto refused = wrong.access_token(false);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == Kind::auth);
  CHECK(refused.error().text.find("invalid_client") != std::string::npos);
  CHECK(refused.error().text.find("wrong-app-secret") == std::string::npos);
}

TEST_CASE("slow_down adds five seconds to the polling interval", "[oauth]") {
  OAuthServer::Options options;
  options.slow_down_first = true;
  OAuthServer server(options);
  StateDir state;
  oauth::LoginIo io;
  // Approved at once: the first poll (answered slow_down) and the second (the token) are
  // spaced by the interval (1 s) plus 5 s.
  io.on_device_code = [&](const std::string& uri, const std::string& code, const std::string&) {
    server.approve(uri, code);
  };
  Status done = oauth::login(device_config(server), kAccount, state.path, io);
  INFO((done.ok() ? "" : done.error().text));
  REQUIRE(done.ok());
  auto polls = server.polls();
  REQUIRE(polls.size() == 2);
  CHECK(polls[0].second == "slow_down");
  CHECK(polls[1].second == "provider");
  CHECK(polls[1].first - polls[0].first >= 6000);
}

TEST_CASE("authorization code login with PKCE over a loopback redirect", "[oauth]") {
  OAuthServer server;
  StateDir state;
  oauth::Config config;
  config.client_id = OAuthServer::kCodeClient;  // public: PKCE is all it has
  config.flow = oauth::Flow::authorization_code;
  config.authorization_endpoint = server.issuer() + "/auth";
  config.token_endpoint = server.issuer() + "/token";
  config.scope = "openid offline_access mail";
  config.ca_file = server.ca_file();
  std::thread person;
  std::string shown, landed;
  oauth::LoginIo io;
  io.wait = std::chrono::seconds(30);
  io.on_authorization_url = [&](const std::string& url) {
    shown = url;
    person = std::thread([&server, url, &landed] { landed = server.approve(url); });
  };
  Status done = oauth::login(config, kAccount, state.path, io);
  if (person.joinable()) person.join();
  INFO((done.ok() ? "" : done.error().text));
  REQUIRE(done.ok());
  CHECK(shown.find("code_challenge_method=S256") != std::string::npos);
  CHECK(shown.find("redirect_uri=http%3A%2F%2F127.0.0.1%3A") != std::string::npos);
  CHECK(landed.rfind("http://127.0.0.1:", 0) == 0);
  auto json = token_file_json(state.path);
  CHECK(!json["refresh_token"].get<std::string>().empty());
  oauth::TokenSource source(config, kAccount, state.path);
  auto fresh = source.access_token(true);
  REQUIRE(fresh.ok());
  CHECK(server.active(*fresh));
}

// A hand-written fake: a token endpoint that accepts the connection and never answers (a
// real server cannot be made to hang). The request ends at the configured timeout.
TEST_CASE("a token endpoint that hangs ends at the timeout", "[oauth]") {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), size) == 0);
  REQUIRE(::listen(listener, 4) == 0);  // never accepted: the kernel completes the connect
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &size) == 0);
  StateDir state;
  oauth::Config config;
  config.client_id = OAuthServer::kAppClient;
  config.client_secret = OAuthServer::kAppSecret;
  config.flow = oauth::Flow::client_credentials;
  config.token_endpoint = "https://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/token";
  config.timeout = std::chrono::seconds(1);
  oauth::TokenSource source(config, kAccount, state.path);
  auto started = std::chrono::steady_clock::now();
  auto token = source.access_token(false);
  auto took = std::chrono::steady_clock::now() - started;
  ::close(listener);
  REQUIRE_FALSE(token.ok());
  CHECK(token.error().kind == Kind::timeout);
  CHECK(took < std::chrono::seconds(5));
  no_secret_in(token.error().text, state.path);
}
