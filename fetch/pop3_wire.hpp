// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Internal to fetch/: POP3 commands and replies on a libetpan mailstream, done by us where
// libetpan falls short: pipelined RETR/DELE, message bodies read line by line and held once,
// bounded reply lines, and a QUIT whose failure is reported. Also the protocol trace.

#include <libetpan/libetpan.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/text.hpp"

namespace clamfetch::fetch {

/// A POP3 status line: +OK (ok) or -ERR, and the text after it; or, from read_sasl_reply
/// only, a SASL challenge "+ text" (more, with ok false).
struct Pop3Reply {
  bool ok = false;
  std::string text;
  bool more = false;
};

/// Reads and writes one POP3 connection. Does not own the stream (the mailpop3 object does);
/// the stream pointer stays valid across a STLS upgrade (only its low driver changes).
/// Every blocking call is bounded by the stream's timeout. Not thread-safe.
class Pop3Wire {
 public:
  /// `account` names every trace line; `timeout_seconds` is only quoted in timeout errors.
  Pop3Wire(mailstream* stream, std::string account, Log& log, int timeout_seconds);

  /// Queues a command (without CRLF) in the stream's write buffer and traces it; `shown` is
  /// what the trace prints instead (a masked PASS), and our copy of a line with a `shown` is
  /// wiped once written. Sent by flush().
  Status send(std::string_view command, std::string_view shown = {});
  /// Sends everything queued; after a line with a `shown` (a secret), also wipes libetpan's
  /// write buffer, which otherwise keeps the last octets written until overwritten. Errors:
  /// connect, timeout (Scope::account).
  Status flush();
  /// Reads one status line. Errors: protocol (over-long or neither +OK nor -ERR),
  /// connect (connection closed), timeout.
  Result<Pop3Reply> read_status();
  /// Reads a reply during a SASL exchange (RFC 5034): a status line, or a challenge "+ text"
  /// (also a bare "+") returned with `more` set. Errors as read_status.
  Result<Pop3Reply> read_sasl_reply();
  /// Reads a multi-line body after +OK up to the lone ".": dot-unstuffed, line ends as sent.
  /// `expected` (the announced size) is reserved up front. Errors as read_status, and
  /// protocol when the body grows past `limit` octets.
  Result<std::string> read_body(std::size_t expected, std::size_t limit);
  /// Reads one line of a multi-line reply (LIST, UIDL) after +OK: without its line end and
  /// dot-unstuffed, or nullopt at the terminating ".". Errors as read_status.
  Result<std::optional<std::string>> read_listing_line();
  /// Octets received but not yet consumed; must be 0 before libetpan reads this stream again.
  std::size_t buffered() const { return buffer_.size() - pos_; }

  /// Traces a command or a reply that libetpan sent or read for us.
  void trace_command(std::string_view shown);
  void trace_reply(bool ok, const char* text);

  /// The error for a failed libetpan call or read on this stream: timeout or connect.
  Error stream_failure(std::string_view during) const;

 private:
  /// One line with its line end, valid until the next read. Errors as read_status.
  Result<std::string_view> read_line(std::size_t limit);
  /// Reads more into buffer_. Errors: connect (closed), timeout.
  Status fill(std::string_view during);

  mailstream* stream_;
  bool secret_queued_ = false;  ///< a line sent with a `shown` since the last flush()
  std::string account_;
  Log& log_;
  int timeout_seconds_;
  std::string buffer_;
  std::size_t pos_ = 0;
};

/// One message as LIST and UIDL named it.
struct Pop3Listed {
  uint32_t number = 0;
  uint64_t size = 0;                ///< saturates at UINT64_MAX for an absurd size
  std::optional<std::string> uid;   ///< absent: UIDL refused or silent about this message
};

/// Sends LIST and UIDL (both at once when `pipelining`) and reads both answers, by number.
/// Ours rather than libetpan's mailpop3_list, which writes out of bounds for a message number
/// 0 or a negative one, allocates by the largest number named, and keeps a UIDL only up to
/// its first NUL. Strict: numbers 1..10^7 each at most once, unsigned decimal sizes, at most
/// 10^6 messages. Errors: server (LIST refused), protocol (malformed or absurd listing),
/// connect, timeout. A refused UIDL leaves every uid absent.
Result<std::vector<Pop3Listed>> pop3_list(Pop3Wire& wire, bool pipelining);


}  // namespace clamfetch::fetch
