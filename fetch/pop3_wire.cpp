// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// POP3 line I/O of our own on top of libetpan's buffered mailstream (see pop3_wire.hpp).

#include "fetch/pop3_wire.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <utility>

#include "fetch/tls.hpp"

namespace clamfetch::fetch {
namespace {

/// RFC 2449 allows 512 octets for a status line; servers with long texts get some slack.
constexpr std::size_t kMaxStatusLine = 2048;
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxReserve = 64 << 20;

Error protocol_error(std::string text) {
  return make_error(Kind::protocol, Scope::account, std::move(text));
}

std::string_view without_line_end(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

/// "+OK", "+OK text", "-ERR", "-ERR text"; anything else is malformed.
bool parse_status(std::string_view line, Pop3Reply& reply) {
  for (auto [word, ok] : {std::pair{std::string_view("+OK"), true}, {"-ERR", false}}) {
    if (line.substr(0, word.size()) != word) continue;
    std::string_view rest = line.substr(word.size());
    if (!rest.empty() && rest.front() != ' ') return false;
    reply.ok = ok;
    reply.text = std::string(rest.empty() ? rest : rest.substr(1));
    return true;
  }
  return false;
}

}  // namespace

Pop3Wire::Pop3Wire(mailstream* stream, std::string account, Log& log, int timeout_seconds)
    : stream_(stream), account_(std::move(account)), log_(log), timeout_seconds_(timeout_seconds) {}

void Pop3Wire::trace_command(std::string_view shown) {
  if (log_.tracing(Channel::net)) log_.trace(Channel::net, account_ + ": POP3> " + std::string(shown));
}

void Pop3Wire::trace_reply(bool ok, const char* text) {
  if (!log_.tracing(Channel::net)) return;
  std::string line = account_;
  line.append(ok ? ": POP3< +OK" : ": POP3< -ERR");
  if (text != nullptr && *text != '\0') line.append(" ").append(printable(text));
  log_.trace(Channel::net, line);
}

Error Pop3Wire::stream_failure(std::string_view during) const {
  if (stream_line_too_long(stream_)) {
    return protocol_error("server sent a line of over " + std::to_string(kMaxLineOctets) +
                          " octets (" + std::string(during) + ")");
  }
  if (stream_deadline_passed(stream_)) {
    return make_error(Kind::timeout, Scope::account,
                      "poll ended by run_timeout (" + std::string(during) + ")");
  }
  if (stream_timed_out(stream_)) {
    return make_error(Kind::timeout, Scope::account,
                      "server did not answer within " + std::to_string(timeout_seconds_) +
                          " s (" + std::string(during) + ")");
  }
  return make_error(Kind::connect, Scope::account,
                    "connection lost (" + std::string(during) + ")");
}

Status Pop3Wire::send(std::string_view command, std::string_view shown) {
  trace_command(shown.empty() ? command : shown);
  std::string line;
  line.reserve(command.size() + 2);  // one buffer: no unwiped copy left behind by a regrowth
  line.append(command).append("\r\n");
  bool written =
      mailstream_write(stream_, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  if (!shown.empty()) {
    OPENSSL_cleanse(line.data(), line.size());  // it held a secret
    secret_queued_ = true;
  }
  if (!written) {
    // A masked line may be all credential (an AUTH LOGIN answer has no space): name the
    // command only from what the trace may show.
    std::string_view what = shown.empty() ? command : shown;
    return stream_failure("sending " + std::string(what.substr(0, what.find(' '))));
  }
  return {};
}

Status Pop3Wire::flush() {
  bool sent = mailstream_flush(stream_) == 0;
  if (secret_queued_) {
    wipe_write_buffer(stream_);
    secret_queued_ = false;
  }
  if (!sent) return stream_failure("sending commands");
  return {};
}

Status Pop3Wire::fill(std::string_view during) {
  if (pos_ > 0 && pos_ >= buffer_.size() / 2) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
  // What libetpan buffered already, alone: mailstream_read would go on to a blocking read
  // after it whenever more than its buffer size is asked for.
  std::size_t want = stream_->read_buffer_len > 0 ? std::min(stream_->read_buffer_len, kReadChunk)
                                                  : kReadChunk;
  std::size_t old_size = buffer_.size();
  buffer_.resize(old_size + want);
  ssize_t n = mailstream_read(stream_, buffer_.data() + old_size, want);
  buffer_.resize(old_size + (n > 0 ? static_cast<std::size_t>(n) : 0));
  if (n > 0) return {};
  if (n == 0) {
    return make_error(Kind::connect, Scope::account,
                      "connection closed by the server (" + std::string(during) + ")");
  }
  return stream_failure(during);
}

Result<std::string_view> Pop3Wire::read_line(std::size_t limit) {
  std::size_t searched = 0;  // octets after pos_ known to hold no line end (fill() moves pos_)
  for (;;) {
    std::size_t end = buffer_.find('\n', pos_ + searched);
    if (end != std::string::npos && end - pos_ + 1 <= limit) {
      std::string_view line(buffer_.data() + pos_, end - pos_ + 1);
      pos_ = end + 1;
      return line;
    }
    if (buffer_.size() - pos_ > limit) return protocol_error("reply line too long");
    searched = buffer_.size() - pos_;
    if (Status s = fill("reading a reply"); !s) return s.error();
  }
}

Result<Pop3Reply> Pop3Wire::read_status() {
  Result<std::string_view> line = read_line(kMaxStatusLine);
  if (!line) return line.error();
  Pop3Reply reply;
  std::string_view text = without_line_end(*line);
  if (!parse_status(text, reply)) return protocol_error("malformed reply: " + printable(text));
  trace_reply(reply.ok, reply.text.c_str());
  return reply;
}

Result<Pop3Reply> Pop3Wire::read_sasl_reply() {
  Result<std::string_view> line = read_line(kMaxStatusLine);
  if (!line) return line.error();
  std::string_view text = without_line_end(*line);
  Pop3Reply reply;
  if (text == "+" || text.substr(0, 2) == "+ ") {
    reply.more = true;
    reply.text = std::string(text.substr(std::min<std::size_t>(text.size(), 2)));
    if (log_.tracing(Channel::net)) {
      log_.trace(Channel::net, account_ + ": POP3< + " + printable(reply.text));
    }
    return reply;
  }
  if (!parse_status(text, reply)) return protocol_error("malformed reply: " + printable(text));
  trace_reply(reply.ok, reply.text.c_str());
  return reply;
}

Result<std::optional<std::string>> Pop3Wire::read_listing_line() {
  Result<std::string_view> line = read_line(kMaxStatusLine);
  if (!line) return line.error();
  std::string_view text = without_line_end(*line);
  if (text == ".") return std::optional<std::string>();
  if (!text.empty() && text.front() == '.') text.remove_prefix(1);
  return std::optional<std::string>(std::string(text));
}

Result<std::string> Pop3Wire::read_body(std::size_t expected, std::size_t limit) {
  std::string body;
  // One allocation of the announced size instead of doublings that leave freed copies in
  // the heap; capped so that a lying LIST cannot make us reserve gigabytes.
  body.reserve(std::min({expected, limit, kMaxReserve}));
  for (;;) {
    // The terminating ".\r\n" itself is read with a little room past the limit.
    Result<std::string_view> line = read_line(limit - std::min(limit, body.size()) + 3);
    if (!line) {
      if (line.error().kind == Kind::protocol) {
        return protocol_error("message larger than the server announced");
      }
      return line.error();
    }
    std::string_view text = *line;
    if (without_line_end(text) == ".") return body;
    if (text.front() == '.') text.remove_prefix(1);  // dot-stuffing
    if (body.size() + text.size() > limit) {
      return protocol_error("message larger than the server announced");
    }
    body.append(text);
  }
}

}  // namespace clamfetch::fetch
