// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Decoding the authorization server's JSON replies (RFC 6749 section 5, RFC 8628 section
// 3.2). Pure code: unit-tested and fuzzed (tests/fuzz/oauth_reply_fuzz.cpp).

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace clamfetch::oauth {

/// A token endpoint reply: either a token (error empty) or an OAuth error code.
struct TokenReply {
  std::string access_token;
  std::string refresh_token;  ///< empty: none issued (keep the old one)
  std::string scope;
  std::int64_t expires_in = 0;  ///< seconds; 0: not given
  std::string error;            ///< "invalid_grant", "authorization_pending", ...
  std::string error_description;  ///< cleaned: one line of printable ASCII, bounded
  bool ok() const { return error.empty(); }
};

/// A device authorization reply (RFC 8628 3.2; Google names the URI verification_url).
struct DeviceReply {
  std::string device_code;
  std::string user_code;
  std::string verification_uri;
  std::string verification_uri_complete;
  std::int64_t expires_in = 0;
  std::int64_t interval = 5;  ///< seconds between polls, the RFC's default when absent
};

/// Decodes a token endpoint reply given its HTTP status. An OAuth error object (any 4xx,
/// also a 2xx carrying "error") is a TokenReply with `error` set. Errors: Kind::protocol for
/// a body that is not the JSON the RFC describes (no access_token, wrong types, not JSON),
/// Kind::server for a 5xx without an OAuth error. Error texts never quote the body.
Result<TokenReply> decode_token_reply(long http_status, std::string_view body);

/// Decodes a device authorization reply; an OAuth error there is an Error (Kind::auth for
/// client errors, naming the code and description). Errors as decode_token_reply.
Result<DeviceReply> decode_device_reply(long http_status, std::string_view body);

/// `text` made safe for a one-line message: printable ASCII only (others become '?'), at most
/// `max` bytes.
std::string one_line(std::string_view text, std::size_t max = 200);

}  // namespace clamfetch::oauth
