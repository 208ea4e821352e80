// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "app/oauth_tokens.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>

#include "app/settings.hpp"

namespace clamfetch::app {
namespace {

oauth::Provider provider(rc::OAuth::Provider p) {
  switch (p) {
    case rc::OAuth::Provider::microsoft: return oauth::Provider::microsoft;
    case rc::OAuth::Provider::google: return oauth::Provider::google;
    case rc::OAuth::Provider::custom: break;
  }
  return oauth::Provider::custom;
}

oauth::Flow flow(rc::OAuth::Flow f) {
  switch (f) {
    case rc::OAuth::Flow::client_credentials: return oauth::Flow::client_credentials;
    case rc::OAuth::Flow::authorization_code: return oauth::Flow::authorization_code;
    case rc::OAuth::Flow::device: break;
  }
  return oauth::Flow::device;
}

/// The rc table as oauth/ takes it, the presets applied; no client secret yet.
oauth::Config mapped(const rc::OAuth& o, int timeout_seconds) {
  oauth::Config c;
  c.provider = provider(o.provider);
  c.flow = flow(o.flow);
  c.client_id = o.client_id;
  c.tenant = o.tenant;
  c.token_endpoint = o.token_endpoint;
  c.device_endpoint = o.device_endpoint;
  c.authorization_endpoint = o.authorization_endpoint;
  c.scope = o.scope;
  c.ca_file = o.ca_file;  // the identity provider's trust, not the mail server's ca_file
  if (timeout_seconds > 0) c.timeout = std::chrono::seconds(std::min(timeout_seconds, 60));
  return oauth::preset(std::move(c));
}

/// What makes two TokenSources interchangeable: the same account asking the same server.
std::string identity(const std::string& account, const oauth::Config& c) {
  return account + '\n' + c.client_id + '\n' + c.token_endpoint + '\n' + c.scope + '\n' +
         std::to_string(static_cast<int>(c.flow));
}

/// One TokenSource per account for the life of the process (its cached access token serves
/// every poll of a daemon); a changed rc file (a daemon rereads it) gets a new one. The
/// client secret is resolved once, when the source is made.
Result<std::shared_ptr<oauth::TokenSource>> shared_source(const rc::User& user, const std::string& account,
                                                          const std::string& state_dir) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<oauth::TokenSource>> sources;
  oauth::Config config = mapped(*user.oauth, user.timeout);
  std::lock_guard lock(mutex);
  auto& slot = sources[identity(account, config) + '\n' + state_dir];
  if (!slot) {
    auto secret = rc::resolve_client_secret(user, account, user.timeout);
    if (!secret) return secret.error();
    config.client_secret = std::move(*secret);
    slot = std::make_shared<oauth::TokenSource>(std::move(config), account, state_dir);
  }
  return slot;
}

bool named(const std::vector<std::string>& wanted, const rc::Poll& poll, const rc::User& user,
           const std::string& account) {
  if (wanted.empty()) return true;
  return std::any_of(wanted.begin(), wanted.end(), [&](const std::string& w) {
    return w == account || w == poll.server || w == user.username || w == user.username + "@" + poll.server;
  });
}

/// One account's login; the exit code.
int login_one(const rc::User& user, const std::string& account, const std::string& state_dir, std::FILE* out) {
  if (!user.oauth->token_command.empty()) {
    std::fprintf(out, "%s: token_command gives the tokens, no login needed\n", account.c_str());
    return 0;
  }
  if (user.oauth->flow == rc::OAuth::Flow::client_credentials) {
    std::fprintf(out, "%s: client credentials need no login\n", account.c_str());
    return 0;
  }
  auto config = oauth_config(user, account);
  if (!config) {
    std::fprintf(stderr, "clamfetch: %s\n", config.error().text.c_str());
    return exit_code(config.error().kind);
  }
  oauth::LoginIo io;
  io.on_device_code = [&](const std::string& uri, const std::string& code, const std::string& complete) {
    std::fprintf(out, "%s: open %s and enter the code %s\n", account.c_str(), uri.c_str(), code.c_str());
    if (!complete.empty()) std::fprintf(out, "  (or open %s)\n", complete.c_str());
    std::fflush(out);
  };
  io.on_authorization_url = [&](const std::string& url) {
    std::fprintf(out, "%s: open this address in a browser on this machine:\n  %s\n", account.c_str(), url.c_str());
    std::fflush(out);
  };
  if (Status done = oauth::login(*config, account, state_dir, io); !done) {
    std::fprintf(stderr, "clamfetch: %s\n", done.error().text.c_str());
    return exit_code(done.error().kind);
  }
  std::fprintf(out, "%s: logged in; the refresh token is in %s\n", account.c_str(),
               oauth::token_file(state_dir, account).c_str());
  return 0;
}

}  // namespace

Result<oauth::Config> oauth_config(const rc::User& user, const std::string& account) {
  if (!user.oauth) return make_error(Kind::auth, Scope::account, "no [poll.user.oauth] for " + account);
  oauth::Config config = mapped(*user.oauth, user.timeout);
  auto secret = rc::resolve_client_secret(user, account, user.timeout);
  if (!secret) return secret.error();
  config.client_secret = std::move(*secret);
  return config;
}

std::function<Result<std::string>(bool)> access_token_source(const rc::User& user, const std::string& account,
                                                             const std::string& state_dir) {
  if (!user.oauth) return {};
  if (!user.oauth->token_command.empty()) {
    // Run just before each login attempt, again after a refusal: it may print a fresh token.
    return [user, account](bool /*refresh*/) { return rc::run_token_command(user, account, user.timeout); };
  }
  return [user, account, state_dir](bool refresh) -> Result<std::string> {
    auto source = shared_source(user, account, state_dir);
    if (!source) return source.error();
    return (*source)->access_token(refresh);
  };
}

int oauth_login(const rc::Config& config, const std::vector<std::string>& wanted, const std::string& state_dir,
                std::FILE* out) {
  int result = 0;
  bool any = false;
  for (const rc::Poll& poll : config.polls) {
    for (const rc::User& user : poll.users) {
      const std::string account = account_name(poll, user);
      if (!user.oauth || !named(wanted, poll, user, account)) continue;
      any = true;
      int code = login_one(user, account, state_dir, out);
      if (result == 0) result = code;
    }
  }
  if (!any) {
    std::fprintf(stderr, "clamfetch: %s\n",
                 wanted.empty() ? "no account in the rc file has a [poll.user.oauth] table"
                                : "no OAuth2 account matches the names given to --oauth-login");
    return 5;
  }
  return result;
}

}  // namespace clamfetch::app
