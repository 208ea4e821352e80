// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Strict checks of what a client sends, against the ABNF of the protocols clamfetch speaks:
// IMAP (RFC 9051 / RFC 3501, with RFC 4959 SASL-IR and RFC 7888 literals), POP3 (RFC 1939,
// RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH) and SMTP / LMTP (RFC 5321, RFC 2033, RFC 1870
// SIZE, RFC 6152 BODY). Real servers forgive a lot (Dovecot accepted "2 CAPABILITY " with a
// trailing space that Cyrus refuses), so the strict scripted peer checks the bytes themselves.
// Only the commands a mail retriever sends are known; anything else is a deviation too.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace clamfetch::test::grammar {

/// Checks one client line, given with its line end exactly as received. Returns empty when
/// the line is valid, else why not, quoting the offending bytes (escaped: "\r", "\x01").
using Checker = std::function<std::string(std::string_view raw_line)>;

/// `bytes` with CR, LF, control and 8-bit octets escaped, in double quotes.
std::string show(std::string_view bytes);

/// An IMAP client. Knows that a line after "AUTHENTICATE mech" (without an initial response)
/// is a base64 SASL response or "*", and that the line after "IDLE" is "DONE". A literal
/// ("{n}" or "{n+}") must end its line; the script supplies the continuation and the rest.
Checker imap_checker();
/// A POP3 client. Knows that the lines after "AUTH mech" (without an initial response) are
/// base64 SASL responses or "*".
Checker pop3_checker();
/// An SMTP (`lmtp` false) or LMTP client, outside DATA (the script reads the data with
/// Step::data). EHLO or HELO, respectively LHLO.
Checker smtp_checker(bool lmtp);

/// The pure grammar rules, exposed for the unit test of the checker itself.
bool is_base64(std::string_view text);           ///< RFC 4648, padded, non-empty
bool is_imap_tag(std::string_view text);         ///< 1*<ASTRING-CHAR except "+">
bool is_dot_string_mailbox(std::string_view a);  ///< RFC 5321 Mailbox (dot-string or quoted)

}  // namespace clamfetch::test::grammar
