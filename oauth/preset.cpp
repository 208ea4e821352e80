// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The providers' endpoints and scopes, filled in where the rc file leaves them empty.
//   Microsoft identity platform v2.0: https://login.microsoftonline.com/{tenant}/oauth2/v2.0/
//   {authorize,token,devicecode}; delegated IMAP/POP scopes of Exchange Online plus
//   offline_access (a refresh token); app-only (client credentials) asks for the resource's
//   /.default.
//   Google: https://oauth2.googleapis.com/token, /device/code, accounts.google.com's
//   /o/oauth2/v2/auth; the one mail scope https://mail.google.com/. Google's device grant
//   refuses that scope (its device flow allows a short list of scopes), so Google's flow is
//   authorization_code with a loopback redirect.
#include "oauth/oauth.hpp"

namespace clamfetch::oauth {
namespace {

void set_if_empty(std::string& field, const std::string& value) {
  if (field.empty()) field = value;
}

void microsoft(Config& config) {
  set_if_empty(config.tenant, "common");
  const std::string base = "https://login.microsoftonline.com/" + config.tenant + "/oauth2/v2.0/";
  set_if_empty(config.token_endpoint, base + "token");
  set_if_empty(config.device_endpoint, base + "devicecode");
  set_if_empty(config.authorization_endpoint, base + "authorize");
  if (config.flow == Flow::client_credentials) {
    set_if_empty(config.scope, "https://outlook.office365.com/.default");
  } else {
    set_if_empty(config.scope,
                 "https://outlook.office365.com/IMAP.AccessAsUser.All "
                 "https://outlook.office365.com/POP.AccessAsUser.All offline_access");
  }
}

void google(Config& config) {
  set_if_empty(config.token_endpoint, "https://oauth2.googleapis.com/token");
  set_if_empty(config.device_endpoint, "https://oauth2.googleapis.com/device/code");
  set_if_empty(config.authorization_endpoint, "https://accounts.google.com/o/oauth2/v2/auth");
  set_if_empty(config.scope, "https://mail.google.com/");
}

}  // namespace

Config preset(Config config) {
  switch (config.provider) {
    case Provider::microsoft: microsoft(config); break;
    case Provider::google: google(config); break;
    case Provider::custom: break;
  }
  return config;
}

}  // namespace clamfetch::oauth
