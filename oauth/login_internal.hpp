// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Shared by the two logins (login.cpp, loopback.cpp).

#include <string>

#include "oauth/oauth.hpp"
#include "oauth/reply.hpp"

namespace clamfetch::oauth {

/// Saves a login's tokens to `path`. Errors: Kind::auth when no refresh token was issued,
/// Kind::state.
Status store_login(const std::string& path, const std::string& account, const TokenReply& reply);

/// The authorization-code grant with PKCE S256 and a loopback redirect (RFC 8252), then
/// store_login(). Blocks until the redirect came back or io.wait passed.
Status code_login(const Config& config, const std::string& account, const std::string& path,
                  const LoginIo& io);

}  // namespace clamfetch::oauth
