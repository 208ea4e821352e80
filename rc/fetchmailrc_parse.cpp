// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// fetchmailrc parser, after fetchmail's rcfile_y.y: `set` statements, then poll/skip/defaults
// entries of server options followed by user options, with or without explicit `user`
// entries. Keywords clamfetch has no equivalent for are consumed with their arguments and
// reported as warnings.

#include <algorithm>
#include <map>

#include "rc/fetchmailrc.hpp"

namespace clamfetch::rc::fetchmailrc {
namespace {

/// How many arguments an uncarried keyword takes, and why it is not carried over.
enum class Arg { none, string, number, strings, string_or_number, auth };
struct Uncarried {
  Arg arg;
  const char* why;
};

const std::map<std::string_view, Uncarried> kUncarriedServer{
    {"aka", {Arg::strings, "multidrop host aliases have no equivalent (clamfetch delivers to `is`)"}},
    {"via", {Arg::string, "clamfetch connects to the server name itself; put the real host in `server`"}},
    {"localdomains", {Arg::strings, "multidrop has no equivalent (clamfetch delivers to `is`)"}},
    {"principal", {Arg::string, "Kerberos is not supported"}},
    {"esmtpname", {Arg::string, "SMTP AUTH to the MTA is not supported"}},
    {"esmtppassword", {Arg::string, "SMTP AUTH to the MTA is not supported"}},
    {"uidl", {Arg::none, "clamfetch always tracks UIDs"}},
    {"checkalias", {Arg::none, "multidrop has no equivalent"}},
    {"interval", {Arg::number, "every account is polled on every run"}},
    {"idletimeout", {Arg::number, "no equivalent"}},
    {"envelope", {Arg::string, "multidrop has no equivalent (clamfetch delivers to `is`)"}},
    {"qvirtual", {Arg::string, "multidrop has no equivalent"}},
    {"interface", {Arg::string, "no equivalent"}},
    {"monitor", {Arg::string, "no equivalent"}},
    {"plugin", {Arg::string, "clamfetch connects directly (TLS verified by clamfetch)"}},
    {"plugout", {Arg::string, "clamfetch connects to the MTA directly"}},
    {"dns", {Arg::none, "multidrop has no equivalent"}},
    {"tracepolls", {Arg::none, "no equivalent"}},
    {"bad-header", {Arg::string, "no equivalent"}},
    {"authenticate", {Arg::auth, "clamfetch has auth = \"auto\", \"password\", \"plain\", \"login\" or \"apop\" only"}},
};

const std::map<std::string_view, Uncarried> kUncarriedUser{
    {"fetchdomains", {Arg::strings, "ETRN/ODMR are not supported"}},
    {"smtpaddress", {Arg::string, "clamfetch uses the `is` address as it is"}},
    {"smtpname", {Arg::string, "clamfetch uses the `is` address as it is"}},
    {"mda", {Arg::string, "clamfetch delivers over SMTP/LMTP only; let the MTA run the MDA"}},
    {"bsmtp", {Arg::string, "clamfetch delivers over SMTP/LMTP only"}},
    {"preconnect", {Arg::string, "no equivalent; run the command before clamfetch"}},
    {"postconnect", {Arg::string, "no equivalent; run the command after clamfetch"}},
    {"flush", {Arg::none, "it deletes old messages before retrieving them; clamfetch never deletes a message it has not delivered"}},
    {"limitflush", {Arg::none, "clamfetch leaves oversized messages on the server"}},
    {"rewrite", {Arg::none, "clamfetch does not rewrite addresses"}},
    {"forcecr", {Arg::none, "the MTA gets CRLF lines anyway"}},
    {"stripcr", {Arg::none, "clamfetch delivers over SMTP/LMTP only"}},
    {"pass8bits", {Arg::none, "the MTA gets the message as it is"}},
    {"dropstatus", {Arg::none, "clamfetch delivers the message as it is"}},
    {"dropdelivered", {Arg::none, "clamfetch delivers the message as it is"}},
    {"mimedecode", {Arg::none, "clamfetch delivers the message as it is"}},
    {"idle", {Arg::none, "use clamfetch --idle in daemon mode"}},
    {"forceidle", {Arg::none, "use clamfetch --idle in daemon mode"}},
    {"sslkey", {Arg::string, "client certificates are not supported"}},
    {"sslcert", {Arg::string, "client certificates are not supported"}},
    {"sslcertpath", {Arg::string, "clamfetch takes one CA file (ca_file) or the system trust store"}},
    {"sslcommonname", {Arg::string, "clamfetch verifies the server name itself"}},
    {"warnings", {Arg::number, "no equivalent"}},
    {"fetchsizelimit", {Arg::number, "clamfetch fetches sizes as it needs them"}},
    {"fastuidl", {Arg::number, "clamfetch always lists UIDs"}},
    {"expunge", {Arg::number, "clamfetch expunges once per poll"}},
    {"properties", {Arg::string, "no equivalent"}},
};

/// An option parser's answer for a token that is not one of its options.
bool decline(bool& handled) {
  handled = false;
  return true;
}

bool is_statement_start(const Token& t) {
  return t.type == Token::Type::end ||
         (t.type == Token::Type::keyword &&
          (t.text == "set" || t.text == "poll" || t.text == "skip" || t.text == "defaults"));
}

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, const std::string& name, std::vector<std::string>& warnings)
      : tokens_(tokens), name_(name), warnings_(warnings) {}

  Result<Rc> run();

 private:
  const Token& peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool at(std::string_view keyword, size_t ahead = 0) const {
    return peek(ahead).type == Token::Type::keyword && peek(ahead).text == keyword;
  }
  bool fail(const Token& t, const std::string& message) {
    if (!error_) {
      error_ = make_error(Kind::config, Scope::run,
                          name_ + ":" + std::to_string(t.line) + ":" + std::to_string(t.column) + ": " + message);
    }
    return false;
  }
  std::string shown(const Token& t) const {
    if (t.type == Token::Type::end) return "end of file";
    if (t.type == Token::Type::map) return "'='";
    return "'" + (t.spelled.empty() ? t.text : t.spelled) + "'";
  }
  void warn(const Token& t, const std::string& keyword, const std::string& why) {
    warnings_.push_back(name_ + ":" + std::to_string(t.line) + ": keyword '" + keyword +
                        "' not carried over: " + why);
  }

  bool string(std::string& out, const char* after);
  bool number(int64_t& out, const char* after);
  bool strings(std::vector<std::string>& out, const char* after);
  bool skip_args(Arg arg, const char* after);

  bool statement();
  bool set_statement();
  bool server_entry();
  bool server_option(Server& server, bool& handled);
  bool user_entry(Server& server);
  bool user_option(User& user, bool& handled);
  bool negated_user_option(User& user, bool& handled);
  bool recipient_option(User& user);
  bool valued_user_option(Options& o, bool& handled);
  bool mapping(User& user);
  bool ssl_option(const Token& t, bool negated, Options& o);

  const std::vector<Token>& tokens_;
  size_t pos_ = 0;
  const std::string& name_;
  std::vector<std::string>& warnings_;
  std::optional<Error> error_;
  Rc rc_;
};

bool Parser::string(std::string& out, const char* after) {
  const Token& t = peek();
  if (t.type != Token::Type::string) return fail(t, std::string("expected a string after '") + after + "', got " + shown(t));
  out = next().text;
  return true;
}

bool Parser::number(int64_t& out, const char* after) {
  const Token& t = peek();
  if (t.type != Token::Type::number) return fail(t, std::string("expected a number after '") + after + "', got " + shown(t));
  out = next().number;
  return true;
}

bool Parser::strings(std::vector<std::string>& out, const char* after) {
  std::string first;
  if (!string(first, after)) return false;
  out.push_back(first);
  while (peek().type == Token::Type::string) out.push_back(next().text);
  return true;
}

bool Parser::skip_args(Arg arg, const char* after) {
  std::string text;
  int64_t value = 0;
  std::vector<std::string> list;
  switch (arg) {
    case Arg::none: return true;
    case Arg::string: return string(text, after);
    case Arg::number: return number(value, after);
    case Arg::strings: return strings(list, after);
    case Arg::string_or_number:
      if (peek().type == Token::Type::number) return number(value, after);
      return string(text, after);
    case Arg::auth:
      if (peek().type != Token::Type::keyword) return fail(peek(), "expected an authentication type after 'authenticate', got " + shown(peek()));
      next();
      return true;
  }
  return true;
}

Result<Rc> Parser::run() {
  while (peek().type != Token::Type::end) {
    if (!statement()) return *error_;
  }
  return std::move(rc_);
}

bool Parser::statement() {
  if (at("set")) {
    next();
    return set_statement();
  }
  if (at("poll") || at("skip") || at("defaults")) return server_entry();
  return fail(peek(), "expected 'set', 'poll', 'skip' or 'defaults', got " + shown(peek()));
}

bool Parser::set_statement() {
  const Token& t = next();
  Global& g = rc_.global;
  bool negated = t.type == Token::Type::keyword && t.text == "no";
  const Token& what = negated ? next() : t;
  if (what.type != Token::Type::keyword) return fail(what, "unknown 'set' option " + shown(what));
  const std::string& k = what.text;
  if (k == "bouncemail" || k == "syslog" || k == "invisible") {
    std::optional<bool>& flag = k == "bouncemail" ? g.bouncemail : k == "syslog" ? g.syslog : g.invisible;
    flag = !negated;
    return true;
  }
  if (k == "spambounce" || k == "softbounce" || k == "showdots") {
    warn(what, "set " + std::string(negated ? "no " : "") + k,
         k == "showdots" ? "no equivalent" : "clamfetch's bounce policy is bouncemail and antispam");
    return true;
  }
  if (negated) return fail(what, "'set no' does not apply to '" + k + "'");
  if (peek().type == Token::Type::map) next();  // optional `=`
  std::string value;
  int64_t number = 0;
  if (k == "postmaster") {
    g.postmaster_line = what.line;
    if (!string(value, "set postmaster")) return false;
    g.postmaster = value;
  } else if (k == "logfile") {
    if (!string(value, "set logfile")) return false;
    g.logfile = value;
  } else if (k == "daemon") {
    if (!this->number(number, "set daemon")) return false;
    warn(what, "set daemon", "run clamfetch -d " + std::to_string(number) + ", or from cron or a systemd timer");
  } else if (k == "idfile" || k == "pidfile" || k == "properties") {
    if (!string(value, "set")) return false;
    warn(what, "set " + k, k == "properties" ? "no equivalent" : "clamfetch keeps its state in $CLAMFETCH_HOME");
  } else {
    return fail(what, "unknown 'set' option " + shown(what));
  }
  return true;
}

bool Parser::server_entry() {
  const Token& start = next();
  Server server;
  server.line = start.line;
  server.skip = start.text == "skip";
  if (start.text == "defaults") {
    server.name = "defaults";
  } else if (!string(server.name, start.text.c_str())) {
    return false;
  }
  bool handled = true;
  while (handled) {
    if (!server_option(server, handled)) return false;
  }
  // Options without a `user` entry belong to the one implicit user (fetchmail's user1opts).
  if (!at("username")) {
    User implicit;
    implicit.line = peek().line;
    bool any = false;
    for (handled = true; handled; any = any || handled) {
      if (!user_option(implicit, handled)) return false;
    }
    if (any && at("username")) return fail(peek(), "'user' after options of the implicit user");
    if (any || server.name == "defaults") server.users.push_back(std::move(implicit));
  }
  while (at("username")) {
    if (!user_entry(server)) return false;
  }
  if (!is_statement_start(peek())) {
    bool server_level = false;
    Server probe;
    size_t saved = pos_;
    if (server_option(probe, server_level) && server_level) {
      pos_ = saved;
      return fail(peek(), "server option " + shown(peek()) + " after user options");
    }
    pos_ = saved;
    return fail(peek(), "unexpected " + shown(peek()));
  }
  if (start.text == "defaults") {
    rc_.defaults.push_back(std::move(server));
  } else {
    server.defaults = static_cast<int>(rc_.defaults.size()) - 1;
    rc_.polls.push_back(std::move(server));
  }
  return true;
}

bool Parser::server_option(Server& server, bool& handled) {
  handled = true;
  const Token& t = peek();
  bool negated = at("no");
  const Token& k = negated ? peek(1) : t;
  if (k.type != Token::Type::keyword) return decline(handled);
  if (!negated && (k.text == "protocol")) {
    next();
    const Token& proto = next();
    static const std::vector<std::string_view> kProtocols{"auto", "pop2", "sdps", "pop3", "imap",
                                                          "apop", "rpop", "etrn", "odmr", "kpop"};
    if (proto.type != Token::Type::keyword ||
        std::find(kProtocols.begin(), kProtocols.end(), proto.text) == kProtocols.end()) {
      return fail(proto, "expected a protocol after 'protocol', got " + shown(proto));
    }
    server.protocol = proto.text;
    server.protocol_line = proto.line;
    return true;
  }
  if (!negated && k.text == "authenticate" && peek(1).type == Token::Type::keyword &&
      peek(1).text == "password") {
    next();
    server.auth = next().text;  // the one fetchmail type clamfetch has: USER/PASS or LOGIN
    return true;
  }
  if (!negated && (k.text == "port" || k.text == "service")) {
    next();
    const Token& v = next();
    static const std::map<std::string_view, int64_t> kServices{
        {"pop3", 110}, {"pop3s", 995}, {"imap", 143}, {"imaps", 993}, {"imap2", 143}};
    if (v.type == Token::Type::number && v.number >= 1 && v.number <= 65535) {
      server.port = v.number;
    } else if (k.text == "service" && (v.type == Token::Type::string || v.type == Token::Type::keyword) &&
               kServices.count(v.text)) {
      server.port = kServices.at(v.text);
    } else if (k.text == "service" && v.type == Token::Type::string) {
      warn(k, "service " + v.text, "unknown service name; give the port number");
    } else {
      return fail(v, "expected a port number after '" + k.text + "', got " + shown(v));
    }
    return true;
  }
  if (!negated && k.text == "timeout") {
    next();
    int64_t value = 0;
    if (!number(value, "timeout")) return false;
    server.timeout = value;
    return true;
  }
  auto uncarried = kUncarriedServer.find(k.text);
  if (uncarried == kUncarriedServer.end()) return decline(handled);
  if (negated && k.text != "uidl" && k.text != "dns" && k.text != "checkalias" && k.text != "envelope" &&
      k.text != "tracepolls") {
    return decline(handled);
  }
  next();
  if (negated) {
    next();
    return true;  // turning off something clamfetch does not do anyway
  }
  if (!skip_args(uncarried->second.arg, k.text.c_str())) return false;
  warn(k, k.text, uncarried->second.why);
  return true;
}

bool Parser::user_entry(Server& server) {
  const Token& start = next();  // username
  User user;
  user.line = start.line;
  std::string first;
  if (!string(first, "user")) return false;
  if (at("there")) {
    next();
    user.remote = first;
  } else if (at("here") || peek().type == Token::Type::map || peek().type == Token::Type::string) {
    --pos_;  // a mapping list: `user local1 local2 here`
    if (!mapping(user)) return false;
    if (!at("here")) return fail(peek(), "expected 'here' after the local names of 'user', got " + shown(peek()));
    next();
  } else {
    user.remote = first;
  }
  for (bool handled = true; handled;) {
    if (!user_option(user, handled)) return false;
  }
  server.users.push_back(std::move(user));
  return true;
}

/// STRING [= STRING] ... : local names, or remote=local pairs (multidrop).
bool Parser::mapping(User& user) {
  while (peek().type == Token::Type::string) {
    std::string local = next().text;
    if (peek().type == Token::Type::map) {
      next();
      if (!string(local, "=")) return false;
      user.multidrop = true;
    }
    if (local == "*") {
      user.multidrop = true;
    } else {
      user.locals.push_back(local);
    }
  }
  return true;
}

bool Parser::ssl_option(const Token& k, bool negated, Options& o) {
  const std::string& w = k.text;
  if (w == "ssl") {
    o.ssl = !negated;
  } else if (w == "sslcertck") {
    o.sslcertck = !negated;
  } else if (w == "sslproto") {
    o.sslproto_line = k.line;
    std::string value;
    if (!string(value, "sslproto")) return false;
    o.sslproto = value;
  } else if (w == "sslcertfile") {
    std::string value;
    if (!string(value, "sslcertfile")) return false;
    o.sslcertfile = value;
  } else if (w == "sslfingerprint") {
    o.sslfingerprint_line = k.line;
    std::string value;
    if (!string(value, "sslfingerprint")) return false;
    o.sslfingerprint = value;
  }
  return true;
}

/// `no keep`, `no ssl`, ...: the user option after `no`.
bool Parser::negated_user_option(User& user, bool& handled) {
  const Token& k = peek(1);
  auto uncarried = kUncarriedUser.find(k.text);
  bool plain_flag = uncarried != kUncarriedUser.end() && uncarried->second.arg == Arg::none;
  if (k.text != "keep" && k.text != "fetchall" && k.text != "ssl" && k.text != "sslcertck" && !plain_flag) {
    return decline(handled);
  }
  next();
  next();
  if (k.text == "keep") user.options.keep = false;
  if (k.text == "fetchall") user.options.fetchall = false;
  return ssl_option(k, true, user.options);  // other flags: turning off what clamfetch does not do
}

/// `is`/`to` NAME there (the remote name), or a list of local names [here].
bool Parser::recipient_option(User& user) {
  const Token& k = next();
  if (peek().type == Token::Type::string && at("there", 1)) {
    user.remote = next().text;
    next();
    return true;
  }
  if (peek().type != Token::Type::string) {
    return fail(peek(), "expected a local name after '" + k.spelled + "', got " + shown(peek()));
  }
  if (!mapping(user)) return false;
  if (at("here")) next();
  return true;
}

/// Options with values: password, folders, smtphost, antispam, limit, fetchlimit, batchlimit.
bool Parser::valued_user_option(Options& o, bool& handled) {
  const Token& k = peek();
  const std::string& w = k.text;
  if (w == "password") {
    next();
    std::string value;
    if (!string(value, "password")) return false;
    o.password = value;
  } else if (w == "folders" || w == "smtphost") {
    next();
    if (w == "smtphost") o.smtphost_line = k.line;
    std::vector<std::string> list;
    if (!strings(list, k.spelled.c_str())) return false;
    (w == "folders" ? o.folders : o.smtphosts) = std::move(list);
  } else if (w == "antispam") {
    next();
    std::vector<int64_t> codes(1);
    if (!number(codes[0], "antispam")) return false;
    while (peek().type == Token::Type::number) codes.push_back(next().number);
    o.antispam = std::move(codes);
  } else if (w == "limit" || w == "fetchlimit" || w == "batchlimit") {
    next();
    int64_t value = 0;
    if (!number(value, w.c_str())) return false;
    (w == "limit" ? o.limit : w == "fetchlimit" ? o.fetchlimit : o.batchlimit) = value;
  } else {
    return decline(handled);
  }
  return true;
}

bool Parser::user_option(User& user, bool& handled) {
  handled = true;
  const Token& k = peek();
  const std::string& w = k.text;
  Options& o = user.options;
  if (k.type != Token::Type::keyword) return decline(handled);
  if (w == "no") return negated_user_option(user, handled);
  if (w == "ssl" || w == "sslproto" || w == "sslcertck" || w == "sslcertfile" || w == "sslfingerprint") {
    next();
    return ssl_option(k, false, o);
  }
  if (w == "is" || w == "to") return recipient_option(user);
  if (w == "keep" || w == "fetchall" || w == "lmtp") {
    next();
    (w == "keep" ? o.keep : w == "fetchall" ? o.fetchall : o.lmtp) = true;
    return true;
  }
  if (!valued_user_option(o, handled)) return false;
  if (handled) return true;
  handled = true;
  auto uncarried = kUncarriedUser.find(w);
  if (uncarried == kUncarriedUser.end()) return decline(handled);
  next();
  if (!skip_args(uncarried->second.arg, w.c_str())) return false;
  warn(k, w, uncarried->second.why);
  return true;
}

}  // namespace

Result<Rc> parse(const std::vector<Token>& tokens, const std::string& name, std::vector<std::string>& warnings) {
  return Parser(tokens, name, warnings).run();
}

}  // namespace clamfetch::rc::fetchmailrc
