// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The strict grammar checks (see grammar.hpp). Each protocol's commands are parsed with a
// small cursor over the bytes of one command, following the RFC's ABNF rule by rule; the
// rule names in the comments are the RFCs'.

#include "fake/grammar.hpp"
#include "fake/grammar_sasl.hpp"

#include <cctype>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

namespace clamfetch::test::grammar {
namespace {

const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_ctl(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }
bool is_8bit(char c) { return static_cast<unsigned char>(c) >= 0x80; }

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// The line end: exactly one CRLF, at the end; no NUL, no other CR or LF. Returns the line
// without it, or sets `why`.
bool strip_crlf(std::string_view raw, std::string_view& line, std::string& why) {
  if (raw.size() < 2 || raw.substr(raw.size() - 2) != "\r\n") {
    why = "line does not end with CRLF: " + show(raw);
    return false;
  }
  line = raw.substr(0, raw.size() - 2);
  for (char c : line) {
    if (c == '\r' || c == '\n' || c == '\0') {
      why = "CR, LF or NUL inside the line: " + show(raw);
      return false;
    }
  }
  return true;
}

/// A cursor over one command; every rule consumes on success and reports the first failure.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}
  bool at_end() const { return pos_ == text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  std::string_view rest() const { return text_.substr(pos_); }
  std::size_t pos() const { return pos_; }
  void advance(std::size_t n = 1) { pos_ += n; }
  std::string_view between(std::size_t from, std::size_t to) const { return text_.substr(from, to - from); }

  /// A keyword, case-insensitively, followed by the end or by `next` (SP, "(", ...).
  bool keyword(std::string_view word) {
    if (text_.size() - pos_ < word.size() || !iequal(text_.substr(pos_, word.size()), word)) return false;
    pos_ += word.size();
    return true;
  }
  bool literal_char(char c) {
    if (peek() != c || at_end()) return false;
    ++pos_;
    return true;
  }
  bool sp() { return literal_char(' '); }
  /// 1*DIGIT (nz: no leading zero), at most 20 digits.
  bool number(bool nz = false) {
    std::size_t start = pos_;
    while (!at_end() && is_digit(peek())) ++pos_;
    std::size_t n = pos_ - start;
    if (n == 0 || n > 20 || (nz && text_[start] == '0')) {
      pos_ = start;
      return false;
    }
    return true;
  }
  /// Fails with a message naming where: the bytes from here on.
  std::string error(std::string_view what) const {
    return std::string(what) + " at octet " + std::to_string(pos_) + " of " + show(text_) +
           " (there: " + show(text_.substr(pos_)) + ")";
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

// ---------------------------------------------------------------- IMAP (RFC 9051 / 3501)

// atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials
bool imap_atom_char(char c) {
  if (is_ctl(c) || is_8bit(c)) return false;
  switch (c) {
    case '(': case ')': case '{': case ' ': case '%': case '*': case '"': case '\\': case ']':
      return false;
    default:
      return true;
  }
}
bool imap_astring_char(char c) { return imap_atom_char(c) || c == ']'; }

// literal = "{" number64 ["+"] "}" CRLF *CHAR8  (RFC 7888: LITERAL+ / LITERAL-)
bool imap_literal(Cursor& c) {
  if (!c.literal_char('{')) return false;
  std::size_t digits = c.pos();
  if (!c.number()) return false;
  std::size_t size = std::stoull(std::string(c.between(digits, c.pos())));
  c.literal_char('+');
  if (!c.keyword("}\r\n") || c.rest().size() < size) return false;
  c.advance(size);
  return true;
}

// quoted = DQUOTE *QUOTED-CHAR DQUOTE; QUOTED-CHAR = <TEXT-CHAR except quoted-specials> /
// "\" quoted-specials. TEXT-CHAR is 7-bit without CR and LF.
bool imap_quoted(Cursor& c) {
  if (!c.literal_char('"')) return false;
  while (!c.at_end()) {
    char ch = c.peek();
    if (ch == '"') {
      c.advance();
      return true;
    }
    if (ch == '\\') {
      c.advance();
      if (c.peek() != '"' && c.peek() != '\\') return false;
    } else if (is_8bit(ch) || ch == '\r' || ch == '\n' || ch == '\0') {
      return false;
    }
    c.advance();
  }
  return false;
}

// astring = 1*ASTRING-CHAR / string
bool imap_astring(Cursor& c) {
  if (c.peek() == '"') return imap_quoted(c);
  if (c.peek() == '{') return imap_literal(c);
  std::size_t start = c.pos();
  while (!c.at_end() && imap_astring_char(c.peek())) c.advance();
  return c.pos() > start;
}

bool imap_atom(Cursor& c) {
  std::size_t start = c.pos();
  while (!c.at_end() && imap_atom_char(c.peek())) c.advance();
  return c.pos() > start;
}

// sequence-set = (seq-number / seq-range) ["," sequence-set]; seq-number = nz-number / "*"
bool imap_sequence_set(Cursor& c) {
  auto seq_number = [&c] { return c.literal_char('*') || c.number(true); };
  do {
    if (!seq_number()) return false;
    if (c.literal_char(':') && !seq_number()) return false;
  } while (c.literal_char(','));
  return true;
}

// section = "[" [section-spec] "]"; clamfetch asks for the whole message or header/text.
bool imap_section(Cursor& c) {
  if (!c.literal_char('[')) return false;
  if (c.literal_char(']')) return true;
  if (!(c.keyword("HEADER") || c.keyword("TEXT"))) return false;
  return c.literal_char(']');
}

// fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822" [".HEADER" / ".SIZE" / ".TEXT"] /
//   "BODY" ["STRUCTURE"] / "UID" / "BODY" section [partial] / "BODY.PEEK" section [partial]
bool imap_fetch_att(Cursor& c) {
  if (c.keyword("BODY.PEEK") || c.keyword("BINARY.PEEK")) {
    if (!imap_section(c)) return false;
  } else if (c.keyword("BODYSTRUCTURE") || c.keyword("ENVELOPE") || c.keyword("FLAGS") ||
             c.keyword("INTERNALDATE") || c.keyword("RFC822.HEADER") || c.keyword("RFC822.SIZE") ||
             c.keyword("RFC822.TEXT") || c.keyword("UID") || c.keyword("RFC822")) {
    return true;
  } else if (c.keyword("BODY")) {
    if (c.peek() != '[') return true;
    if (!imap_section(c)) return false;
  } else {
    return false;
  }
  // partial = "<" number64 "." nz-number64 ">"
  if (c.literal_char('<')) return c.number() && c.literal_char('.') && c.number(true) && c.literal_char('>');
  return true;
}

bool imap_fetch_items(Cursor& c) {
  if (c.keyword("ALL") || c.keyword("FULL") || c.keyword("FAST")) return true;
  if (!c.literal_char('(')) return imap_fetch_att(c);
  do {
    if (!imap_fetch_att(c)) return false;
  } while (c.sp());
  return c.literal_char(')');
}

// flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword /
// flag-extension; flag-list = "(" [flag *(SP flag)] ")"
bool imap_flag(Cursor& c) {
  c.literal_char('\\');
  return imap_atom(c);
}

// store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))
bool imap_store_flags(Cursor& c) {
  if (!c.literal_char('+')) c.literal_char('-');
  if (!c.keyword("FLAGS")) return false;
  c.keyword(".SILENT");
  if (!c.sp()) return false;
  bool list = c.literal_char('(');
  if (list && c.literal_char(')')) return true;
  do {
    if (!imap_flag(c)) return false;
  } while (c.sp());
  return !list || c.literal_char(')');
}

// The search keys a retriever uses: UID set, a set, flags, NOT / ALL.
bool imap_search_key(Cursor& c) {
  if (c.keyword("UID")) return c.sp() && imap_sequence_set(c);
  if (c.keyword("NOT")) return c.sp() && imap_search_key(c);
  for (std::string_view key : {"ALL", "ANSWERED", "DELETED", "FLAGGED", "NEW", "OLD", "RECENT",
                               "SEEN", "UNANSWERED", "UNDELETED", "UNFLAGGED", "UNSEEN"}) {
    if (c.keyword(key)) return true;
  }
  return imap_sequence_set(c);
}

bool imap_search(Cursor& c) {
  do {
    if (!imap_search_key(c)) return false;
  } while (c.sp());
  return true;
}

// select-params = "(" select-param *(SP select-param) ")"  (RFC 4466), the two of RFC 7162:
// "CONDSTORE" / "QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids] ")"
// (seq-match-data is not something clamfetch sends).
bool imap_select_params(Cursor& c) {
  if (!c.literal_char('(')) return false;
  do {
    if (c.keyword("CONDSTORE")) continue;
    if (!c.keyword("QRESYNC") || !c.sp() || !c.literal_char('(') || !c.number(true) || !c.sp() ||
        !c.number(true)) {
      return false;
    }
    if (c.sp() && !imap_sequence_set(c)) return false;
    if (!c.literal_char(')')) return false;
  } while (c.sp());
  return c.literal_char(')');
}

// fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")"  (RFC 4466), those of
// RFC 7162: "CHANGEDSINCE" SP mod-sequence-value / "VANISHED" (UID FETCH only).
bool imap_fetch_modifiers(Cursor& c, bool uid) {
  if (!c.literal_char('(')) return false;
  do {
    if (c.keyword("CHANGEDSINCE")) {
      if (!c.sp() || !c.number(true)) return false;
    } else if (!uid || !c.keyword("VANISHED")) {
      return false;
    }
  } while (c.sp());
  return c.literal_char(')');
}

// The command after "tag SP". Keywords are case-insensitive.
bool imap_command_body(Cursor& c, Sasl& sasl, bool& idle, std::string& why) {
  if (c.keyword("CAPABILITY") || c.keyword("LOGOUT") || c.keyword("NOOP") ||
      c.keyword("STARTTLS") || c.keyword("CLOSE") || c.keyword("UNSELECT")) {
    return true;
  }
  if (c.keyword("IDLE")) return idle = true;
  if (c.keyword("EXPUNGE")) return true;
  if (c.keyword("LOGIN")) return c.sp() && imap_astring(c) && c.sp() && imap_astring(c);
  if (c.keyword("AUTHENTICATE")) {
    // authenticate = "AUTHENTICATE" SP auth-type [SP (base64 / "=")]  (RFC 4959 SASL-IR)
    std::size_t mech_start = c.pos() + 1;
    if (!c.sp() || !imap_atom(c)) return false;
    std::string_view mech = c.between(mech_start, c.pos());
    if (!c.sp()) return why = start_sasl(mech, std::nullopt, sasl), true;
    if (c.literal_char('=')) return start_sasl(mech, std::string_view(), sasl), true;
    std::size_t start = c.pos();
    while (!c.at_end() && c.peek() != ' ') c.advance();
    std::string_view initial = c.between(start, c.pos());
    why = start_sasl(mech, initial, sasl);
    return is_base64(initial);
  }
  if (c.keyword("SELECT") || c.keyword("EXAMINE")) {
    if (!c.sp() || !imap_astring(c)) return false;
    return c.at_end() || (c.sp() && imap_select_params(c));
  }
  // enable = "ENABLE" 1*(SP capability)  (RFC 5161)
  if (c.keyword("ENABLE")) {
    do {
      if (!c.sp() || !imap_atom(c)) return false;
    } while (!c.at_end());
    return true;
  }
  bool uid = c.keyword("UID");
  if (uid && !c.sp()) return false;
  if (c.keyword("FETCH")) {
    if (!c.sp() || !imap_sequence_set(c) || !c.sp() || !imap_fetch_items(c)) return false;
    return c.at_end() || (c.sp() && imap_fetch_modifiers(c, uid));
  }
  if (c.keyword("STORE")) return c.sp() && imap_sequence_set(c) && c.sp() && imap_store_flags(c);
  if (c.keyword("SEARCH")) return c.sp() && imap_search(c);
  if (uid && c.keyword("EXPUNGE")) return c.sp() && imap_sequence_set(c);
  return false;
}

// The bytes of one command are complete when no line of it ends in a literal whose octets
// have not all come yet.
bool command_complete(std::string_view bytes) {
  std::size_t pos = 0;
  for (;;) {
    std::size_t crlf = bytes.find("\r\n", pos);
    if (crlf == std::string_view::npos) return false;
    std::string_view line = bytes.substr(pos, crlf - pos);
    if (line.empty() || line.back() != '}') return crlf + 2 == bytes.size();
    std::size_t open = line.rfind('{');
    if (open == std::string_view::npos) return crlf + 2 == bytes.size();
    std::string digits(line.substr(open + 1, line.size() - open - 2));
    if (!digits.empty() && digits.back() == '+') digits.pop_back();
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) {
      return crlf + 2 == bytes.size();
    }
    pos = crlf + 2 + std::stoul(digits);
    if (pos > bytes.size()) return false;
  }
}

std::string check_imap(std::string_view command, Sasl& sasl, bool& idle) {
  if (command.size() < 2 || command.substr(command.size() - 2) != "\r\n") {
    return "line does not end with CRLF: " + show(command);
  }
  std::string_view line = command.substr(0, command.size() - 2);
  if (idle) {
    idle = false;
    return line == "DONE" ? "" : "after IDLE only \"DONE\" CRLF may come, got " + show(command);
  }
  if (sasl.active) {
    bool handled = false;
    std::string why = check_sasl_response(line, sasl, handled);
    if (handled) return why;
  }
  Cursor c(line);
  std::size_t start = c.pos();
  while (!c.at_end() && imap_astring_char(c.peek()) && c.peek() != '+') c.advance();
  if (c.pos() == start) return c.error("no tag (1*<ASTRING-CHAR except \"+\">)");
  if (!c.sp() || c.peek() == ' ') return c.error("tag not followed by exactly one SP");
  std::string why;
  if (!imap_command_body(c, sasl, idle, why)) return c.error("not an IMAP command per RFC 9051");
  if (!c.at_end()) return c.error("extra octets after the command (trailing space?)");
  return why;
}

// ---------------------------------------------------------------- POP3 (RFC 1939 / 2449 / 5034)

bool pop3_printable_argument(std::string_view arg) {
  if (arg.empty()) return false;
  for (char ch : arg) {
    if (ch == ' ' || is_ctl(ch)) return false;
  }
  return true;
}

bool nz_number(std::string_view text) {
  Cursor c(text);
  return c.number(true) && c.at_end();
}

std::string check_pop3_line(std::string_view line, Sasl& sasl) {
  if (sasl.active) {
    bool handled = false;
    std::string why = check_sasl_response(line, sasl, handled);
    if (handled) return why;
  }
  if (line.size() + 2 > 255) return "command over 255 octets (RFC 2449): " + show(line);
  std::size_t space = line.find(' ');
  std::string_view keyword = line.substr(0, space);
  std::string_view args = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  bool has_args = space != std::string_view::npos;
  auto none = [&]() -> std::string {
    return has_args ? "no argument allowed after " + std::string(keyword) + ": " + show(line) : "";
  };
  auto one_number = [&]() -> std::string {
    return has_args && nz_number(args) ? "" : "expected " + std::string(keyword) + " SP msg: " + show(line);
  };
  for (std::string_view k : {"CAPA", "STLS", "STAT", "NOOP", "RSET", "QUIT"}) {
    if (iequal(keyword, k)) return none();
  }
  for (std::string_view k : {"RETR", "DELE"}) {
    if (iequal(keyword, k)) return one_number();
  }
  if (iequal(keyword, "LIST") || iequal(keyword, "UIDL")) return has_args ? one_number() : "";
  if (iequal(keyword, "USER")) {
    return has_args && pop3_printable_argument(args) ? "" : "expected USER SP name: " + show(line);
  }
  if (iequal(keyword, "PASS")) {
    // RFC 1939: PASS has one argument, which may contain spaces; never empty, no CTL.
    bool ok = has_args && !args.empty();
    for (char ch : args) ok = ok && !is_ctl(ch);
    return ok ? "" : "expected PASS SP string: " + show(line);
  }
  if (iequal(keyword, "APOP")) {
    std::size_t gap = args.find(' ');
    std::string_view digest = gap == std::string_view::npos ? std::string_view() : args.substr(gap + 1);
    bool hex = digest.size() == 32 && digest.find_first_not_of("0123456789abcdef") == std::string_view::npos;
    return has_args && pop3_printable_argument(args.substr(0, gap)) && hex
               ? "" : "expected APOP SP name SP digest: " + show(line);
  }
  if (iequal(keyword, "AUTH")) {
    // auth = "AUTH" SP sasl-mech [SP initial-response]; initial-response = base64 / "="
    std::size_t gap = args.find(' ');
    std::string_view mech = args.substr(0, gap);
    bool mech_ok = !mech.empty() && mech.size() <= 20 &&
                   mech.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == std::string_view::npos;
    if (!has_args || !mech_ok) return "expected AUTH SP sasl-mech: " + show(line);
    if (gap == std::string_view::npos) return start_sasl(mech, std::nullopt, sasl);
    std::string_view initial = args.substr(gap + 1);
    if (initial != "=" && !is_base64(initial)) return "initial response neither base64 nor \"=\": " + show(line);
    return start_sasl(mech, initial == "=" ? std::string_view() : initial, sasl);
  }
  return "not a POP3 command a retriever sends: " + show(line);
}

// ---------------------------------------------------------------- SMTP / LMTP (RFC 5321 / 2033)

bool atext(char ch) {
  return is_alpha(ch) || is_digit(ch) || std::string_view("!#$%&'*+-/=?^_`{|}~").find(ch) != std::string_view::npos;
}

// Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str]
bool smtp_domain(Cursor& c) {
  do {
    std::size_t start = c.pos();
    while (!c.at_end() && (is_alpha(c.peek()) || is_digit(c.peek()) || c.peek() == '-')) c.advance();
    std::string_view label = c.between(start, c.pos());
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
  } while (c.literal_char('.'));
  return true;
}

// address-literal = "[" ( IPv4-address-literal / IPv6-address-literal / General-address-literal ) "]"
bool smtp_address_literal(Cursor& c) {
  if (!c.literal_char('[')) return false;
  std::size_t start = c.pos();
  while (!c.at_end() && c.peek() != ']' && c.peek() != '[' && c.peek() != '\\' &&
         !is_ctl(c.peek()) && c.peek() != ' ' && !is_8bit(c.peek())) {
    c.advance();
  }
  return c.pos() > start && c.literal_char(']');
}

// Mailbox = Local-part "@" ( Domain / address-literal ); Local-part = Dot-string / Quoted-string
bool smtp_mailbox(Cursor& c) {
  if (c.literal_char('"')) {
    for (;;) {
      if (c.at_end()) return false;
      char ch = c.peek();
      c.advance();
      if (ch == '"') break;
      if (ch == '\\') {
        if (c.at_end() || c.peek() < 32 || c.peek() > 126) return false;
        c.advance();
      } else if (ch < 32 || ch > 126) {
        return false;
      }
    }
  } else {
    do {
      std::size_t start = c.pos();
      while (!c.at_end() && atext(c.peek())) c.advance();
      if (c.pos() == start) return false;
    } while (c.literal_char('.'));
  }
  if (!c.literal_char('@')) return false;
  return c.peek() == '[' ? smtp_address_literal(c) : smtp_domain(c);
}

// Path = "<" Mailbox ">" (no source routes from a retriever); Reverse-path also "<>".
bool smtp_path(Cursor& c, bool reverse) {
  if (!c.literal_char('<')) return false;
  if (reverse && c.literal_char('>')) return true;
  return smtp_mailbox(c) && c.literal_char('>');
}

// Mail-parameters = esmtp-param *(SP esmtp-param), with the values clamfetch uses checked:
// SIZE=1*20DIGIT (RFC 1870), BODY=7BIT/8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531, no value).
std::string smtp_mail_parameters(Cursor& c) {
  bool size = false, body = false, utf8 = false;
  while (c.sp()) {
    if (c.keyword("SIZE=")) {
      if (size || !c.number()) return c.error("SIZE= needs 1*20DIGIT, once");
      size = true;
    } else if (c.keyword("BODY=")) {
      if (body || !(c.keyword("7BIT") || c.keyword("8BITMIME"))) return c.error("BODY=7BIT/8BITMIME, once");
      body = true;
    } else if (c.keyword("SMTPUTF8")) {
      if (utf8) return c.error("SMTPUTF8 twice");
      utf8 = true;
    } else {
      return c.error("unknown or malformed MAIL parameter");
    }
  }
  return c.at_end() ? "" : c.error("extra octets after MAIL FROM (trailing space?)");
}

std::string check_smtp_line(std::string_view line, bool lmtp) {
  Cursor c(line);
  std::string_view hello = lmtp ? "LHLO" : "EHLO";
  if (c.keyword(hello) || (!lmtp && c.keyword("HELO"))) {
    if (!c.sp()) return c.error("greeting needs SP and a domain");
    bool ok = c.peek() == '[' ? smtp_address_literal(c) : smtp_domain(c);
    if (!ok) return c.error("not a Domain or address-literal");
    return c.at_end() ? "" : c.error("extra octets after the greeting (trailing space?)");
  }
  if (c.keyword("MAIL FROM:")) {
    if (!smtp_path(c, true)) return c.error("expected Reverse-path right after \"FROM:\"");
    return smtp_mail_parameters(c);
  }
  if (c.keyword("RCPT TO:")) {
    if (!smtp_path(c, false)) return c.error("expected Forward-path right after \"TO:\"");
    return c.at_end() ? "" : c.error("extra octets after RCPT TO (trailing space?)");
  }
  for (std::string_view k : {"DATA", "RSET", "QUIT", "NOOP"}) {
    if (c.keyword(k)) return c.at_end() ? "" : c.error("no argument allowed");
  }
  return c.error("not an SMTP command a client delivering mail sends");
}

}  // namespace

std::string show(std::string_view bytes) {
  std::string out = "\"";
  for (char ch : bytes) {
    auto u = static_cast<unsigned char>(ch);
    if (ch == '\r') out += "\\r";
    else if (ch == '\n') out += "\\n";
    else if (ch == '"' || ch == '\\') out += std::string("\\") + ch;
    else if (u < 0x20 || u >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

bool is_base64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return false;
  std::size_t pad = 0;
  while (pad < 2 && text[text.size() - 1 - pad] == '=') ++pad;
  for (std::size_t i = 0; i < text.size() - pad; ++i) {
    if (std::string_view(kBase64).find(text[i]) == std::string_view::npos) return false;
  }
  return true;
}

bool is_imap_tag(std::string_view text) {
  if (text.empty()) return false;
  for (char ch : text) {
    if (!imap_astring_char(ch) || ch == '+') return false;
  }
  return true;
}

bool is_dot_string_mailbox(std::string_view address) {
  Cursor c(address);
  return smtp_mailbox(c) && c.at_end();
}

Checker imap_checker() {
  struct State {
    std::string pending;  // a command whose literal octets are still to come
    Sasl sasl;
    bool idle = false;
  };
  auto state = std::make_shared<State>();
  return [state](std::string_view raw) -> std::string {
    if (raw.size() < 2 || raw.substr(raw.size() - 2) != "\r\n") {
      state->pending.clear();
      return "line does not end with CRLF: " + show(raw);
    }
    state->pending.append(raw);
    if (!command_complete(state->pending)) return "";
    std::string command = std::move(state->pending);
    state->pending.clear();
    for (std::size_t i = 0; i + 1 < command.size(); ++i) {
      if (command[i] == '\0') return "NUL in a command: " + show(command);
    }
    return check_imap(command, state->sasl, state->idle);
  };
}

Checker pop3_checker() {
  auto sasl = std::make_shared<Sasl>();
  return [sasl](std::string_view raw) -> std::string {
    std::string_view line;
    std::string why;
    if (!strip_crlf(raw, line, why)) return why;
    for (char ch : line) {
      if (is_8bit(ch)) return "8-bit octet in a POP3 command: " + show(raw);
    }
    return check_pop3_line(line, *sasl);
  };
}

Checker smtp_checker(bool lmtp) {
  return [lmtp](std::string_view raw) -> std::string {
    std::string_view line;
    std::string why;
    if (!strip_crlf(raw, line, why)) return why;
    return check_smtp_line(line, lmtp);
  };
}

}  // namespace clamfetch::test::grammar
