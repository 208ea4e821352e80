// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// probe(): the MTA's answers to an envelope, without DATA (clamfetch --doctor). Lock-step and
// simple on purpose: it runs once per account, and each reply must be shown as it came.

#include <algorithm>

#include "deliver/connection.hpp"
#include "deliver/deliver.hpp"

namespace clamfetch::deliver {
namespace {

class Prober {
 public:
  Prober(const ClientSettings& settings, Log& log, Probe& out)
      : settings_(settings), log_(log), out_(out) {}

  bool connect() {
    conn_ = Connection::open(settings_.target, Deadline::after(settings_.timeout_seconds), out_.error);
    return conn_ != nullptr;
  }
  /// Sends `command` (empty: none, just read) and reads its reply into `reply`.
  bool ask(const std::string& command, Reply& reply, std::vector<std::string>* lines = nullptr) {
    std::string error;
    if (!command.empty()) {
      trace('>', command);
      if (conn_->write_all(command + "\r\n", settings_.timeout_seconds, error) != Io::ok) {
        out_.error = error;
        return false;
      }
    }
    ParsedReply parsed;
    Io io = conn_->read_reply(Deadline::after(settings_.timeout_seconds), parsed, error);
    if (io != Io::ok) {
      out_.error = io == Io::malformed ? "malformed reply" : error;
      return false;
    }
    reply = parsed.reply;
    trace('<', std::to_string(reply.code) + " " + reply.text);
    if (lines != nullptr) *lines = std::move(parsed.lines);
    return true;
  }
  bool lmtp() const { return settings_.target.kind != Target::Kind::smtp; }

 private:
  void trace(char direction, const std::string& line) {
    if (log_.tracing(Channel::smtp)) {
      log_.trace(Channel::smtp, "smtp " + out_.peer + " " + direction + " " + line);
    }
  }

  const ClientSettings& settings_;
  Log& log_;
  Probe& out_;
  std::unique_ptr<Connection> conn_;
};

bool positive(const Reply& reply) { return reply.code >= 200 && reply.code < 300; }

bool safe_address(const std::string& address) {
  return std::none_of(address.begin(), address.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

/// EHLO (LHLO), or HELO after an EHLO refused for good. False: stop.
bool greet(Prober& p, Probe& out, const std::string& name) {
  std::vector<std::string> lines;
  out.hello_command = p.lmtp() ? "LHLO" : "EHLO";
  if (!p.ask(out.hello_command + " " + name, out.hello, &lines)) return false;
  if (positive(out.hello)) {
    out.extensions = parse_extensions(lines);
    return true;
  }
  if (p.lmtp() || out.hello.code < 500) return false;
  out.hello_command = "HELO";
  return p.ask("HELO " + name, out.hello) && positive(out.hello);
}

/// MAIL FROM, each RCPT TO, RSET. False: the connection was lost.
bool envelope(Prober& p, Probe& out, const Envelope& env) {
  if (!safe_address(env.sender)) {
    out.mail = Reply{0, "sender address with control characters: not sent"};
    return true;
  }
  if (!p.ask("MAIL FROM:<" + env.sender + ">", out.mail)) return false;
  if (!positive(out.mail)) return true;
  for (const auto& rcpt : env.recipients) {
    out.rcpt.push_back(Reply{0, "address with control characters: not sent"});
    if (safe_address(rcpt) && !p.ask("RCPT TO:<" + rcpt + ">", out.rcpt.back())) return false;
  }
  return p.ask("RSET", out.rset);
}

}  // namespace

Probe probe(const ClientSettings& settings, const Envelope& env, Log& log) {
  Probe out;
  out.peer = describe(settings.target);
  Prober p(settings, log, out);
  if (!p.connect()) return out;
  if (!p.ask("", out.greeting)) return out;
  if (positive(out.greeting) && greet(p, out, settings.helo_name)) (void)envelope(p, out, env);
  if (out.error.empty()) {
    Reply bye;
    (void)p.ask("QUIT", bye);  // a QUIT unanswered changes nothing
    out.error.clear();
  }
  return out;
}

}  // namespace clamfetch::deliver
