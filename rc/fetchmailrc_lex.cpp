// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// fetchmailrc tokenizer, after fetchmail's rcfile_l.l: quoted strings ("..." or '...', no
// escaped quotes inside, C escapes processed afterwards), bare words up to whitespace or one
// of `=;:,`, keywords (case-sensitive; protocol names in either case), `#` comments, noise
// words. After user/pass/is/to/`=` the next bare word is a name even if it looks like a
// keyword, as in fetchmail's NAME state.

#include <charconv>
#include <cstring>
#include <map>

#include "rc/fetchmailrc.hpp"

namespace clamfetch::rc::fetchmailrc {
namespace {

/// Every spelling fetchmail's lexer knows, mapped to one canonical name.
const std::map<std::string_view, std::string_view>& keywords() {
  static const std::map<std::string_view, std::string_view> table = [] {
    std::map<std::string_view, std::string_view> t;
    for (const char* word :
         {"set",         "logfile",    "idfile",      "pidfile",      "daemon",        "syslog",
          "invisible",   "showdots",   "postmaster",  "bouncemail",   "spambounce",    "softbounce",
          "warnings",    "tracepolls", "defaults",    "poll",         "skip",          "via",
          "aka",         "localdomains", "protocol",  "service",      "port",          "interval",
          "authenticate", "timeout",   "idletimeout", "envelope",     "qvirtual",      "principal",
          "esmtpname",   "esmtppassword", "bad-header", "accept",     "reject",        "username",
          "password",    "folders",    "smtphost",    "fetchdomains", "smtpaddress",   "smtpname",
          "antispam",    "mda",        "bsmtp",       "lmtp",         "preconnect",    "postconnect",
          "interface",   "monitor",    "plugin",      "plugout",      "batchlimit",    "fetchlimit",
          "fetchsizelimit", "fastuidl", "expunge",    "properties",   "is",            "here",
          "there",       "to",         "no",          "keep",         "flush",         "limitflush",
          "fetchall",    "rewrite",    "forcecr",     "stripcr",      "pass8bits",     "dropstatus",
          "dropdelivered", "mimedecode", "idle",      "forceidle",    "dns",           "uidl",
          "ssl",         "sslkey",     "sslcert",     "sslproto",     "sslcertck",     "sslcertfile",
          "sslcertpath", "sslcommonname", "sslfingerprint", "checkalias", "limit",       "any",
          "gssapi",      "kerberos_v4", "kerberos_v5", "ssh",         "implicit",      "external",
          "otp",         "cram-md5",   "msn",         "ntlm"}) {
      t.emplace(word, word);
    }
    const std::pair<const char*, const char*> aliases[] = {
        {"server", "poll"},         {"local", "localdomains"},   {"proto", "protocol"},
        {"auth", "authenticate"},   {"preauth", "authenticate"}, {"preauthenticate", "authenticate"},
        {"user", "username"},       {"pass", "password"},        {"folder", "folders"},
        {"smtp", "smtphost"},       {"pre", "preconnect"},       {"post", "postconnect"},
        {"pass8", "pass8bits"},     {"mimedec", "mimedecode"},   {"kerberos", "kerberos_v4"},
        {"kerberos4", "kerberos_v4"}, {"kerberos5", "kerberos_v5"}, {"opie", "otp"},
        {"cram", "cram-md5"}};
    for (auto [alias, word] : aliases) t.emplace(alias, word);
    for (const char* proto : {"auto", "pop2", "sdps", "pop3", "imap", "apop", "rpop", "etrn", "odmr", "kpop"}) {
      t.emplace(proto, proto);
    }
    for (auto [upper, lower] : std::initializer_list<std::pair<const char*, const char*>>{
             {"AUTO", "auto"}, {"POP2", "pop2"}, {"SDPS", "sdps"}, {"POP3", "pop3"}, {"IMAP", "imap"},
             {"APOP", "apop"}, {"RPOP", "rpop"}, {"ETRN", "etrn"}, {"ODMR", "odmr"}, {"KPOP", "kpop"}}) {
      t.emplace(upper, lower);
    }
    return t;
  }();
  return table;
}

/// `no` glued to these is two tokens (fetchmail: nokeep == no keep).
bool splits_after_no(std::string_view rest) {
  for (const char* word : {"bouncemail", "uidl", "checkalias", "dns", "envelope", "keep", "flush",
                           "limitflush", "fetchall", "rewrite", "forcecr", "stripcr", "pass8", "pass8bits",
                           "dropstatus", "dropdelivered", "mimedec", "mimedecode", "spambounce", "idle",
                           "forceidle", "softbounce", "syslog", "invisible", "ssl", "sslcertck", "showdots"}) {
    if (rest == word) return true;
  }
  return false;
}

bool is_noise(std::string_view word) {
  return word == "with" || word == "and" || word == "has" || word == "wants" || word == "options";
}

bool is_delimiter(char c) { return std::strchr("=;:, \t\r\n", c) != nullptr; }

/// fetchmail's escapes(): \xHH, \0ooo, \ddd, \n \t \b \r \\, backslash-newline joins.
std::string unescape(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size();) {
    if (in[i] != '\\' || i + 1 >= in.size()) {
      if (in[i] != '\\') out += in[i];
      ++i;
      continue;
    }
    char c = in[++i];
    int value = 0;
    if (c == 'x' || c == 'X') {
      int digits = 0;
      for (++i; i < in.size() && digits < 2 && std::isxdigit(static_cast<unsigned char>(in[i])); ++i, ++digits) {
        value = value * 16 + (std::isdigit(static_cast<unsigned char>(in[i])) ? in[i] - '0' : (in[i] | 0x20) - 'a' + 10);
      }
    } else if (c >= '0' && c <= '9') {
      int base = c == '0' ? 8 : 10;
      char top = c == '0' ? '7' : '9';
      for (int digits = 0; i < in.size() && digits < 3 && in[i] >= '0' && in[i] <= top; ++i, ++digits) {
        value = value * base + (in[i] - '0');
      }
    } else if (c == '\n') {
      ++i;
      continue;
    } else {
      static constexpr std::pair<char, char> kNamed[] = {{'n', '\n'}, {'t', '\t'}, {'b', '\b'}, {'r', '\r'}};
      value = static_cast<unsigned char>(c);
      for (auto [letter, byte] : kNamed) {
        if (c == letter) value = byte;
      }
      ++i;
    }
    out += static_cast<char>(value);
  }
  return out;
}

class Lexer {
 public:
  Lexer(std::string_view text, const std::string& name) : text_(text), name_(name) {}

  Result<std::vector<Token>> run();

 private:
  Error error(unsigned line, unsigned column, const std::string& message) const {
    return make_error(Kind::config, Scope::run,
                      name_ + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message);
  }
  void advance(size_t count) {
    for (size_t i = 0; i < count; ++i, ++pos_) {
      if (text_[pos_] == '\n') {
        ++line_;
        line_start_ = pos_ + 1;
      }
    }
  }
  bool skip_blank();
  Status word(std::vector<Token>& out);

  std::string_view text_;
  const std::string& name_;
  size_t pos_ = 0;
  unsigned line_ = 1;
  size_t line_start_ = 0;
  bool name_state_ = false;
};

/// Skip whitespace, delimiters and comments; false at the end.
bool Lexer::skip_blank() {
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if (c == '#') {
      size_t end = text_.find('\n', pos_);
      advance((end == std::string_view::npos ? text_.size() : end) - pos_);
    } else if (c == '\\' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') {
      advance(2);
    } else if (c != '=' && is_delimiter(c)) {
      advance(1);
    } else {
      return true;
    }
  }
  return false;
}

Status Lexer::word(std::vector<Token>& out) {
  Token token;
  token.line = line_;
  token.column = static_cast<unsigned>(pos_ - line_start_ + 1);
  size_t bare = 0;
  while (pos_ + bare < text_.size() && !is_delimiter(text_[pos_ + bare])) ++bare;
  char c = text_[pos_];
  if (c == '=') {
    token.type = Token::Type::map;
    advance(1);
    name_state_ = true;
    out.push_back(token);
    return {};
  }
  if (c == '"' || c == '\'') {
    size_t close = text_.find(c, pos_ + 1);
    if (close == std::string_view::npos) return error(token.line, token.column, "unterminated string");
    if (close - pos_ + 1 >= bare) {  // flex takes the longest match
      token.type = Token::Type::string;
      token.text = unescape(text_.substr(pos_ + 1, close - pos_ - 1));
      advance(close - pos_ + 1);
      name_state_ = false;
      out.push_back(token);
      return {};
    }
  }
  std::string_view spelled = text_.substr(pos_, bare);
  advance(bare);
  bool named = std::exchange(name_state_, false);
  if (!named && is_noise(spelled)) return {};
  if (!named && spelled.size() > 2 && spelled.substr(0, 2) == "no" && splits_after_no(spelled.substr(2))) {
    out.push_back(Token{Token::Type::keyword, "no", "no", 0, token.line, token.column});
    spelled.remove_prefix(2);
    token.column += 2;
  }
  auto keyword = named ? keywords().end() : keywords().find(spelled);
  int64_t number = 0;
  auto [end, ec] = std::from_chars(spelled.data(), spelled.data() + spelled.size(), number);
  if (keyword != keywords().end()) {
    token.type = Token::Type::keyword;
    token.text = std::string(keyword->second);
    token.spelled = std::string(spelled);
    // `authenticate password` names an auth type (fetchmail's AUTH lexer state): no value follows.
    bool auth_type = !out.empty() && out.back().type == Token::Type::keyword && out.back().text == "authenticate";
    name_state_ = token.text == "username" || (token.text == "password" && !auth_type) || token.text == "is" ||
                  token.text == "to";
  } else if (!named && end == spelled.data() + spelled.size() && spelled.find('+') == std::string_view::npos) {
    if (ec != std::errc()) return error(token.line, token.column, "number out of range: " + std::string(spelled));
    token.type = Token::Type::number;
    token.number = number;
    token.text = std::string(spelled);
  } else {
    token.type = Token::Type::string;
    token.text = unescape(spelled);
  }
  out.push_back(token);
  return {};
}

Result<std::vector<Token>> Lexer::run() {
  std::vector<Token> out;
  while (skip_blank()) {
    if (Status status = word(out); !status.ok()) return status.error();
  }
  Token end;
  end.line = line_;
  end.column = static_cast<unsigned>(pos_ - line_start_ + 1);
  out.push_back(end);
  return out;
}

}  // namespace

Result<std::vector<Token>> tokenize(std::string_view text, const std::string& name) {
  return Lexer(text, name).run();
}

}  // namespace clamfetch::rc::fetchmailrc
