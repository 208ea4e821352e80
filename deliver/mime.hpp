// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Building blocks for the messages clamfetch writes itself (report, refusal notice, bounce,
// Received header): values from a hostile original made safe for a header or a text line,
// folding, RFC 2047 words, MIME boundaries, Message-IDs. Private to deliver/.

#include <string>
#include <string_view>

namespace clamfetch::deliver::mime {

/// `value` on one line: CR, LF and other control characters become spaces, runs of white space
/// one space, invalid UTF-8 bytes '?'; cut to at most `max` bytes (at a character boundary,
/// "..." appended) . Nothing in the result can end a header or start a new one.
std::string one_line(std::string_view value, std::size_t max = 200);

/// True when every byte is 7-bit ASCII.
bool is_ascii(std::string_view text);

/// A header field "Name: value\r\n": `value` made one line, non-ASCII text as RFC 2047
/// encoded words (UTF-8, base64), folded at spaces to lines of at most 78 columns where the
/// words allow.
std::string header(std::string_view name, std::string_view value);

/// A boundary that occurs nowhere in `content` (random, checked).
std::string boundary(std::string_view content);

/// "<clamfetch.TIME.PID.COUNTER.RANDOM@host>": unique per process and run.
std::string message_id(std::string_view host);

/// Content-Transfer-Encoding for a part holding `text`: "7bit", "8bit", or "binary" (NUL).
const char* transfer_encoding(std::string_view text);

/// `original` as the body of a message/rfc822 part: CRLF line ends, ending with CRLF.
std::string attached(std::string_view original);

}  // namespace clamfetch::deliver::mime
