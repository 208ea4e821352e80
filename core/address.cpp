// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// RFC 5322 address lists and the envelope sender rule (see headers.hpp). A tokenizer turns
// an unfolded header value into atoms, quoted strings, domain literals and specials, dropping
// white space and comments; the list is then cut into mailboxes at top-level commas and group
// delimiters, and each mailbox's addr-spec is rebuilt from its tokens.

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "core/headers.hpp"
#include "core/text.hpp"

namespace clamfetch::headers {
namespace {

struct Token {
  enum class Type { atom, quoted, literal, special };
  Type type;
  std::string text;  ///< quoted: the content without quotes and escapes; special: one char
};

bool is_special(char c) { return std::string_view("()<>[]:;@\\,.\"").find(c) != std::string_view::npos; }

// Skips a comment starting at value[pos] == '(' (nested, with quoted-pairs); returns the
// position after it (or the end, for an unclosed one).
std::size_t skip_comment(std::string_view value, std::size_t pos) {
  int depth = 0;
  for (; pos < value.size(); ++pos) {
    char c = value[pos];
    if (c == '\\') {
      ++pos;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')' && --depth == 0) {
      return pos + 1;
    }
  }
  return pos;
}

// Reads a quoted string or a domain literal from value[pos] (its opening char) to `close`.
std::size_t read_delimited(std::string_view value, std::size_t pos, char close, std::string& out) {
  for (++pos; pos < value.size(); ++pos) {
    char c = value[pos];
    if (c == '\\' && pos + 1 < value.size()) {
      out += value[++pos];
    } else if (c == close) {
      return pos + 1;
    } else {
      out += c;
    }
  }
  return pos;
}

std::vector<Token> tokenize(std::string_view value) {
  std::vector<Token> tokens;
  std::size_t pos = 0;
  while (pos < value.size()) {
    char c = value[pos];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++pos;
    } else if (c == '(') {
      pos = skip_comment(value, pos);
    } else if (c == '"' || c == '[') {
      Token t{c == '"' ? Token::Type::quoted : Token::Type::literal, {}};
      pos = read_delimited(value, pos, c == '"' ? '"' : ']', t.text);
      tokens.push_back(std::move(t));
    } else if (is_special(c)) {
      tokens.push_back({Token::Type::special, std::string(1, c)});
      ++pos;
    } else {
      std::size_t end = pos;
      while (end < value.size() && !is_special(value[end]) &&
             !std::isspace(static_cast<unsigned char>(value[end]))) {
        ++end;
      }
      tokens.push_back({Token::Type::atom, std::string(value.substr(pos, end - pos))});
      pos = end;
    }
  }
  return tokens;
}

bool is(const Token& t, char special) { return t.type == Token::Type::special && t.text[0] == special; }

bool is_atext(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool is_dot_atom(std::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.' || text.find("..") != std::string_view::npos) {
    return false;
  }
  return std::all_of(text.begin(), text.end(), [](char c) { return c == '.' || is_atext(c); });
}

// The addr-spec of one mailbox's tokens: the part inside angle brackets when there is one
// (a route "@a,@b:" dropped), else all of them.
std::string addr_spec(const std::vector<Token>& unit) {
  auto open = std::find_if(unit.begin(), unit.end(), [](const Token& t) { return is(t, '<'); });
  auto begin = unit.begin(), end = unit.end();
  if (open != unit.end()) {
    begin = open + 1;
    end = std::find_if(begin, unit.end(), [](const Token& t) { return is(t, '>'); });
    auto colon = std::find_if(begin, end, [](const Token& t) { return is(t, ':'); });
    if (begin != end && is(*begin, '@') && colon != end) begin = colon + 1;
  }
  std::string local, domain;
  bool at = false;
  for (auto it = begin; it != end; ++it) {
    if (!at && is(*it, '@')) {
      at = true;
      continue;
    }
    std::string& part = at ? domain : local;
    if (it->type == Token::Type::quoted) {
      part += is_dot_atom(it->text) ? it->text : "\"" + it->text + "\"";
    } else if (it->type == Token::Type::literal) {
      part += "[" + it->text + "]";
    } else {
      part += it->text;
    }
  }
  // A quoted local part goes out in SMTP's Quoted-string form, escapes restored.
  if (local.size() >= 2 && local.front() == '"' && local.back() == '"') {
    std::string inner = local.substr(1, local.size() - 2), quoted = "\"";
    for (char c : inner) quoted += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    local = quoted + "\"";
  }
  return at ? local + "@" + domain : local;
}

bool is_label(std::string_view label) {
  return !label.empty() && label.size() <= 63 && label.front() != '-' && label.back() != '-' &&
         std::all_of(label.begin(), label.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
         });
}

bool is_quoted_local(std::string_view local) {
  if (local.size() < 3 || local.front() != '"' || local.back() != '"') return false;
  for (std::size_t i = 1; i + 1 < local.size(); ++i) {
    auto c = static_cast<unsigned char>(local[i]);
    // '<' and '>' are legal in a quoted local part, but the SMTP client refuses them in a
    // path (deliver/smtp.cpp valid_address): such a sender would divert the message.
    if (c < 32 || c > 126 || c == '<' || c == '>') return false;
    if (c == '\\') ++i;  // quoted-pair: the next one is printable (checked on the next round)
    else if (c == '"') return false;
  }
  return true;
}

// A delivery status (RFC 3464) or disposition (RFC 8098) report: sent from "<>" by rule.
bool is_report(std::string_view message) {
  std::string type = value(message, "Content-Type");
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
  return type.rfind("multipart/report", 0) == 0 &&
         (type.find("delivery-status") != std::string::npos ||
          type.find("disposition-notification") != std::string::npos);
}

}  // namespace

std::vector<std::string> mailboxes(std::string_view header_value) {
  std::vector<std::string> out;
  std::vector<Token> unit;
  bool in_angle = false, has_at = false;
  auto finish = [&] {
    if (!unit.empty()) out.push_back(addr_spec(unit));
    unit.clear();
    has_at = false;
  };
  for (Token& t : tokenize(header_value)) {
    if (is(t, '<')) in_angle = true;
    if (is(t, '>')) in_angle = false;
    if (is(t, '@')) has_at = true;
    if (!in_angle && is(t, ':') && !has_at) {
      unit.clear();  // "display-name:" opens a group: its name is no address
      continue;
    }
    if (!in_angle && (is(t, ',') || is(t, ';'))) {
      finish();
      continue;
    }
    unit.push_back(std::move(t));
  }
  finish();
  return out;
}

bool is_qualified(std::string_view address) {
  std::size_t at = address.rfind('@');
  if (at == std::string_view::npos || address.size() > 254) return false;
  std::string_view local = address.substr(0, at), domain = address.substr(at + 1);
  if (!is_dot_atom(local) && !is_quoted_local(local)) return false;
  if (domain.size() > 253) return false;
  std::size_t labels = 0, start = 0;
  std::string_view last;
  for (;;) {
    std::size_t dot = domain.find('.', start);
    last = domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!is_label(last)) return false;
    ++labels;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  bool numeric = std::all_of(last.begin(), last.end(), [](char c) { return c >= '0' && c <= '9'; });
  return labels >= 2 && !numeric;
}

std::string return_path_sender(std::string_view message) {
  std::vector<std::string> path = mailboxes(value(message, "Return-Path"));
  return !path.empty() && is_qualified(path[0]) ? path[0] : std::string();
}

std::string envelope_sender(std::string_view message) {
  std::string return_path = value(message, "Return-Path");
  if (!return_path.empty()) {
    std::vector<std::string> path = mailboxes(return_path);
    // "<>" is the null sender: the message is a bounce and stays one.
    if (path.empty() || (path.size() == 1 && path[0].empty())) return {};
    if (is_qualified(path[0])) return path[0];
  }
  if (is_report(message)) return {};
  for (std::string_view name : {"Resent-Sender", "Sender", "Resent-From", "From"}) {
    for (const std::string& address : mailboxes(value(message, name))) {
      if (!is_qualified(address)) continue;
      if (iequals(address.substr(0, address.rfind('@')), "MAILER-DAEMON")) return {};
      return address;
    }
  }
  return {};
}

}  // namespace clamfetch::headers
