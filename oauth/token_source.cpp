// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// TokenSource: the cached access token while it is good, else a refresh-token grant (or the
// client-credentials grant), with the rotated refresh token on disk before it is used.
#include <algorithm>

#include "oauth/internal.hpp"

namespace clamfetch::oauth {

Form client_fields(const Config& config) {
  Form form{{"client_id", config.client_id}};
  if (!config.client_secret.empty()) form.emplace_back("client_secret", config.client_secret);
  return form;
}

Result<TokenReply> token_request(const Config& config, const Form& form) {
  auto http = post_form(config.token_endpoint, form, config);
  if (!http) return http.error();
  return decode_token_reply(http->status, http->body);
}

struct TokenSource::State {
  Config config;
  std::string account;
  std::string path;
  StoredTokens tokens;
};

namespace {

// Refreshed this long before expiry: a login started now must not race the expiry. A tenth
// of the lifetime, at most five minutes (Microsoft's tokens live 60-90 minutes).
bool still_good(const StoredTokens& tokens) {
  if (tokens.access_token.empty() || tokens.expires_at == 0) return false;
  std::int64_t margin = std::min<std::int64_t>(300, std::max<std::int64_t>(tokens.lifetime, 0) / 10);
  return unix_now() < tokens.expires_at - margin;
}

Error login_needed(const std::string& account) {
  return make_error(Kind::auth, Scope::account,
                    "no OAuth2 refresh token for " + account +
                        ": run `clamfetch --oauth-login " + account + "` once");
}

Error refused(const std::string& account, const TokenReply& reply) {
  if (reply.error == "invalid_grant")
    return make_error(Kind::auth, Scope::account,
                      "OAuth2 refresh token for " + account +
                          " was revoked or has expired (invalid_grant): renew it with "
                          "`clamfetch --oauth-login " + account + "`");
  std::string text = "OAuth2 token request for " + account + " refused: " + reply.error;
  if (!reply.error_description.empty()) text += " (" + reply.error_description + ")";
  bool server_side = reply.error == "temporarily_unavailable" || reply.error == "server_error";
  return make_error(server_side ? Kind::server : Kind::auth, Scope::account, text);
}

}  // namespace

TokenSource::TokenSource(Config config, std::string account, std::string state_dir)
    : state_(std::make_unique<State>()) {
  state_->config = std::move(config);
  state_->path = token_file(state_dir, account);
  state_->account = std::move(account);
}

TokenSource::~TokenSource() = default;

Result<std::string> TokenSource::access_token(bool refresh) {
  std::lock_guard lock(mutex_);
  State& s = *state_;
  const bool app_only = s.config.flow == Flow::client_credentials;
  // Client credentials keep nothing on disk: a new grant costs one request and no person.
  // Otherwise the file is read again whenever a request is due: a login made meanwhile by
  // `clamfetch --oauth-login` (another process, while a daemon runs) replaced the tokens.
  if (!app_only && (refresh || !still_good(s.tokens))) {
    auto stored = load_tokens(s.path);
    if (!stored) return stored.error();
    if (*stored && (*stored)->refresh_token != s.tokens.refresh_token) s.tokens = **stored;
  }
  if (!refresh && still_good(s.tokens)) return s.tokens.access_token;

  Form form;
  if (app_only) {
    form = {{"grant_type", "client_credentials"}, {"scope", s.config.scope}};
  } else {
    if (s.tokens.refresh_token.empty()) return login_needed(s.account);
    form = {{"grant_type", "refresh_token"}, {"refresh_token", s.tokens.refresh_token}};
    if (!s.config.scope.empty()) form.emplace_back("scope", s.config.scope);
  }
  for (auto& field : client_fields(s.config)) form.push_back(std::move(field));
  auto reply = token_request(s.config, form);
  if (!reply) return reply.error();
  if (!reply->ok()) return refused(s.account, *reply);

  StoredTokens next = s.tokens;
  next.access_token = reply->access_token;
  // No expires_in: the RFC leaves the lifetime to documentation; a short one is assumed.
  std::int64_t lifetime = reply->expires_in > 0 ? reply->expires_in : 300;
  next.expires_at = unix_now() + lifetime;
  next.lifetime = lifetime;
  if (!reply->refresh_token.empty()) next.refresh_token = reply->refresh_token;
  if (!app_only) {
    // The server may have rotated the refresh token and forgotten the old one: on disk first,
    // or a crash after this point would leave only a dead token there.
    if (auto saved = save_tokens(s.path, next); !saved) return saved.error();
  }
  s.tokens = std::move(next);
  return s.tokens.access_token;
}

}  // namespace clamfetch::oauth
