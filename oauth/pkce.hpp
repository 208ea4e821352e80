// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// PKCE (RFC 7636) and the random values of the authorization-code grant. Pure except for the
// random source (OpenSSL's RAND_bytes).

#include <cstddef>
#include <string>
#include <string_view>

namespace clamfetch::oauth {

/// base64url without padding (RFC 7636 appendix A).
std::string base64url(std::string_view bytes);
/// The S256 code challenge: base64url(SHA-256(verifier)).
std::string pkce_challenge(std::string_view verifier);
/// `bytes` random bytes from OpenSSL, base64url-encoded (32 bytes: a 43-character verifier).
/// Returns an empty string if the random source fails (the caller refuses to go on).
std::string random_token(std::size_t bytes = 32);

}  // namespace clamfetch::oauth
