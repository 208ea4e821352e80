// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Safe header values, folding, encoded words, boundaries and Message-IDs.

#include "deliver/mime.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <random>

#include "core/text.hpp"
#include "deliver/deliver.hpp"

namespace clamfetch::deliver::mime {
namespace {

constexpr std::size_t kFoldColumn = 78;

// Length of the valid UTF-8 sequence at `pos`, 0 when the bytes there are not one.
std::size_t utf8_length(std::string_view s, std::size_t pos) {
  auto b = static_cast<unsigned char>(s[pos]);
  std::size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xe ? 3 : (b >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || pos + n > s.size()) return 0;
  for (std::size_t i = 1; i < n; ++i) {
    if ((static_cast<unsigned char>(s[pos + i]) & 0xc0) != 0x80) return 0;
  }
  return n;
}

std::string random_hex(std::size_t bytes) {
  static thread_local std::mt19937_64 engine{std::random_device{}()};
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    auto v = static_cast<unsigned>(engine() & 0xff);
    out += digits[v >> 4];
    out += digits[v & 0xf];
  }
  return out;
}

// Non-ASCII words as encoded words of at most ~45 bytes of UTF-8 each (75 columns encoded).
std::string encode_words(std::string_view text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = pos;
    while (end < text.size()) {
      std::size_t n = std::max<std::size_t>(utf8_length(text, end), 1);
      if (end + n - pos > 45) break;
      end += n;
    }
    if (!out.empty()) out += ' ';
    out += "=?UTF-8?B?" + base64(text.substr(pos, end - pos)) + "?=";
    pos = end;
  }
  return out;
}

}  // namespace

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::string one_line(std::string_view value, std::size_t max) {
  std::string out;
  bool truncated = false;
  for (std::size_t pos = 0; pos < value.size();) {
    auto b = static_cast<unsigned char>(value[pos]);
    std::size_t n = utf8_length(value, pos);
    std::string_view piece = b < 0x20 || b == 0x7f ? " " : n == 0 ? "?" : value.substr(pos, n);
    pos += n == 0 ? 1 : n;
    if (piece == " " && (out.empty() || out.back() == ' ')) continue;
    if (out.size() + piece.size() > max) {
      truncated = true;
      break;
    }
    out += piece;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (truncated) out += "...";
  return out;
}

std::string header(std::string_view name, std::string_view value) {
  std::string text = one_line(value, 900);
  if (!is_ascii(text)) {
    // Encode word by word so that the ASCII words stay readable. White space between two
    // encoded words is dropped by decoders: a space between encoded words goes inside.
    std::string encoded;
    bool previous_encoded = false;
    std::size_t pos = 0;
    while (pos <= text.size()) {
      std::size_t space = std::min(text.find(' ', pos), text.size());
      std::string_view word = std::string_view(text).substr(pos, space - pos);
      bool encode = !is_ascii(word) || word.find("=?") != std::string_view::npos;
      if (pos > 0) encoded += ' ';
      if (!encode) {
        encoded += word;
      } else {
        encoded += encode_words(previous_encoded ? " " + std::string(word) : std::string(word));
      }
      previous_encoded = encode;
      pos = space + 1;
    }
    text = encoded;
  }
  std::string out(name);
  out += ':';
  std::size_t column = out.size();
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t space = std::min(text.find(' ', pos), text.size());
    std::string_view word = std::string_view(text).substr(pos, space - pos);
    if (column + 1 + word.size() > kFoldColumn && column > name.size() + 1) {
      out += "\r\n";
      column = 0;
    }
    out += ' ';
    out += word;
    column += 1 + word.size();
    pos = space + 1;
  }
  out += "\r\n";
  return out;
}

std::string boundary(std::string_view content) {
  while (true) {
    std::string candidate = "=_clamfetch_" + random_hex(12);
    if (content.find(candidate) == std::string_view::npos) return candidate;
  }
}

std::string message_id(std::string_view host) {
  static std::atomic<unsigned long> counter{0};
  std::string domain;
  for (char c : host) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') domain += c;
  }
  if (domain.empty()) domain = "localhost";
  char prefix[96];
  std::snprintf(prefix, sizeof prefix, "<clamfetch.%lld.%ld.%lu.", static_cast<long long>(std::time(nullptr)),
                static_cast<long>(::getpid()), ++counter);
  return prefix + random_hex(8) + "@" + domain + ">";
}

const char* transfer_encoding(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return "binary";
  return is_ascii(text) ? "7bit" : "8bit";
}

std::string attached(std::string_view original) {
  std::string out = normalise_crlf(original);
  if (!out.empty() && out.back() != '\n') out += "\r\n";
  return out;
}

}  // namespace clamfetch::deliver::mime
