// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "core/headers.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <cctype>

namespace clamfetch::headers {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// End of the line starting at `pos`, including its LF (or the end of input).
std::size_t line_end(std::string_view text, std::size_t pos) {
  auto lf = text.find('\n', pos);
  return lf == std::string_view::npos ? text.size() : lf + 1;
}

bool is_blank_line(std::string_view line) { return line == "\n" || line == "\r\n"; }

bool is_continuation(std::string_view line) {
  return !line.empty() && (line.front() == ' ' || line.front() == '\t');
}

// If `line` starts header `name`, returns true.
bool starts_header(std::string_view line, std::string_view name) {
  return line.size() > name.size() && line[name.size()] == ':' &&
         iequals(line.substr(0, name.size()), name);
}

}  // namespace

std::size_t header_end(std::string_view message) {
  std::size_t pos = 0;
  while (pos < message.size()) {
    std::size_t end = line_end(message, pos);
    if (is_blank_line(message.substr(pos, end - pos))) return end;
    pos = end;
  }
  return message.size();
}

std::string value(std::string_view message, std::string_view name) {
  std::string_view head = message.substr(0, header_end(message));
  std::size_t pos = 0;
  while (pos < head.size()) {
    std::size_t end = line_end(head, pos);
    std::string_view line = head.substr(pos, end - pos);
    pos = end;
    if (!starts_header(line, name)) continue;
    std::string out(trim(line.substr(name.size() + 1)));
    while (pos < head.size()) {
      std::size_t next = line_end(head, pos);
      std::string_view cont = head.substr(pos, next - pos);
      if (!is_continuation(cont)) break;
      out += ' ';
      out += trim(cont);
      pos = next;
    }
    return out;
  }
  return {};
}

std::string remove(std::string_view message, std::string_view name) {
  std::size_t head_len = header_end(message);
  std::string out;
  out.reserve(message.size());
  std::size_t pos = 0;
  bool dropping = false;
  while (pos < head_len) {
    std::size_t end = line_end(message, pos);
    std::string_view line = message.substr(pos, end - pos);
    pos = end;
    if (dropping && is_continuation(line)) continue;
    dropping = starts_header(line, name);
    if (!dropping) out += line;
  }
  out.append(message.substr(head_len));
  return out;
}

std::string address(std::string_view header_value) {
  std::string_view v = trim(header_value);
  auto open = v.rfind('<');
  if (open != std::string_view::npos) {
    auto close = v.find('>', open);
    if (close != std::string_view::npos) return std::string(trim(v.substr(open + 1, close - open - 1)));
  }
  return std::string(v);
}

}  // namespace clamfetch::headers
