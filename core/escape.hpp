// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// One-word forms of arbitrary names (folders, account keys) for line-based state files.

#include <string>

namespace clamfetch {

/// Bytes outside printable ASCII, space and '%' as %XX: the result has no whitespace.
inline std::string percent_escape(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x21 || c > 0x7e || c == '%') {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace clamfetch
