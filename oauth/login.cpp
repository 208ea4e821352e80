// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// `clamfetch --oauth-login`: the device authorization grant (RFC 8628) here, the
// authorization-code grant in loopback.cpp; both end by storing the tokens.
#include <algorithm>
#include <chrono>
#include <thread>

#include "oauth/internal.hpp"
#include "oauth/login_internal.hpp"

namespace clamfetch::oauth {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kDeviceGrant = "urn:ietf:params:oauth:grant-type:device_code";

void show_device_code(const LoginIo& io, const std::string& account, const DeviceReply& device) {
  if (io.on_device_code) {
    io.on_device_code(device.verification_uri, device.user_code, device.verification_uri_complete);
    return;
  }
  if (io.out == nullptr) return;
  *io.out << "To authorize clamfetch for " << account << ", open " << device.verification_uri
          << "\nand enter the code " << device.user_code << "\n";
  if (!device.verification_uri_complete.empty())
    *io.out << "(or open " << device.verification_uri_complete << ")\n";
  *io.out << "Waiting for the approval..." << std::endl;
}

// A network failure while the person is still typing is worth another poll, not the login.
bool transient(const Error& error) {
  return error.kind == Kind::timeout || error.kind == Kind::connect || error.kind == Kind::server;
}

Error poll_refused(const std::string& account, const TokenReply& reply) {
  if (reply.error == "access_denied")
    return make_error(Kind::auth, Scope::account,
                      "OAuth2 login for " + account + ": the authorization was refused");
  if (reply.error == "expired_token")
    return make_error(Kind::auth, Scope::account,
                      "OAuth2 login for " + account +
                          ": the code expired before it was approved; run the login again");
  std::string text = "OAuth2 login for " + account + " refused: " + reply.error;
  if (!reply.error_description.empty()) text += " (" + reply.error_description + ")";
  return make_error(Kind::auth, Scope::account, text);
}

// Polls the token endpoint at the server's interval until the person approved (RFC 8628
// 3.4, 3.5): authorization_pending goes on, slow_down adds 5 seconds for good.
Result<TokenReply> poll_device(const Config& config, const std::string& account,
                               const DeviceReply& device, Clock::time_point deadline) {
  Form form{{"grant_type", kDeviceGrant}, {"device_code", device.device_code}};
  for (auto& field : client_fields(config)) form.push_back(std::move(field));
  auto interval = std::chrono::seconds(device.interval);
  for (;;) {
    if (Clock::now() + interval > deadline)
      return make_error(Kind::auth, Scope::account,
                        "OAuth2 login for " + account + ": nobody approved the code in time");
    std::this_thread::sleep_for(interval);
    auto reply = token_request(config, form);
    if (!reply) {
      if (transient(reply.error())) continue;
      return reply.error();
    }
    if (reply->ok()) return reply;
    if (reply->error == "authorization_pending") continue;
    if (reply->error == "slow_down") {
      interval += std::chrono::seconds(5);
      continue;
    }
    return poll_refused(account, *reply);
  }
}

Status device_login(const Config& config, const std::string& account, const std::string& path,
                    const LoginIo& io) {
  if (config.device_endpoint.empty())
    return make_error(Kind::config, Scope::account,
                      "OAuth2 device login for " + account + " needs device_endpoint");
  Form form = client_fields(config);
  if (!config.scope.empty()) form.emplace_back("scope", config.scope);
  auto http = post_form(config.device_endpoint, form, config);
  if (!http) return http.error();
  auto device = decode_device_reply(http->status, http->body);
  if (!device) return device.error();
  show_device_code(io, account, *device);
  auto deadline = Clock::now() + io.wait;
  if (device->expires_in > 0)
    deadline = std::min(deadline, Clock::now() + std::chrono::seconds(device->expires_in));
  auto reply = poll_device(config, account, *device, deadline);
  if (!reply) return reply.error();
  return store_login(path, account, *reply);
}

}  // namespace

Status store_login(const std::string& path, const std::string& account, const TokenReply& reply) {
  if (reply.refresh_token.empty())
    return make_error(Kind::auth, Scope::account,
                      "OAuth2 login for " + account +
                          ": the server issued no refresh token (is offline access in the scope?)");
  StoredTokens tokens;
  tokens.refresh_token = reply.refresh_token;
  tokens.access_token = reply.access_token;
  tokens.lifetime = reply.expires_in > 0 ? reply.expires_in : 300;
  tokens.expires_at = unix_now() + tokens.lifetime;
  return save_tokens(path, tokens);
}

Status login(const Config& config, const std::string& account, const std::string& state_dir,
             const LoginIo& io) {
  const std::string path = token_file(state_dir, account);
  switch (config.flow) {
    case Flow::device: return device_login(config, account, path, io);
    case Flow::authorization_code: return code_login(config, account, path, io);
    case Flow::client_credentials: break;
  }
  return make_error(Kind::config, Scope::account,
                    "account " + account + " uses client credentials: it needs no login");
}

}  // namespace clamfetch::oauth
