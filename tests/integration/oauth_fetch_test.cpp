// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// OAuth2 end to end through the real binary: a real authorization server (oidc-provider,
// tests/support/oauth_server.hpp), a real Dovecot whose oauth2 passdb asks that server
// (RFC 7662 introspection) about every token, Postfix. `clamfetch --oauth-login` with the
// test playing the person, then cron-style runs fetch with the stored refresh token.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "support/clamfetch_user.hpp"
#include "support/oauth_server.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

/// Dovecot introspects as the "dovecot" client (HTTP basic authentication from the URL).
MailServers::Options dovecot_asking(const OAuthServer& oauth) {
  MailServers::Options options;
  options.oauth2_introspection = replace(oauth.issuer(), "https://", "https://dovecot:dovecot-secret@") +
                                 "/token/introspection";
  options.oauth2_ca = oauth.ca_file();
  return options;
}

/// The rc file: pop3userid1 logs in with OAuth2 (the device client), pop3userid2 with its
/// password, both over IMAPS.
std::string oauth_rc(const ClamfetchUser& user, const OAuthServer& oauth, const std::string& ca) {
  std::string rc = replace(user.standard_rc("imap", "implicit"), "  password = \"pop3password1\"\n", "");
  return rc +
         "\n  [poll.user.oauth]\n  provider = \"custom\"\n  client_id = \"device\"\n"
         "  client_secret = \"device-secret\"\n  token_endpoint = \"" + oauth.issuer() + "/token\"\n"
         "  device_endpoint = \"" + oauth.issuer() + "/device/auth\"\n"
         "  scope = \"openid offline_access mail\"\n  ca_file = \"" + ca + "\"\n"
         "\n  [[poll.user]]\n  username = \"pop3userid2\"\n  password = \"pop3password2\"\n"
         "  is = \"virtualuser2@example.com\"\n";
}

/// `clamfetch --oauth-login` as the test user, its output going to a file, while this thread
/// plays the person: it reads the URL and code clamfetch prints and approves as pop3userid1.
RunResult oauth_login(const MailServers& servers, const ClamfetchUser& user, const OAuthServer& oauth,
                      std::string& shown) {
  const std::string out = user.home() + "/login.out";
  RunResult result;
  std::thread login([&] {
    result = run({"/bin/sh", "-c", "exec " + clamfetch_binary() + " --oauth-login >" + out + " 2>&1"},
                 servers.env("TEST_USER"), {{"CLAMFETCH_HOME", user.home()}});
  });
  static const std::regex prompt("open (\\S+) and enter the code (\\S+)");
  std::smatch m;
  for (int i = 0; i < 300 && !std::regex_search(shown, m, prompt); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::ifstream in(out);
    shown.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (!m.empty()) oauth.approve(m[1], m[2], "pop3userid1");
  login.join();
  std::ifstream in(out);
  shown.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return result;
}

}  // namespace

TEST_CASE("OAuth2 end to end: --oauth-login, then cron runs fetch with the stored token, refreshed on expiry and rotated, and a revoked grant ends only its account", "[oauth]") {
  OAuthServer::Options server_options;
  server_options.access_token_ttl = 4;  // expires between the runs below
  OAuthServer oauth(server_options);
  MailServers servers(dovecot_asking(oauth));
  ClamfetchUser user(servers);
  const std::string ca = user.home() + "/oauth-ca.pem";  // the test user cannot read the server's dir
  {
    std::ofstream(ca) << read_file(oauth.ca_file());
  }
  REQUIRE(chmod(ca.c_str(), 0644) == 0);
  user.write_rc(oauth_rc(user, oauth, ca));

  std::string shown;
  RunResult login = oauth_login(servers, user, oauth, shown);
  INFO(shown);
  REQUIRE(login.exit_code == 0);
  CHECK(contains(shown, "pop3userid1@localhost: logged in"));
  const std::string token_file = user.home() + "/oauth/pop3userid1@localhost.json";
  struct stat st {};
  REQUIRE(stat(token_file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto first = nlohmann::json::parse(read_file(token_file));
  const std::string first_refresh = first.value("refresh_token", "");
  REQUIRE(!first_refresh.empty());

  // A cron run after the access token expired: refreshed first (the rotated refresh token
  // saved), then the IMAPS login; both accounts fetched.
  servers.seed("pop3userid1", make_message("oauth-1@example.net", 2000));
  servers.seed("pop3userid2", make_message("password-1@example.net", 2000));
  std::this_thread::sleep_for(std::chrono::seconds(5));
  RunResult run1 = user.clamfetch({"-v", "-v"});
  INFO(run1.err);
  CHECK(run1.exit_code == 0);
  servers.wait_queue_empty();
  CHECK(servers.delivered("virtualuser1").size() == 1);
  CHECK(servers.delivered("virtualuser2").size() == 1);
  auto second = nlohmann::json::parse(read_file(token_file));
  const std::string second_refresh = second.value("refresh_token", "");
  CHECK(!second_refresh.empty());
  CHECK(second_refresh != first_refresh);  // rotated, and saved
  for (const std::string& secret : {first_refresh, second_refresh, second.value("access_token", ""),
                                    std::string("device-secret")}) {
    CHECK(!contains(run1.out + run1.err, secret));
  }
  RunResult described = user.clamfetch({"--check-config"});
  CHECK(!contains(described.out + described.err, "device-secret"));

  // The person revokes the grant: the OAuth2 account ends with exit 3 and the renewal hint,
  // its mail stays on the server; the password account is still fetched.
  oauth.revoke_refresh_token(second_refresh);
  servers.seed("pop3userid1", make_message("oauth-2@example.net", 2000));
  servers.seed("pop3userid2", make_message("password-2@example.net", 2000));
  std::this_thread::sleep_for(std::chrono::seconds(5));  // the cached access token expires too
  RunResult run2 = user.clamfetch({});
  INFO(run2.err);
  CHECK(run2.exit_code == 0);  // fetchmail's rule: 0 when any account retrieved mail
  CHECK(contains(run2.err, "clamfetch --oauth-login pop3userid1@localhost"));
  servers.wait_queue_empty();
  CHECK(servers.delivered("virtualuser2").size() == 2);
  CHECK(servers.delivered("virtualuser1").size() == 1);
  CHECK(servers.remote_messages("pop3userid1").size() == 1);
  // With nothing else retrieved, the run's code is the refused login's: 3.
  RunResult run3 = user.clamfetch({});
  INFO(run3.err);
  CHECK(run3.exit_code == 3);
  CHECK(contains(run3.err, "revoked or has expired"));
  CHECK(servers.remote_messages("pop3userid1").size() == 1);
}
