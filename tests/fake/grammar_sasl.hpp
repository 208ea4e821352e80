// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Internal to tests/fake: where a client is in a SASL exchange (POP3 AUTH, IMAP AUTHENTICATE)
// and the checks of its responses, shared by the IMAP and POP3 grammars of grammar.cpp.

#include <optional>
#include <string>
#include <string_view>

namespace clamfetch::test::grammar {

/// Where a client is in a SASL exchange (AUTH / AUTHENTICATE).
struct Sasl {
  bool active = false;     ///< lines may be SASL responses rather than commands
  std::string mech;        ///< the mechanism, as the client named it
  unsigned responses = 0;  ///< responses sent so far (the initial one counts)
};

/// A line inside a SASL exchange. For OAUTHBEARER / XOAUTH2 the first response is the token
/// message, the one after the server's failure challenge the RFC 7628 3.2.3 answer ("AQ==",
/// a lone ^A, or an empty line for XOAUTH2). Sets `handled` when the line belonged to the
/// exchange (else the exchange is over and the line is the next command). Returns empty when
/// valid, else why not.
std::string check_sasl_response(std::string_view line, Sasl& sasl, bool& handled);

/// The mechanism and optional initial response (empty for "=") of AUTH / AUTHENTICATE: an
/// OAuth2 one is checked, and a failure challenge may still follow it. Returns empty when
/// valid, else why not.
std::string start_sasl(std::string_view mech, std::optional<std::string_view> initial, Sasl& sasl);

}  // namespace clamfetch::test::grammar
