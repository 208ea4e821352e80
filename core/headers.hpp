// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Pure RFC 5322 header helpers shared by scan (X-Virus-*) and deliver (Received, Return-Path,
// report facts). Work on raw bytes; tolerate CRLF or bare LF; never allocate more than the input.

#include <string>
#include <string_view>
#include <vector>

namespace clamfetch::headers {

/// Length of the header block including the blank line that ends it (or the whole input
/// when there is no body).
std::size_t header_end(std::string_view message);

/// Unfolded value of the first header `name` (case-insensitive), trimmed; empty when absent.
std::string value(std::string_view message, std::string_view name);

/// The message with every header `name` (and its continuation lines) removed.
std::string remove(std::string_view message, std::string_view name);

/// The address inside angle brackets of a Return-Path / From value ("<a@b>" -> "a@b",
/// "Name <a@b>" -> "a@b", "a@b" -> "a@b", "<>" -> "").
std::string address(std::string_view header_value);

/// The addr-specs of an RFC 5322 address-list or mailbox-list value (From, Sender, ...), in
/// order: display names, comments, quoted strings, angle brackets, routes ("<@a:b@c>") and
/// groups ("team: a@b.c, d@e.f;") are understood; the value must be unfolded (value() does
/// that). A quoted local part stays quoted only when it must ("\"a b\"@c"). Elements that are
/// not an addr-spec (a bare name) come out as they are, for is_qualified() to refuse. Pure.
std::vector<std::string> mailboxes(std::string_view header_value);

/// Whether `address` is a well-formed, fully qualified mailbox usable as an SMTP reverse path:
/// local@domain.tld in ASCII, the local part a dot-atom or a quoted string of printable
/// characters, the domain at least two labels of letters, digits and inner hyphens, a
/// non-numeric top-level label, no address literal.
bool is_qualified(std::string_view address);

/// The envelope sender (SMTP MAIL FROM) for a fetched message, empty for the null sender
/// "<>", as fetchmail derives it (see man/clamfetch.1, ENVELOPE SENDER): the Return-Path's
/// address ("<>" there: a bounce, kept so); else the first qualified address of Resent-Sender,
/// Sender, Resent-From, From, in that order, unless the message is itself a delivery or
/// disposition report (Content-Type multipart/report) or comes from a MAILER-DAEMON, which
/// RFC 3464 / RFC 8098 / RFC 5321 send from "<>"; else "<>". A bare name is never qualified
/// with a host name of ours. Pure.
std::string envelope_sender(std::string_view message);

/// The Return-Path's address when it is a qualified one, else empty (no Return-Path, "<>",
/// a bare name). Unlike a sender taken from From: or Sender:, which anyone writes, this one
/// was set from SMTP MAIL FROM by the server that stored the message: the only sender
/// clamfetch bounces to and the allowlist matches. Pure.
std::string return_path_sender(std::string_view message);

}  // namespace clamfetch::headers
