// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// parse_fetchids(): fetchmail's .fetchids (uid.c, initialize_saved_lists / write_saved_lists).
//
// fetchmail 6 writes "%s@%s %s\n" (remote user, server query name, UIDL) and reads a line by
// finding the first '@', then the first blank after it: what is before that blank is
// user@host (the user may contain '@' and blanks, the host is after the last '@'), the UID
// is the next word. We read the same way, and also accept fields in double quotes
// ("user"@"host" "uid", backslash escapes), so that a quoting writer is read right.

#include <string>
#include <string_view>
#include <vector>

#include "rc/rc.hpp"

namespace clamfetch::rc {
namespace {

constexpr std::size_t kMaxUid = 70;  // RFC 1939: 1 to 70 characters 0x21 to 0x7E

bool blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (blank(s.front()) || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (blank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// A "quoted" field at the start of `s`: its text unescaped, `s` advanced past it. False when
// the closing quote is missing.
bool take_quoted(std::string_view& s, std::string& out) {
  out.clear();
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      out += s[++i];
    } else if (s[i] == '"') {
      s.remove_prefix(i + 1);
      return true;
    } else {
      out += s[i];
    }
  }
  return false;
}

// A field up to the first character in `stops` (or the end).
std::string take_plain(std::string_view& s, std::string_view stops) {
  std::size_t end = s.find_first_of(stops);
  if (end == std::string_view::npos) end = s.size();
  std::string out(s.substr(0, end));
  s.remove_prefix(end);
  return out;
}

bool take_field(std::string_view& s, std::string_view stops, std::string& out) {
  if (!s.empty() && s.front() == '"') return take_quoted(s, out);
  out = take_plain(s, stops);
  return true;
}

// The quoted form: "user"@"host" "uid" (either of user and host may also be bare).
bool parse_quoted(std::string_view s, FetchidsEntry& e) {
  if (!take_field(s, "@", e.user) || s.empty() || s.front() != '@') return false;
  s.remove_prefix(1);
  if (!take_field(s, " \t", e.host) || s.empty() || !blank(s.front())) return false;
  s = trim(s);
  if (!take_field(s, " \t", e.uid)) return false;
  return trim(s).empty();
}

// fetchmail 6's own reading (see the file comment).
bool parse_plain(std::string_view s, FetchidsEntry& e) {
  std::size_t at = s.find('@');
  if (at == std::string_view::npos) return false;
  std::size_t gap = s.find_first_of(" \t", at);
  if (gap == std::string_view::npos) return false;
  std::string_view userhost = s.substr(0, gap);
  std::size_t last_at = userhost.rfind('@');
  e.user = std::string(userhost.substr(0, last_at));
  e.host = std::string(userhost.substr(last_at + 1));
  std::string_view rest = trim(s.substr(gap));
  e.uid = std::string(rest.substr(0, rest.find_first_of(" \t")));
  return true;
}

bool valid_uid(const std::string& uid) {
  if (uid.empty() || uid.size() > kMaxUid) return false;
  for (unsigned char c : uid) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

std::vector<FetchidsEntry> parse_fetchids(std::string_view text, const std::string& name,
                                          std::vector<std::string>& warnings) {
  std::vector<FetchidsEntry> entries;
  unsigned number = 0;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::string_view line = trim(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++number;
    if (line.empty() || line.front() == '#') continue;
    FetchidsEntry e;
    e.line = number;
    auto where = name + ":" + std::to_string(number) + ": ";
    bool ok = line.front() == '"' ? parse_quoted(line, e) : parse_plain(line, e);
    if (!ok || e.user.empty() || e.host.empty()) {
      warnings.push_back(where + "not a \"user@host uid\" line, ignored");
    } else if (!valid_uid(e.uid)) {
      warnings.push_back(where + "UID of " + e.user + "@" + e.host +
                         " is not 1-70 printable characters (RFC 1939), ignored");
    } else {
      entries.push_back(std::move(e));
    }
  }
  return entries;
}

}  // namespace clamfetch::rc
