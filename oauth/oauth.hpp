// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// OAuth 2.0 access tokens for one account: the settings (Config), the providers' presets, the
// login that obtains a refresh token (`clamfetch --oauth-login`), and TokenSource, which hands
// out a valid access token and keeps the refresh token on disk. Tokens, secrets, codes and
// PKCE verifiers never appear in an Error's text.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>

#include "core/error.hpp"

namespace clamfetch::oauth {

enum class Provider { microsoft, google, custom };
/// How a token is obtained: a person approves once (device, authorization_code; a refresh
/// token is stored), or the client's own credentials with no person (client_credentials).
enum class Flow { device, client_credentials, authorization_code };

/// One account's OAuth settings, as the rc file gives them (secrets already resolved).
struct Config {
  Provider provider = Provider::custom;
  std::string client_id;
  std::string client_secret;  ///< empty: a public client
  std::string tenant;         ///< microsoft: directory (GUID or domain), "common", "consumers"
  Flow flow = Flow::device;
  std::string token_endpoint;
  std::string device_endpoint;
  std::string authorization_endpoint;
  std::string scope;    ///< space separated
  std::string ca_file;  ///< empty: the system trust store; the certificate is always verified
  std::chrono::seconds timeout{30};  ///< per HTTP request, connect included
};

/// The config with the provider's endpoints and scope filled in where empty (microsoft: the
/// tenant's v2.0 endpoints, tenant "common" by default; client_credentials asks for
/// https://outlook.office365.com/.default; google: its token, device and authorization
/// endpoints and https://mail.google.com/). custom: returned as given.
Config preset(Config config);

/// Where the account's tokens are kept: STATE_DIR/oauth/NAME.json, NAME derived from the
/// account with every byte outside [A-Za-z0-9@_-] (and a leading dot) percent-encoded.
std::string token_file(const std::string& state_dir, const std::string& account);

/// Valid access tokens for one account; one per account, shared by its threads (thread-safe:
/// one request at a time per account). Blocks on HTTP requests (each bounded by the timeout).
class TokenSource {
 public:
  TokenSource(Config config, std::string account, std::string state_dir);
  ~TokenSource();
  TokenSource(const TokenSource&) = delete;
  TokenSource& operator=(const TokenSource&) = delete;

  /// An access token valid for a while yet. The cached one (memory, then the token file)
  /// while it has more than a short margin before expiry; else, or when `refresh` (the server
  /// refused the last one), a new one: the refresh-token grant (a rotated refresh token is
  /// saved atomically before the access token is returned), or for client_credentials the
  /// client's own grant. Errors: Kind::auth (no login yet, invalid_grant: one line naming
  /// `clamfetch --oauth-login ACCOUNT`, client refused), connect/tls/dns/timeout, server,
  /// protocol (a malformed reply), state (token file not written).
  Result<std::string> access_token(bool refresh);

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::mutex mutex_;
};

/// What login() shows the person; by default written to `out`. Tests replace the callbacks
/// to play the user.
struct LoginIo {
  std::ostream* out = nullptr;
  /// Device grant: the URL to open, the code to enter, and the URL with the code in it
  /// (empty when the server gives none).
  std::function<void(const std::string& uri, const std::string& user_code,
                     const std::string& uri_complete)>
      on_device_code;
  /// Authorization-code grant: the URL to open in a browser; the redirect comes back to a
  /// loopback listener of ours.
  std::function<void(const std::string& url)> on_authorization_url;
  /// The longest wait for the person (the device code's own expiry may end it sooner).
  std::chrono::seconds wait{600};
};

/// `clamfetch --oauth-login ACCOUNT`: the device grant (RFC 8628: polls at the server's
/// interval, slower on slow_down) or the authorization-code grant with PKCE S256 and a
/// loopback redirect (RFC 8252), then stores the refresh token (and the access token) in
/// token_file() (directory 0700, file 0600, atomic). Blocks until the person approved,
/// refused, or the code expired. client_credentials: nothing to do, Kind::config.
Status login(const Config& config, const std::string& account, const std::string& state_dir,
             const LoginIo& io);

}  // namespace clamfetch::oauth
