// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Internal to fetch/: the SASL side of OAuth2 logins, pure. OAUTHBEARER (RFC 7628) and
// XOAUTH2 (Google's and Microsoft's format) initial responses, the choice between them, and the
// decoding of a server's failure challenge (base64 JSON: status, scope). The IMAP and POP3
// exchanges that use them are in imap_oauth.cpp and pop3_auth.cpp. Declared here for
// tests/unit/fetch_oauth_sasl_test.cpp and tests/fuzz/oauth_sasl_fuzz.cpp.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace clamfetch::fetch {

enum class OAuthMechanism { oauthbearer, xoauth2 };

/// "OAUTHBEARER" / "XOAUTH2".
const char* oauth_mechanism_name(OAuthMechanism mechanism);

/// OAUTHBEARER when the server offers it, else XOAUTH2. Errors: Kind::auth "server offers
/// neither OAUTHBEARER nor XOAUTH2" (the caller names the account).
Result<OAuthMechanism> choose_oauth_mechanism(bool offers_oauthbearer, bool offers_xoauth2);

/// Whether `token` can go into a SASL message: 1 to 16384 printable ASCII octets (RFC 6750's
/// b64token and more; no space, no ^A, no CR or LF).
bool usable_token(std::string_view token);

/// The initial client response, not yet base64-encoded. OAUTHBEARER (RFC 7628 3.1):
/// "n,a=USER,^Ahost=HOST^Aport=PORT^Aauth=Bearer TOKEN^A^A" with ',' and '=' in USER escaped
/// as =2C and =3D (RFC 5801); XOAUTH2: "user=USER^Aauth=Bearer TOKEN^A^A". The result holds the
/// token: wipe it after use.
std::string oauth_initial_response(OAuthMechanism mechanism, std::string_view user,
                                   std::string_view host, uint16_t port, std::string_view token);

/// What the client answers to a failure challenge (RFC 7628 3.2.3): a single ^A for
/// OAUTHBEARER, an empty response for XOAUTH2; the server then sends its final refusal.
std::string_view oauth_failure_answer(OAuthMechanism mechanism);

/// A server's failure challenge, decoded.
struct OAuthFailure {
  std::string status;                ///< "invalid_token", "401", ... (may be empty)
  std::string scope;                 ///< the scope the server wants, if it said
  std::string openid_configuration;  ///< discovery URL, if it said
};

/// Decodes a failure challenge: base64 of a JSON object (RFC 7628 3.2.2). Only string (or
/// number) members status, scope and openid-configuration are kept, each made printable and
/// cut at 200 characters. Errors: Kind::protocol naming what was wrong (not base64, not a JSON
/// object). Never throws; pure.
Result<OAuthFailure> decode_oauth_failure(std::string_view base64_challenge);

/// "status invalid_token, scope https://mail.google.com/" for an error line; empty when the
/// server said nothing of use.
std::string describe_oauth_failure(const OAuthFailure& failure);

/// Standard base64 decoding (RFC 4648, padding required, no line breaks); nullopt when `text`
/// is not that. Pure.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace clamfetch::fetch
