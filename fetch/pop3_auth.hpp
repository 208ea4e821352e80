// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Internal to fetch/: POP3 logins beyond USER/PASS — the choice of mechanism (rc `auth`),
// AUTH PLAIN (RFC 5034 with the RFC 4616 initial response), AUTH LOGIN, and APOP (RFC 1939 7,
// digest computed with OpenSSL: libetpan's mailpop3_apop is wrong on 64-bit). The exchanges
// go over our own Pop3Wire, bounded by the stream's per-reply timeout; every secret is masked
// in the trace. The pure helpers are declared here for tests/unit/fetch_pop3_auth_test.cpp.

#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "fetch/fetch.hpp"
#include "fetch/oauth_sasl.hpp"
#include "fetch/pop3_wire.hpp"

namespace clamfetch::fetch {

/// The longest APOP timestamp accepted, angle brackets included (RFC 1939 sets no bound; real
/// ones are under 100 octets).
inline constexpr std::size_t kMaxApopTimestamp = 256;

/// The RFC 1939 timestamp of a POP3 greeting text (after "+OK "): the first "<...>", which must
/// contain '@' and only printable octets (0x21..0x7E) and be at most kMaxApopTimestamp long.
/// Returns it with its angle brackets, or empty when the greeting offers no usable one.
std::string apop_timestamp(std::string_view greeting);

/// Lower-case hex MD5(timestamp + secret), the APOP digest. Errors: Kind::internal when
/// OpenSSL fails (no MD5 in the loaded providers).
Result<std::string> apop_digest(std::string_view timestamp, std::string_view secret);


/// The AUTH PLAIN response: base64 of "\0user\0password" (empty authorization identity).
std::string plain_response(std::string_view user, std::string_view password);

/// What a POP3 session sends to log in.
enum class Pop3Login { user_pass, auth_plain, auth_login, apop, oauth2 };

/// The login for `wanted` given what the server offered: `under_tls` (implicit TLS, or after
/// STLS), `sasl` (the mechanisms of CAPA's SASL line, upper case) and whether the greeting
/// had an APOP timestamp. automatic: AUTH PLAIN, else AUTH LOGIN, under TLS only; else
/// USER/PASS; never APOP. The other methods are required; oauth2 needs TLS and a SASL line
/// with OAUTHBEARER or XOAUTH2. Errors: Kind::auth with the reason
/// alone ("server offers no AUTH PLAIN"); the caller names the account.
Result<Pop3Login> choose_pop3_login(AuthMethod wanted, bool under_tls,
                                    const std::set<std::string>& sasl, bool has_timestamp);

/// Sends AUTH PLAIN with the initial response (or, when the command line would pass 255
/// octets, after the server's empty challenge) and reads the final status reply, which the
/// caller judges (-ERR: refused). Blocks up to the timeout per reply. Errors: protocol (an
/// unexpected challenge or +OK), connect, timeout — the stream is then out of step.
Result<Pop3Reply> pop3_auth_plain(Pop3Wire& wire, std::string_view user, std::string_view password);

/// Sends AUTH LOGIN, answers the two challenges with base64 user name and password, and reads
/// the final status reply. Errors as pop3_auth_plain.
Result<Pop3Reply> pop3_auth_login(Pop3Wire& wire, std::string_view user, std::string_view password);

/// Sends APOP user digest and reads the status reply. Errors as pop3_auth_plain, and internal
/// when the digest cannot be computed.
Result<Pop3Reply> pop3_apop(Pop3Wire& wire, std::string_view user, std::string_view timestamp,
                            std::string_view password);

/// How an OAuth2 AUTH exchange ended: the final status reply, and the server's decoded
/// failure challenge when it sent one before refusing.
struct Pop3OAuthReply {
  Pop3Reply status;
  std::optional<OAuthFailure> failure;
};

/// Sends AUTH OAUTHBEARER / XOAUTH2 with `response` (the initial response, not yet base64):
/// on one line when the command fits in 255 octets (RFC 5034 4) and `two_step` is false, else,
/// and after a one-line form refused without a challenge (Microsoft's servers want it so),
/// as "AUTH MECH", the server's "+ ", then the response line; `two_step` is set once the
/// one-line form was refused. A failure challenge ("+ " base64 JSON) is answered as RFC 7628
/// 3.2.3 asks and decoded into `failure`. Errors as pop3_auth_plain.
Result<Pop3OAuthReply> pop3_auth_oauth(Pop3Wire& wire, OAuthMechanism mechanism,
                                       std::string_view response, bool& two_step);

}  // namespace clamfetch::fetch
