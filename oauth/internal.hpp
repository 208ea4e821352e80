// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Shared inside oauth/: HTTPS requests (libcurl) and the token file.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "oauth/oauth.hpp"
#include "oauth/reply.hpp"

namespace clamfetch::oauth {

using Form = std::vector<std::pair<std::string, std::string>>;

struct HttpReply {
  long status = 0;
  std::string body;
};

/// POSTs `form` (application/x-www-form-urlencoded) over verified HTTPS (https:// only, no
/// redirects followed, the whole request bounded by config.timeout). Errors: Kind::dns,
/// connect, tls, timeout, protocol; their text names the URL, never the form.
Result<HttpReply> post_form(const std::string& url, const Form& form, const Config& config);

/// application/x-www-form-urlencoded encoding of `form`.
std::string form_encode(const Form& form);
/// Percent-encoding of one value (RFC 3986 unreserved characters kept).
std::string url_encode(std::string_view text);

/// The token endpoint's reply to `form`, decoded. Errors: post_form's and decode's.
Result<TokenReply> token_request(const Config& config, const Form& form);

/// The client's credentials as form fields (client_secret_post: client_id, and the secret
/// when there is one).
Form client_fields(const Config& config);

/// What the token file holds.
struct StoredTokens {
  std::string refresh_token;
  std::string access_token;
  std::int64_t expires_at = 0;  ///< unix seconds; 0: unknown (treated as expired)
  std::int64_t lifetime = 0;    ///< the access token's expires_in, for the refresh margin
};

/// Reads the token file. A missing file is std::nullopt. Errors: Kind::state (unreadable,
/// not JSON: the text names the file, never its content).
Result<std::optional<StoredTokens>> load_tokens(const std::string& path);
/// Writes the token file atomically (0600), creating its directory (0700). Errors: Kind::state.
Status save_tokens(const std::string& path, const StoredTokens& tokens);

/// Unix seconds now.
std::int64_t unix_now();

}  // namespace clamfetch::oauth
