// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// The OAuth2 glue between the rc file and oauth/: where an account's access tokens come from
// (token_command, or a TokenSource kept for the whole process so that a daemon reuses its
// cached token across polls), and `clamfetch --oauth-login [ACCOUNT...]`.

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "oauth/oauth.hpp"
#include "rc/rc.hpp"

namespace clamfetch::app {

/// The user's [poll.user.oauth] as oauth/ takes it, the provider's presets applied and the
/// client secret resolved (client_secret_command runs now). Errors: Kind::auth (the
/// secret's command failed).
Result<oauth::Config> oauth_config(const rc::User& user, const std::string& account);

/// The access-token source for fetch::AccountSettings::access_token: token_command, or the
/// account's TokenSource (created on first use, one per account and configuration for the
/// life of the process). Empty when the user has no [poll.user.oauth].
std::function<Result<std::string>(bool refresh)> access_token_source(const rc::User& user,
                                                                     const std::string& account,
                                                                     const std::string& state_dir);

/// `--oauth-login [ACCOUNT...]`: the device or authorization-code login of every account
/// with a provider (or of those named: "user@server", the user name or the server), one
/// after the other, storing each refresh token under state_dir/oauth. Accounts with
/// token_command or client credentials need none and are named as such. Returns the exit
/// code: 0 all logged in, 3 a login refused or expired, 5 nothing to log in to or an
/// unknown account, else the first failure's code.
int oauth_login(const rc::Config& config, const std::vector<std::string>& wanted,
                const std::string& state_dir, std::FILE* out);

}  // namespace clamfetch::app
