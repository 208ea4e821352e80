// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Small text helpers more than one module needs (one copy each, here).

#include <string>
#include <string_view>
#include <vector>

namespace clamfetch {

/// The items with `separator` between them ("a,b", "a, b").
std::string join(const std::vector<std::string>& items, std::string_view separator);

/// Base64 (RFC 4648 alphabet, padded, no line breaks).
std::string base64(std::string_view bytes);

/// ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b);

/// At most the first 200 characters of a server's text, control and non-ASCII bytes as '?':
/// safe to put into a log line or an error.
std::string printable(std::string_view text);

/// The name of the user this process runs as (effective uid); empty when it has none.
std::string invoking_user();

}  // namespace clamfetch
