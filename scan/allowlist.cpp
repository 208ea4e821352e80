// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// clamav-milter's AllowList, as clamav-milter reads it (clamav-milter/allow_list.c):
// lines starting with '#', ':' or '!' are comments; an optional case-insensitive "From:" or
// "To:" prefix (no blank after the colon; none means To:); the rest is a POSIX *basic*
// regular expression, matched case-insensitively and unanchored (regexec semantics: it may
// match anywhere in the address — anchor with ^...$ for an exact address).
// We match it against the bare address ("user@example.com", no angle brackets; "" for the
// null sender).

#include <algorithm>
#include <cctype>
#include <fstream>
#include <string>

#include "scan/scan.hpp"

namespace clamfetch::scan {
namespace {

bool starts_with_icase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         });
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool is_comment_or_blank(std::string_view line) {
  if (trim_right(line).find_first_not_of(" \t") == std::string_view::npos) return true;
  return line.front() == '#' || line.front() == ':' || line.front() == '!';
}

bool search_any(const std::vector<std::regex>& list, const std::string& address) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::regex& re) { return std::regex_search(address, re); });
}

}  // namespace

Result<Allowlist> Allowlist::parse(const std::vector<std::string>& lines, const std::string& origin) {
  Allowlist list;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (is_comment_or_blank(line)) continue;
    line = trim_right(line);
    std::vector<std::regex>* target = &list.to_;
    if (starts_with_icase(line, "From:")) {
      line.remove_prefix(5);
      target = &list.from_;
    } else if (starts_with_icase(line, "To:")) {
      line.remove_prefix(3);
    }
    std::string where = origin + ":" + std::to_string(i + 1) + ": ";
    // An empty pattern would match every address: refuse it rather than skip all scanning.
    if (line.empty()) return make_error(Kind::config, Scope::run, where + "empty allowlist pattern");
    try {
      target->emplace_back(std::string(line), std::regex::basic | std::regex::icase |
                                                  std::regex::nosubs | std::regex::optimize);
    } catch (const std::regex_error& e) {
      return make_error(Kind::config, Scope::run,
                        where + "bad regular expression '" + std::string(line) + "': " + e.what());
    }
  }
  return list;
}

Result<Allowlist> Allowlist::load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(Kind::config, Scope::run, path + ": cannot open allowlist file");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  if (in.bad()) return make_error(Kind::config, Scope::run, path + ": read error");
  return parse(lines, path);
}

void Allowlist::merge(const Allowlist& other) {
  to_.insert(to_.end(), other.to_.begin(), other.to_.end());
  from_.insert(from_.end(), other.from_.begin(), other.from_.end());
}

bool Allowlist::skips(std::string_view sender, const std::vector<std::string>& recipients) const {
  if (search_any(from_, std::string(sender))) return true;
  if (to_.empty() || recipients.empty()) return false;
  return std::all_of(recipients.begin(), recipients.end(),
                     [&](const std::string& rcpt) { return search_any(to_, rcpt); });
}

}  // namespace clamfetch::scan
