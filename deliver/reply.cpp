// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// SMTP/LMTP replies (RFC 5321 4.2): parsing, classification, and the EHLO extension list.

#include <cctype>
#include <charconv>

#include "deliver/deliver.hpp"

namespace clamfetch::deliver {
namespace {

constexpr std::size_t kMaxReplyLines = 1000;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "NNN" or "NNN text" or "NNN-text", with a sane text. Sets code and whether it is the last line.
bool parse_line(std::string_view line, int& code, bool& last, std::string_view& text) {
  if (line.size() < 3 || line[0] < '2' || line[0] > '5' || !is_digit(line[1]) ||
      !is_digit(line[2])) {
    return false;
  }
  if (line.size() > 3 && line[3] != ' ' && line[3] != '-') return false;
  for (char c : line.substr(3)) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  last = line.size() == 3 || line[3] == ' ';
  text = line.size() > 4 ? line.substr(4) : std::string_view{};
  return true;
}

ParsedReply malformed() {
  ParsedReply r;
  r.state = ParsedReply::State::malformed;
  r.reply.text = "malformed reply";
  return r;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

ParsedReply parse_reply(std::string_view input) {
  ParsedReply r;
  std::size_t pos = 0;
  int first_code = -1;
  while (true) {
    std::size_t lf = input.find('\n', pos);
    if (lf == std::string_view::npos) {
      // Incomplete, unless the unfinished line is already too long to ever be valid.
      if (input.size() - pos > kMaxReplyLine) return malformed();
      r.state = ParsedReply::State::incomplete;
      r.lines.clear();
      return r;
    }
    if (lf + 1 - pos > kMaxReplyLine || r.lines.size() >= kMaxReplyLines) return malformed();
    std::string_view line = input.substr(pos, lf - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    int code = 0;
    bool last = false;
    std::string_view text;
    if (!parse_line(line, code, last, text)) return malformed();
    if (first_code >= 0 && code != first_code) return malformed();
    first_code = code;
    r.lines.emplace_back(text);
    pos = lf + 1;
    if (last) break;
  }
  r.state = ParsedReply::State::complete;
  r.reply.code = first_code;
  for (const auto& line : r.lines) {
    if (!r.reply.text.empty()) r.reply.text += ' ';
    r.reply.text += line;
  }
  r.consumed = pos;
  return r;
}

Outcome::Status classify(int code) {
  if (code >= 200 && code < 400) return Outcome::Status::delivered;
  if (code >= 400 && code < 500) return Outcome::Status::temporary;
  if (code >= 500 && code < 600) return Outcome::Status::permanent;
  return Outcome::Status::unreachable;
}

Extensions parse_extensions(const std::vector<std::string>& lines) {
  Extensions ext;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    std::size_t space = line.find(' ');
    std::string keyword = upper(line.substr(0, space));
    std::string_view arg = space == std::string_view::npos ? std::string_view{}
                                                            : line.substr(space + 1);
    if (keyword == "PIPELINING") {
      ext.pipelining = true;
    } else if (keyword == "8BITMIME") {
      ext.eightbitmime = true;
    } else if (keyword == "SMTPUTF8") {
      ext.smtputf8 = true;
    } else if (keyword == "SIZE") {
      ext.size = true;
      std::uint64_t max = 0;
      auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), max);
      ext.size_max = (ec == std::errc{} && end == arg.data() + arg.size()) ? max : 0;
    }
  }
  return ext;
}

}  // namespace clamfetch::deliver
