// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The SMTP/LMTP client: one reused connection, PIPELINING when offered, the whole DATA in
// large writes, a deadline on every reply. Rules in deliver.hpp (make_transport).

#include <algorithm>
#include <span>
#include <vector>

#include "deliver/connection.hpp"
#include "deliver/deliver.hpp"

namespace clamfetch::deliver {
namespace {

bool is_2xx(const Reply& reply) { return reply.code >= 200 && reply.code < 300; }

bool has_8bit(std::string_view bytes) {
  return std::any_of(bytes.begin(), bytes.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// An envelope address is put between angle brackets on a command line: a control character
// or a bracket would let a hostile Return-Path inject commands.
bool valid_address(std::string_view address) {
  return std::none_of(address.begin(), address.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f || c == '<' || c == '>';
  });
}

int severity(Outcome::Status status) {
  switch (status) {
    case Outcome::Status::delivered: return 0;
    case Outcome::Status::permanent: return 1;
    case Outcome::Status::temporary: return 2;
    case Outcome::Status::unreachable: return 3;
  }
  return 3;
}

Outcome failure(Outcome::Status status, Reply reply) {
  Outcome out;
  out.status = status;
  out.reply = std::move(reply);
  return out;
}

// A refusal decided here, before MAIL FROM is sent: it stands for the MTA's MAIL FROM reply
// (the same as a server refusing SIZE= there), so the whole message is refused.
Outcome local_refusal(Reply reply) {
  Outcome out = failure(Outcome::Status::permanent, std::move(reply));
  out.stage = Outcome::Stage::mail;
  out.local = true;
  return out;
}

// The accepted recipients did not get the message: their entries say so (code 0), so the
// caller retries them rather than counting them as delivered.
void mark_unsent(Outcome& out, const std::vector<std::size_t>& accepted, const std::string& why) {
  for (std::size_t i : accepted) {
    if (i < out.per_recipient.size()) out.per_recipient[i] = Reply{0, why};
  }
}

// A refusal of MAIL, RCPT or DATA: 4xx temporary, 5xx permanent; a positive reply where a
// refusal was inferred, or a code out of place, is a protocol failure (unreachable).
Outcome::Status refusal_status(int code) {
  Outcome::Status status = classify(code);
  return status == Outcome::Status::delivered ? Outcome::Status::unreachable : status;
}

// The DATA section of one message (data_wire()), given as consecutive parts (an edited header
// block and the untouched body: prepending a header to a 50 MB message then copies nothing).
// A small message's section is built whole; a big one's is made and written in pieces of about
// kPiece, so that a 50 MB message is not held twice (its pieces are then made twice: once to
// learn the size for SIZE=, once to send).
class DataSection {
 public:
  static constexpr std::size_t kPiece = 4 << 20;

  explicit DataSection(std::span<const std::string_view> parts) : parts_(parts.begin(), parts.end()) {
    for (std::string_view part : parts_) total_ += part.size();
    if (total_ <= kPiece) {
      whole_ = data_wire(gather(0, total_));
      size_ = whole_.size();
    } else {
      for_each_piece([this](std::string_view piece) {
        size_ += piece.size();
        return true;
      });
    }
  }

  std::size_t size() const { return size_; }

  /// Writes everything but the final ".\r\n", asks `before_end`, then writes that mark
  /// (or stops there when before_end says no).
  template <class Hook>
  Io write(Connection& conn, int timeout_seconds, std::string& error, Hook&& before_end) const {
    constexpr std::size_t kMark = 3;  // ".\r\n", which data_wire() always ends with
    Io io = Io::ok;
    if (total_ <= kPiece) {
      io = conn.write_all(std::string_view(whole_).substr(0, whole_.size() - kMark), timeout_seconds, error);
    } else {
      for_each_piece([&](std::string_view piece) {
        // Only the last piece still ends with the mark (for_each_piece strips the others').
        io = conn.write_all(piece_is_last_ ? piece.substr(0, piece.size() - kMark) : piece,
                            timeout_seconds, error);
        return io == Io::ok;
      });
    }
    if (io != Io::ok) return io;
    if (!before_end()) {
      error = "delivery abandoned before the end of data";
      return Io::closed;
    }
    return conn.write_all(".\r\n", timeout_seconds, error);
  }

 private:
  // Bytes [from, to) of the parts taken as one message.
  std::string gather(std::size_t from, std::size_t to) const {
    std::string out;
    out.reserve(to - from);
    std::size_t base = 0;
    for (std::string_view part : parts_) {
      std::size_t lo = std::max(from, base), hi = std::min(to, base + part.size());
      if (lo < hi) out.append(part.substr(lo - base, hi - lo));
      base += part.size();
    }
    return out;
  }

  // The first '\n' at or after `from` in the parts taken as one message, or npos.
  std::size_t find_lf(std::size_t from) const {
    std::size_t base = 0;
    for (std::string_view part : parts_) {
      if (from < base + part.size()) {
        std::size_t at = part.find('\n', from > base ? from - base : 0);
        if (at != std::string_view::npos) return base + at;
      }
      base += part.size();
    }
    return std::string_view::npos;
  }

  // Cuts after a line feed, so a '.' that starts a piece starts a line and a CR LF pair is
  // never split; every piece but the last loses the ".\r\n" that data_wire() ends it with.
  template <class Emit>
  void for_each_piece(Emit&& emit) const {
    std::size_t pos = 0;
    do {
      std::size_t end = total_;
      if (end - pos > kPiece) {
        std::size_t lf = find_lf(pos + kPiece);
        if (lf != std::string_view::npos) end = lf + 1;
      }
      std::string wire = data_wire(gather(pos, end));
      if (end != total_) wire.resize(wire.size() - 3);
      piece_is_last_ = end == total_;
      if (!emit(std::string_view(wire))) return;
      pos = end;
    } while (pos < total_);
  }

  std::vector<std::string_view> parts_;
  std::size_t total_ = 0;
  std::string whole_;
  std::size_t size_ = 0;
  mutable bool piece_is_last_ = false;
};

class SmtpTransport final : public Transport {
 public:
  SmtpTransport(const ClientSettings& settings, Log& log) : settings_(settings), log_(log) {}
  ~SmtpTransport() override { close(); }

  using Transport::send;
  Outcome send(const Envelope& envelope, std::span<const std::string_view> parts) override;
  void close() override;

 private:
  // One attempt at a message; `retry` when a reused connection proved dead before any reply.
  struct Attempt {
    Outcome outcome;
    bool retry = false;
  };

  bool lmtp() const { return settings_.target.kind != Target::Kind::smtp; }
  Outcome open();
  Outcome hello();
  Attempt transaction(const Envelope& envelope, const DataSection& wire, bool eightbit,
                      bool reused);
  bool reset(Attempt& attempt);
  bool envelope_replies(const std::vector<std::string>& commands, std::vector<Reply>& replies,
                        Outcome& out);
  bool accept_envelope(const std::vector<Reply>& replies, Outcome& out,
                       std::vector<std::size_t>& accepted);
  void finish_data(const DataSection& wire, const std::vector<std::size_t>& accepted,
                   Outcome& out);
  std::string mail_from(const Envelope& envelope, std::size_t size, bool eightbit) const;

  bool put(std::string_view commands, Outcome& out);
  bool get(Reply& reply, Outcome& out, std::vector<std::string>* lines = nullptr);
  void trace(char direction, std::string_view line);
  void drop() { conn_.reset(); }

  ClientSettings settings_;
  Log& log_;
  std::unique_ptr<Connection> conn_;
  Extensions ext_;
  unsigned messages_on_connection_ = 0;
  Io last_io_ = Io::ok;
};

void SmtpTransport::trace(char direction, std::string_view line) {
  if (!log_.tracing(Channel::smtp)) return;
  std::string text = "smtp ";
  text += describe(settings_.target);
  text += ' ';
  text += direction;
  text += ' ';
  text += line;
  log_.trace(Channel::smtp, text);
}

// Writes CRLF-terminated commands in one write, tracing each line.
bool SmtpTransport::put(std::string_view commands, Outcome& out) {
  for (std::size_t pos = 0; pos < commands.size();) {
    std::size_t end = commands.find("\r\n", pos);
    trace('>', commands.substr(pos, end - pos));
    pos = end + 2;
  }
  std::string error;
  last_io_ = conn_->write_all(commands, settings_.timeout_seconds, error);
  if (last_io_ == Io::ok) return true;
  out = failure(Outcome::Status::unreachable, Reply{0, error});
  drop();
  return false;
}

bool SmtpTransport::get(Reply& reply, Outcome& out, std::vector<std::string>* lines) {
  ParsedReply parsed;
  std::string error;
  last_io_ = conn_->read_reply(Deadline::after(settings_.timeout_seconds), parsed, error);
  if (last_io_ != Io::ok) {
    trace('<', "(" + error + ")");
    out = failure(Outcome::Status::unreachable,
                  Reply{0, last_io_ == Io::malformed ? "malformed reply" : error});
    drop();
    return false;
  }
  for (std::size_t i = 0; i < parsed.lines.size(); ++i) {
    bool last = i + 1 == parsed.lines.size();
    trace('<', std::to_string(parsed.reply.code) + (last ? " " : "-") + parsed.lines[i]);
  }
  reply = parsed.reply;
  if (lines != nullptr) *lines = std::move(parsed.lines);
  return true;
}

Outcome SmtpTransport::open() {
  std::string error;
  conn_ = Connection::open(settings_.target, Deadline::after(settings_.timeout_seconds), error);
  if (!conn_) {
    trace('!', error);
    return failure(Outcome::Status::unreachable, Reply{0, error});
  }
  messages_on_connection_ = 0;
  Outcome out;
  Reply greeting;
  if (!get(greeting, out)) return out;
  if (!is_2xx(greeting)) {
    // A refused session is no verdict on the message: it stays on the server.
    drop();
    return failure(Outcome::Status::temporary, greeting);
  }
  return hello();
}

Outcome SmtpTransport::hello() {
  Outcome out;
  Reply reply;
  std::vector<std::string> lines;
  const std::string& name = settings_.helo_name;
  if (!put((lmtp() ? "LHLO " : "EHLO ") + name + "\r\n", out)) return out;
  if (!get(reply, out, &lines)) return out;
  if (is_2xx(reply)) {
    ext_ = parse_extensions(lines);
    out.status = Outcome::Status::delivered;
    out.reply = reply;
    return out;
  }
  // An SMTP server without ESMTP refuses EHLO with 5xx: greet it the RFC 821 way.
  if (!lmtp() && reply.code >= 500) {
    if (!put("HELO " + name + "\r\n", out) || !get(reply, out)) return out;
    if (is_2xx(reply)) {
      ext_ = Extensions{};
      out.status = Outcome::Status::delivered;
      out.reply = reply;
      return out;
    }
  }
  drop();
  return failure(Outcome::Status::temporary, reply);
}

std::string SmtpTransport::mail_from(const Envelope& envelope, std::size_t size,
                                     bool eightbit) const {
  std::string command = "MAIL FROM:<" + envelope.sender + ">";
  if (ext_.size) command += " SIZE=" + std::to_string(size);
  if (eightbit && ext_.eightbitmime) command += " BODY=8BITMIME";
  bool utf8 = has_8bit(envelope.sender) ||
              std::any_of(envelope.recipients.begin(), envelope.recipients.end(),
                          [](const std::string& r) { return has_8bit(r); });
  if (utf8 && ext_.smtputf8) command += " SMTPUTF8";
  return command;
}

// Reads the RSET reply on a reused connection. Any failure but a timeout means the connection
// died between messages (EOF, reset, 421 on an idle timeout): the caller reconnects once.
bool SmtpTransport::reset(Attempt& attempt) {
  Reply reply;
  if (!get(reply, attempt.outcome)) {
    attempt.retry = last_io_ != Io::timeout;
    return false;
  }
  if (is_2xx(reply)) return true;
  attempt.outcome = failure(Outcome::Status::temporary, reply);
  attempt.retry = true;
  drop();
  return false;
}

// Sends MAIL and every RCPT and reads their replies: pipelined together with DATA (whose
// reply is then left for the caller), or in lock-step stopping after a refused MAIL.
bool SmtpTransport::envelope_replies(const std::vector<std::string>& commands,
                                     std::vector<Reply>& replies, Outcome& out) {
  for (std::size_t i = 0; i < commands.size(); ++i) {
    Reply reply;
    if (!ext_.pipelining && !put(commands[i] + "\r\n", out)) return false;
    if (!get(reply, out)) return false;
    replies.push_back(reply);
    if (!ext_.pipelining && i == 0 && !is_2xx(reply)) break;
  }
  return true;
}

// Decides from the MAIL and RCPT replies whether DATA goes ahead (rules in deliver.hpp).
bool SmtpTransport::accept_envelope(const std::vector<Reply>& replies, Outcome& out,
                                    std::vector<std::size_t>& accepted) {
  const Reply& mail = replies.front();
  if (!is_2xx(mail)) {
    out.status = refusal_status(mail.code);
    out.stage = Outcome::Stage::mail;
    out.reply = mail;
    return false;
  }
  out.per_recipient.assign(replies.begin() + 1, replies.end());
  out.stage = Outcome::Stage::rcpt;
  const Reply* first_4xx = nullptr;
  const Reply* first_refusal = nullptr;
  for (std::size_t i = 0; i < out.per_recipient.size(); ++i) {
    const Reply& r = out.per_recipient[i];
    if (is_2xx(r)) {
      accepted.push_back(i);
      continue;
    }
    if (first_refusal == nullptr) first_refusal = &r;
    if (classify(r.code) != Outcome::Status::permanent && first_4xx == nullptr) first_4xx = &r;
  }
  if (first_4xx != nullptr || accepted.empty()) {
    const Reply& decisive = first_4xx != nullptr ? *first_4xx : *first_refusal;
    out.status = refusal_status(decisive.code);
    out.reply = decisive;
    mark_unsent(out, accepted, "not sent: another recipient was deferred (" +
                                   std::to_string(decisive.code) + ")");
    return false;
  }
  return true;
}

// After 354: the message in large buffered writes, then one reply (LMTP: one per accepted
// recipient, in RCPT order).
void SmtpTransport::finish_data(const DataSection& wire, const std::vector<std::size_t>& accepted,
                                Outcome& out) {
  trace('>', "(" + std::to_string(wire.size()) + " octets of message data)");
  std::string error;
  out.stage = Outcome::Stage::data;
  last_io_ = wire.write(*conn_, settings_.timeout_seconds, error, [this] { return before_end_of_data(); });
  if (last_io_ != Io::ok) {
    out.status = Outcome::Status::unreachable;
    out.reply = Reply{0, error};
    mark_unsent(out, accepted, "not sent: " + error);
    drop();
    return;
  }
  std::size_t expected = lmtp() ? accepted.size() : 1;
  Outcome verdict;
  verdict.stage = Outcome::Stage::data;
  verdict.per_recipient = out.per_recipient;
  // Until its own reply came, an accepted recipient may or may not have the message.
  mark_unsent(verdict, accepted, "no reply after the end of DATA");
  for (std::size_t i = 0; i < expected; ++i) {
    Reply reply;
    if (!get(reply, out)) {
      // Lost after DATA: unreachable, the message stays; LMTP recipients that already
      // answered keep their replies, so that a retry does not give them a second copy.
      verdict.status = Outcome::Status::unreachable;
      verdict.reply = out.reply;
      out = std::move(verdict);
      return;
    }
    if (lmtp()) verdict.per_recipient[accepted[i]] = reply;
    else for (std::size_t a : accepted) verdict.per_recipient[a] = reply;
    Outcome::Status status = is_2xx(reply) ? Outcome::Status::delivered
                                           : refusal_status(reply.code);
    // The worst reply decides: a code out of place, then 4xx, then 5xx, then 2xx.
    if (i == 0 || severity(status) > severity(verdict.status)) {
      verdict.status = status;
      verdict.reply = reply;
    }
  }
  if (verdict.status == Outcome::Status::unreachable) drop();
  out = std::move(verdict);
}

SmtpTransport::Attempt SmtpTransport::transaction(const Envelope& envelope,
                                                  const DataSection& wire, bool eightbit,
                                                  bool reused) {
  Attempt attempt;
  Outcome& out = attempt.outcome;
  std::vector<std::string> commands{mail_from(envelope, wire.size(), eightbit)};
  for (const auto& r : envelope.recipients) commands.push_back("RCPT TO:<" + r + ">");
  ++messages_on_connection_;

  std::string batch = reused ? "RSET\r\n" : "";
  if (ext_.pipelining) {
    for (const auto& c : commands) batch += c + "\r\n";
    batch += "DATA\r\n";
  }
  if (!batch.empty() && !put(batch, out)) {
    attempt.retry = reused && last_io_ == Io::closed;
    return attempt;
  }
  if (reused && !reset(attempt)) return attempt;

  std::vector<Reply> replies;
  if (!envelope_replies(commands, replies, out)) return attempt;
  std::vector<std::size_t> accepted;
  bool go = accept_envelope(replies, out, accepted);
  if (out.status == Outcome::Status::unreachable && !go) {
    drop();  // a positive reply out of place: the session state is unknown
    return attempt;
  }
  Reply data;
  if (ext_.pipelining || go) {
    if (!ext_.pipelining && !put("DATA\r\n", out)) return attempt;
    if (!get(data, out)) return attempt;
  }
  if (data.code == 354 && !go) {
    // The server wants the message we decided not to send: only a dropped connection ends
    // the transaction without delivering anything.
    drop();
    return attempt;
  }
  if (!go) return attempt;
  if (data.code != 354) {
    out.status = refusal_status(data.code);
    out.stage = Outcome::Stage::data;
    out.reply = data;
    for (std::size_t a : accepted) out.per_recipient[a] = data;
    if (out.status == Outcome::Status::unreachable) {
      mark_unsent(out, accepted, "not sent: DATA answered " + std::to_string(data.code));
      drop();
    }
    return attempt;
  }
  finish_data(wire, accepted, out);
  return attempt;
}

Outcome SmtpTransport::send(const Envelope& envelope, std::span<const std::string_view> parts) {
  if (envelope.recipients.empty()) {
    return local_refusal(Reply{554, "5.5.1 no recipients (local check)"});
  }
  if (!valid_address(envelope.sender) ||
      !std::all_of(envelope.recipients.begin(), envelope.recipients.end(), valid_address)) {
    return local_refusal(Reply{553, "5.1.3 invalid characters in an address (local check)"});
  }
  if (conn_ && settings_.batchlimit > 0 && messages_on_connection_ >= settings_.batchlimit) {
    close();
  }
  DataSection wire(parts);
  bool eightbit = std::any_of(parts.begin(), parts.end(), has_8bit);
  bool reused = conn_ != nullptr;
  for (int round = 0; round < 2; ++round) {
    if (!conn_) {
      Outcome opened = open();
      if (!conn_) return opened;
    }
    if (ext_.size && ext_.size_max > 0 && wire.size() > ext_.size_max) {
      return local_refusal(Reply{552, "5.3.4 message size " + std::to_string(wire.size()) +
                                          " exceeds the MTA's limit " +
                                          std::to_string(ext_.size_max) + " (local check)"});
    }
    Attempt attempt = transaction(envelope, wire, eightbit, reused);
    if (!attempt.retry) return attempt.outcome;
    trace('!', "connection lost between messages, reconnecting");
    drop();
    reused = false;
  }
  return failure(Outcome::Status::unreachable, Reply{0, "connection lost"});
}

void SmtpTransport::close() {
  if (!conn_) return;
  // QUIT is a courtesy: its reply is waited for briefly, and a failure changes nothing.
  constexpr int kQuitSeconds = 5;
  std::string error;
  ParsedReply reply;
  trace('>', "QUIT");
  if (conn_->write_all("QUIT\r\n", kQuitSeconds, error) == Io::ok &&
      conn_->read_reply(Deadline::after(kQuitSeconds), reply, error) == Io::ok) {
    trace('<', std::to_string(reply.reply.code) + " " + reply.reply.text);
  }
  drop();
}

}  // namespace

std::unique_ptr<Transport> make_transport(const ClientSettings& settings, Log& log) {
  return std::make_unique<SmtpTransport>(settings, log);
}

}  // namespace clamfetch::deliver
