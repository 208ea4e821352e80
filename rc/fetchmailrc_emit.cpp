// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The fetchmailrc model written as a commented clamfetch rc file. Values that change meaning
// on the way (plaintext, multidrop, local names, fingerprints) are warned about.

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "core/text.hpp"
#include "rc/checker.hpp"
#include "rc/fetchmailrc.hpp"

namespace clamfetch::rc::fetchmailrc {
namespace {

using detail::quoted;

template <class T>
void inherit(std::optional<T>& own, const std::optional<T>& from) {
  if (!own) own = from;
}

Options merged(Options own, const Options* defaults) {
  if (!defaults) return own;
  inherit(own.keep, defaults->keep);
  inherit(own.fetchall, defaults->fetchall);
  inherit(own.ssl, defaults->ssl);
  inherit(own.lmtp, defaults->lmtp);
  inherit(own.sslcertck, defaults->sslcertck);
  inherit(own.password, defaults->password);
  inherit(own.sslproto, defaults->sslproto);
  inherit(own.sslcertfile, defaults->sslcertfile);
  inherit(own.sslfingerprint, defaults->sslfingerprint);
  inherit(own.folders, defaults->folders);
  if (!own.smtphosts) own.smtphost_line = defaults->smtphost_line;
  inherit(own.smtphosts, defaults->smtphosts);
  inherit(own.antispam, defaults->antispam);
  inherit(own.limit, defaults->limit);
  inherit(own.fetchlimit, defaults->fetchlimit);
  inherit(own.batchlimit, defaults->batchlimit);
  return own;
}

/// The user running the import: fetchmail's default local name ("postmaster" without one).
std::string default_local() {
  std::string name = invoking_user();
  return name.empty() ? "postmaster" : name;
}

template <class T>
std::string toml_list(const std::vector<T>& items) {
  std::string out = "[";
  for (const auto& item : items) {
    if (out.size() > 1) out += ", ";
    if constexpr (std::is_same_v<T, std::string>) {
      out += quoted(item);
    } else {
      out += std::to_string(item);
    }
  }
  return out + "]";
}

struct Tls {
  std::string mode = "starttls";
  bool allow_plaintext = false;
  std::string ca_file, fingerprint, min_tls;
  bool operator==(const Tls&) const = default;
};

class Emitter {
 public:
  Emitter(const Rc& rc, const std::string& name, std::vector<std::string>& warnings)
      : rc_(rc), name_(name), warnings_(warnings) {}
  std::string run();

 private:
  void warn(unsigned line, const std::string& text) {
    warnings_.push_back(name_ + ":" + std::to_string(line) + ": " + text);
  }
  std::string address(const std::string& local, unsigned line, const char* what);
  void global();
  void defaults_section(const Server& d);
  std::string user_options(const Options& o, const Options& effective, const char* indent, unsigned line);
  std::optional<std::string> smtphost(const Options& o);
  Tls tls(const Options& o);
  void tls_warnings(const Options& o, const Server& server);
  struct Block;
  std::string user_block(const User& user, const Server& poll, const Options& effective, std::string& username);
  std::optional<std::string> protocol_of(const Server& server, const Server* d);
  Block poll_head(const Server& server, const Server* d, const std::string& protocol, std::optional<int64_t> port,
                  const Options& first);
  void poll(const Server& server);

  const Rc& rc_;
  const std::string& name_;
  std::vector<std::string>& warnings_;
  std::string out_;
  const Server* shared_defaults_ = nullptr;
  /// server, protocol, port -> index into blocks_ (fetchmail allows one server in several polls).
  std::map<std::tuple<std::string, std::string, int64_t, bool>, size_t> seen_;
  struct Block {
    std::string head, users;
    std::vector<std::string> usernames;
    Tls tls;
    bool commented = false;
  };
  std::vector<Block> blocks_;
};

std::string Emitter::address(const std::string& local, unsigned line, const char* what) {
  if (detail::is_address(local)) return local;
  std::string out = local + "@localhost";
  warn(line, std::string(what) + " '" + local + "' is a local name: imported as " + quoted(out) +
                 " (fetchmail's RCPT TO for it); clamfetch needs a full address");
  return out;
}

void Emitter::global() {
  const Global& g = rc_.global;
  if (!g.postmaster && !g.bouncemail && !g.syslog && !g.logfile && !g.invisible) return;
  out_ += "[global]\n";
  if (g.postmaster) {
    out_ += "postmaster = " + quoted(address(*g.postmaster, g.postmaster_line, "postmaster")) +
            "   # gets reports of infected mail\n";
  }
  if (g.bouncemail) {
    out_ += std::string("bouncemail = ") + (*g.bouncemail ? "true" : "false") +
            (*g.bouncemail ? "\n" : "   # rejected mail goes to the postmaster, not the sender\n");
  }
  if (g.syslog) out_ += std::string("syslog = ") + (*g.syslog ? "true" : "false") + "\n";
  if (g.logfile) out_ += "logfile = " + quoted(*g.logfile) + "\n";
  if (g.invisible) out_ += std::string("invisible = ") + (*g.invisible ? "true" : "false") + "\n";
  out_ += "\n";
}

std::optional<std::string> Emitter::smtphost(const Options& o) {
  if (!o.smtphosts || o.smtphosts->empty()) {
    if (o.lmtp.value_or(false)) {
      warn(o.smtphost_line, "lmtp without smtphost: imported as \"lmtp:localhost:24\"");
      return "lmtp:localhost:24";
    }
    return std::nullopt;
  }
  const auto& hosts = *o.smtphosts;
  for (size_t i = 1; i < hosts.size(); ++i) {
    warn(o.smtphost_line, "smtphost '" + hosts[i] + "' not carried over: clamfetch delivers to one MTA, the first of the list");
  }
  const std::string& first = hosts.front();
  if (!first.empty() && first.front() == '/') return "lmtp:" + first;
  size_t slash = first.find('/');
  std::string host = first.substr(0, slash);
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  bool lmtp = o.lmtp.value_or(false);
  std::string port = slash == std::string::npos ? "" : first.substr(slash + 1);
  if (port.empty()) {
    port = lmtp ? "24" : "25";
    if (lmtp) warn(o.smtphost_line, "lmtp to '" + first + "' without a port: imported with port 24");
  }
  return (lmtp ? "lmtp:" : "") + host + ":" + port;
}

Tls Emitter::tls(const Options& o) {
  Tls t;
  std::string proto = o.sslproto.value_or("auto");
  for (char& c : proto) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (o.ssl.value_or(false)) {
    t.mode = "implicit";
  } else if (o.sslproto && proto.empty()) {
    t.mode = "none";
    t.allow_plaintext = true;
  }
  if (proto == "tls1.3" || proto == "tls1.3+") t.min_tls = "1.3";
  static const char* kOld[] = {"ssl3", "ssl3+", "tls1", "tls1+", "tls1.1", "tls1.1+", "ssl23"};
  for (const char* old : kOld) {
    if (proto == old) t.min_tls = "1.2";
  }
  if (o.sslcertfile) t.ca_file = *o.sslcertfile;
  if (o.sslfingerprint) {
    std::string hex = o.sslfingerprint->substr(0, 7) == "SHA256:" ? o.sslfingerprint->substr(7) : *o.sslfingerprint;
    for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (detail::is_sha256_fingerprint("SHA256:" + hex)) t.fingerprint = "SHA256:" + hex;
  }
  return t;
}

void Emitter::tls_warnings(const Options& o, const Server& server) {
  Tls t = tls(o);
  unsigned proto_line = o.sslproto_line ? o.sslproto_line : server.line;
  if (t.allow_plaintext) {
    warn(proto_line, "sslproto '' (no TLS) carried over as tls = \"none\" with allow_plaintext = true: the "
                     "password travels in clear text");
  }
  if (o.ssl.value_or(false) && o.sslproto && o.sslproto->empty()) {
    warn(proto_line, "sslproto '' with ssl: fetchmail ignores the empty sslproto here; imported as tls = \"implicit\"");
  }
  if (t.min_tls == "1.2") {
    warn(proto_line, "sslproto '" + *o.sslproto + "' not carried over: clamfetch requires TLS 1.2 or newer");
  }
  if (o.sslcertck && !*o.sslcertck) {
    warn(server.line, "no sslcertck not carried over: clamfetch always verifies the certificate and host name");
  }
  if (o.sslfingerprint && t.fingerprint.empty()) {
    warn(o.sslfingerprint_line, "sslfingerprint not carried over: it is an MD5 fingerprint and clamfetch pins "
                                "SHA-256 only (openssl x509 -in cert.pem -noout -sha256 -fingerprint)");
  }
}

std::string Emitter::user_options(const Options& o, const Options& effective, const char* indent,
                                  unsigned at) {
  std::string out;
  auto line = [&](const std::string& key, const std::string& value) { out += indent + key + " = " + value + "\n"; };
  if (o.keep) line("keep", *o.keep ? "true" : "false");
  if (o.fetchall) line("fetchall", *o.fetchall ? "true" : "false");
  if (o.smtphosts || o.lmtp) {
    if (auto host = smtphost(effective)) line("smtphost", quoted(*host));
  }
  if (o.folders) line("folders", toml_list(*o.folders));
  auto count = [&](const char* key, const std::optional<int64_t>& value) {
    if (!value) return;
    if (*value < 0) {
      warn(at, std::string(key) + " " + std::to_string(*value) + " not carried over: it must not be negative");
      return;
    }
    line(key, std::to_string(*value));
  };
  count("limit", o.limit);
  count("fetchlimit", o.fetchlimit);
  count("batchlimit", o.batchlimit);
  if (o.antispam) {
    std::vector<int64_t> codes;
    bool off = false;
    for (int64_t code : *o.antispam) {
      if (code == -1) off = true;
      else if (code >= 400 && code <= 599) codes.push_back(code);
    }
    line("antispam", off ? "[]   # fetchmail: antispam -1" : toml_list(codes));
  }
  return out;
}

void Emitter::defaults_section(const Server& d) {
  std::string body;
  if (d.timeout && *d.timeout > 0) body += "timeout = " + std::to_string(*d.timeout) + "\n";
  if (!d.users.empty()) body += user_options(d.users[0].options, d.users[0].options, "", d.line);
  if (body.empty()) return;
  out_ += "[defaults]   # fetchmail line " + std::to_string(d.line) + "\n" + body + "\n";
}

std::string Emitter::user_block(const User& user, const Server& poll, const Options& effective,
                                std::string& username) {
  unsigned line = user.line ? user.line : poll.line;
  const Options& own = user.options;
  username = user.remote ? *user.remote : !user.locals.empty() ? user.locals.front() : default_local();
  if (!user.remote && user.locals.empty()) {
    warn(line, "no user name for " + poll.name + ": fetchmail uses your login name, imported as " + quoted(username));
  }
  std::string local = user.locals.empty() ? default_local() : user.locals.front();
  if (user.multidrop || user.locals.size() > 1) {
    warn(line, "multidrop for " + username + "@" + poll.name + " not carried over: clamfetch delivers every "
               "message to one recipient, imported as the first local name '" + local + "'");
  }
  std::string out = "  [[poll.user]]\n  username = " + quoted(username) + "\n";
  if (effective.password) {
    out += "  password = " + quoted(*effective.password) + "\n";
  } else {
    warn(line, "no password for " + username + "@" + poll.name +
                   " (fetchmail asks for it or reads ~/.netrc): add password or password_command");
  }
  out += "  is = " + quoted(address(local, line, "local name")) + "\n";
  out += user_options(shared_defaults_ ? own : effective, effective, "  ", line);
  return out;
}

/// The clamfetch protocol for a poll; nothing (and a warning) when it cannot be carried over.
std::optional<std::string> Emitter::protocol_of(const Server& server, const Server* d) {
  std::string protocol = server.protocol ? *server.protocol : d && d->protocol ? *d->protocol : "auto";
  unsigned line = server.protocol ? server.protocol_line : server.line;
  if (protocol == "etrn" || protocol == "odmr" || protocol == "pop2") {
    warn(line, "poll " + server.name + " not carried over: protocol " + protocol + " is not supported");
    return std::nullopt;
  }
  if (protocol == "apop") return "pop3";  // with auth = "apop" (auth_of)
  if (protocol != "pop3" && protocol != "imap") {
    std::string as = protocol == "auto" ? "imap" : "pop3";
    warn(line, "protocol " + protocol + " of " + server.name + " imported as " + as +
                   (protocol == "auto" ? " (fetchmail's auto tries IMAP first)" : " with USER/PASS inside TLS"));
    protocol = as;
  }
  return protocol;
}

/// The clamfetch `auth` for a poll, or nothing for the default: fetchmail's protocol apop is
/// auth "apop", `authenticate password` is auth "password".
std::optional<std::string> auth_of(const Server& server, const Server* d) {
  std::string protocol = server.protocol ? *server.protocol : d && d->protocol ? *d->protocol : "";
  if (protocol == "apop") return "apop";
  if (server.auth) return server.auth;
  if (d && d->auth) return d->auth;
  return std::nullopt;
}

Emitter::Block Emitter::poll_head(const Server& server, const Server* d, const std::string& protocol,
                                  std::optional<int64_t> port, const Options& first) {
  Block b;
  b.tls = tls(first);
  const Tls& t = b.tls;
  b.commented = server.skip;
  b.head = "[[poll]]   # fetchmail line " + std::to_string(server.line) + "\nserver = " + quoted(server.name) +
           "\nprotocol = " + quoted(protocol) + "\n";
  if (port) b.head += "port = " + std::to_string(*port) + "\n";
  b.head += "tls = " + quoted(t.mode) + (t.mode == "starttls" ? "   # fetchmail without ssl: STARTTLS, required\n" : "\n");
  if (t.allow_plaintext) b.head += "allow_plaintext = true   # fetchmail: sslproto ''\n";
  if (!t.ca_file.empty()) b.head += "ca_file = " + quoted(t.ca_file) + "\n";
  if (!t.fingerprint.empty()) b.head += "fingerprint = " + quoted(t.fingerprint) + "\n";
  if (t.min_tls == "1.3") b.head += "min_tls = \"1.3\"\n";
  if (auto auth = auth_of(server, d)) b.head += "auth = " + quoted(*auth) + "\n";
  // With a shared [defaults] its timeout is written there; otherwise into each poll.
  // A plain value and a flag, not a std::optional: GCC 12 at -Os takes the optional's copy
  // through the conditional for "maybe uninitialized" (GCC bug 80635).
  const std::optional<int64_t>& chosen = server.timeout || shared_defaults_ || !d ? server.timeout : d->timeout;
  const bool has_timeout = chosen.has_value();
  const int64_t timeout = chosen.value_or(0);
  if (has_timeout && timeout > 0) b.head += "timeout = " + std::to_string(timeout) + "\n";
  if (has_timeout && timeout <= 0) {
    warn(server.line, "timeout " + std::to_string(timeout) + " not carried over: clamfetch needs a timeout");
  }
  tls_warnings(first, server);
  if (server.skip) {
    warn(server.line, "poll " + server.name + " is a skip entry: emitted commented out (uncomment it to poll this server)");
  }
  return b;
}

void Emitter::poll(const Server& server) {
  const Server* d = server.defaults >= 0 ? &rc_.defaults[static_cast<size_t>(server.defaults)] : nullptr;
  const Options* defaults = d && !d->users.empty() ? &d->users[0].options : nullptr;
  auto protocol = protocol_of(server, d);
  if (!protocol) return;
  std::vector<User> users = server.users;
  if (users.empty()) users.push_back(User{});
  Options first = merged(users[0].options, defaults);
  std::string mode = tls(first).mode;
  std::optional<int64_t> port = server.port ? server.port : d ? d->port : std::nullopt;
  int64_t effective_port = port ? *port : *protocol == "pop3" ? (mode == "implicit" ? 995 : 110)
                                                              : (mode == "implicit" ? 993 : 143);
  // fetchmail allows one server in several polls; clamfetch wants one [[poll]] with its users.
  auto [it, fresh] = seen_.emplace(std::make_tuple(server.name, *protocol, effective_port, server.skip), blocks_.size());
  if (fresh) blocks_.push_back(poll_head(server, d, *protocol, port, first));
  Block& block = blocks_[it->second];
  for (const User& user : users) {
    unsigned line = user.line ? user.line : server.line;
    Options effective = merged(user.options, defaults);
    if (!(tls(effective) == block.tls)) {
      warn(line, "TLS settings of a user of " + server.name +
                     " differ from the first user's: clamfetch has one TLS setting per server, the first user's is used");
    }
    std::string username;
    std::string text = user_block(user, server, effective, username);
    if (std::find(block.usernames.begin(), block.usernames.end(), username) != block.usernames.end()) {
      warn(line, "duplicate user " + username + " of " + server.name + " not carried over");
      continue;
    }
    block.usernames.push_back(username);
    block.users += "\n" + text;
  }
}

std::string Emitter::run() {
  out_ = "# clamfetch rc file, imported from the fetchmailrc " + name_ + "\n"
         "# by clamfetch --import-fetchmailrc. Check it with: clamfetch --check-config -f FILE\n"
         "# (the file must be yours and mode 0600: it holds passwords).\n\n";
  global();
  if (!rc_.polls.empty()) {
    int d = rc_.polls.front().defaults;
    bool shared = d >= 0;
    for (const Server& p : rc_.polls) shared = shared && p.defaults == d;
    if (shared) {
      shared_defaults_ = &rc_.defaults[static_cast<size_t>(d)];
      defaults_section(*shared_defaults_);
    }
  }
  for (const Server& server : rc_.polls) poll(server);
  for (const Block& b : blocks_) {
    std::string text = b.head + b.users;
    if (b.commented) {
      std::string commented;
      size_t start = 0;
      for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
        commented += "# " + text.substr(start, end - start) + "\n";
      }
      text = commented;
    }
    out_ += text + "\n";
  }
  return out_;
}

}  // namespace

std::string emit(const Rc& rc, const std::string& name, std::vector<std::string>& warnings) {
  return Emitter(rc, name, warnings).run();
}

}  // namespace clamfetch::rc::fetchmailrc
