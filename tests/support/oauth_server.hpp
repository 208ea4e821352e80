// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// A real OAuth 2.0 authorization server for tests: oidc-provider (tests/fixture/oauth) over
// HTTPS on an ephemeral loopback port, with the fixture's test CA; and a scripted person who
// approves a login by submitting the provider's own HTML forms (cookies, hidden fields and
// redirects, over libcurl). Every call blocks; failures throw std::runtime_error.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace clamfetch::test {

class OAuthServer {
 public:
  struct Options {
    int access_token_ttl = 3600;  ///< seconds an access token lives
    int device_interval = 1;      ///< the polling interval the device reply names
    bool slow_down_first = false; ///< the first device-code poll is answered slow_down
    /// Certificate and key (with their CA file) to serve; empty: the fixture makes its own
    /// CA (`mailservers certs`). Pass MailServers' SERVER_CERT/SERVER_KEY/CA_FILE to share it.
    std::string cert, key, ca_file;
  };
  /// The clients it knows (tests/fixture/oauth/server.mjs).
  static constexpr const char* kDeviceClient = "device";
  static constexpr const char* kDeviceSecret = "device-secret";
  static constexpr const char* kCodeClient = "code";  ///< public, PKCE, loopback redirect
  static constexpr const char* kAppClient = "app";    ///< client credentials
  static constexpr const char* kAppSecret = "app-secret";

  /// Starts the server in a fresh /tmp directory; returns once it listens.
  OAuthServer() : OAuthServer(Options{}) {}
  explicit OAuthServer(Options options);
  /// SIGTERM, waits for the process, removes the directory (CLAMFETCH_KEEP_FIXTURE=1 keeps it).
  ~OAuthServer();
  OAuthServer(const OAuthServer&) = delete;
  OAuthServer& operator=(const OAuthServer&) = delete;

  const std::string& dir() const { return dir_; }
  /// https://localhost:PORT; endpoints: /token, /device/auth, /auth, /token/introspection,
  /// /token/revocation.
  const std::string& issuer() const { return issuer_; }
  const std::string& ca_file() const { return ca_file_; }

  struct Reply {
    long status = 0;
    std::string body;
  };
  /// POSTs a form to issuer() + path.
  Reply post(const std::string& path, const std::vector<std::pair<std::string, std::string>>& form) const;
  /// Introspection (RFC 7662) as the server's own "resource" client: is the token active?
  bool active(const std::string& token) const;
  /// Revokes a refresh token of the device client (RFC 7009).
  void revoke_refresh_token(const std::string& token) const;

  /// The person: opens `url` and submits every form the provider shows (the user code, the
  /// sign-in as `login`, the consent) until a page without a form; follows redirects, also to
  /// a loopback redirect URI. Returns that last page's URL.
  std::string approve(const std::string& url, const std::string& user_code = "",
                      const std::string& login = "alice") const;

  /// The device-code polls the server saw: milliseconds since its start, and "slow_down" or
  /// "provider" (answered by oidc-provider).
  std::vector<std::pair<long, std::string>> polls() const;
  /// The server's stdout and stderr.
  std::string log() const;

 private:
  std::string dir_, issuer_, ca_file_;
  int pid_ = -1;
};

}  // namespace clamfetch::test
