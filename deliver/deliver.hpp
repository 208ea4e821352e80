// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Delivery to the local MTA over SMTP or LMTP, and the pure pieces around it: the Received
// header, the postmaster report, the bounce, and the classification of MTA replies.

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/log.hpp"

namespace clamfetch::deliver {

struct Target {
  enum class Kind { smtp, lmtp_tcp, lmtp_unix };
  Kind kind = Kind::smtp;
  std::string host = "localhost";
  uint16_t port = 25;
  std::string path;          ///< unix socket path for lmtp_unix
};

struct Envelope {
  std::string sender;                    ///< MAIL FROM, empty for <>
  std::vector<std::string> recipients;   ///< RCPT TO
};

struct Reply {
  int code = 0;              ///< 0 when there was no reply (connect failure, timeout)
  std::string text;          ///< one line, for logs and reports
};

/// What happened to one message at the MTA.
struct Outcome {
  enum class Status {
    delivered,    ///< 2xx to the end of DATA (LMTP: for every recipient)
    temporary,    ///< 4xx at any stage: leave the message on the server
    permanent,    ///< 5xx: antispam / bounce / postmaster per policy
    unreachable,  ///< connect refused, timeout, connection lost: leave it on the server
  };
  /// Where the deciding reply came from.
  enum class Stage {
    session,  ///< connect, greeting, EHLO/LHLO, RSET: no verdict on the message
    mail,     ///< MAIL FROM
    rcpt,     ///< RCPT TO (a 4xx on any, or a 5xx on every recipient)
    data,     ///< the DATA command or the end of DATA
  };
  Status status = Status::unreachable;
  Stage stage = Stage::session;
  /// The refusal was decided here, before MAIL FROM (SIZE over the MTA's limit, an address
  /// with control characters): never an antispam verdict.
  bool local = false;
  Reply reply;                         ///< the reply that decided
  /// The final reply for each recipient, in envelope order, once the transaction reached the
  /// RCPT stage (empty before): the RCPT reply of a refused recipient; for an accepted one the
  /// end-of-DATA reply (LMTP: its own). An accepted recipient that never got the message (the
  /// transaction was abandoned, or the connection was lost before its reply) has code 0.
  std::vector<Reply> per_recipient;
};

struct ClientSettings {
  Target target;
  std::string helo_name = "localhost";
  int timeout_seconds = 300;   ///< deadline for connect and every reply
  unsigned batchlimit = 0;     ///< reconnect after this many messages; 0 = never
};

/// Asked by a Transport right before it writes the end-of-data mark (the final "."), the
/// moment after which the MTA may take the message. Implemented by whoever hands the message
/// over (app/handover.hpp); deliver/ knows nothing of what stands behind it.
class EndOfDataGate {
 public:
  virtual ~EndOfDataGate() = default;
  /// True: write the "." (may block, e.g. on a lock held until the delivery is recorded).
  /// False: abandon the message: the connection is dropped before the "." (so the MTA
  /// discards it) and send() returns unreachable.
  virtual bool pass_end_of_data() = 0;
};

/// One MTA connection, opened lazily and reused (RSET between messages). Not thread-safe:
/// one per delivering thread.
class Transport {
 public:
  virtual ~Transport() = default;
  /// Deliver one message (raw bytes, CRLF or LF; dot-stuffing and CRLF normalisation are
  /// done here). Blocks up to the timeout per reply.
  Outcome send(const Envelope& envelope, std::string_view message) {
    return send(envelope, std::span<const std::string_view>(&message, 1));
  }
  /// The same for a message given as consecutive parts, sent as if concatenated (e.g. an
  /// edited header block and the original body, so that a big message is not copied to add a
  /// header). The views must stay valid until send() returns.
  virtual Outcome send(const Envelope& envelope, std::span<const std::string_view> parts) = 0;
  /// The gate send() asks right before each end-of-data mark; null (the default): always
  /// pass. Not owned; must outlive the send() calls it is set for.
  void set_end_of_data_gate(EndOfDataGate* gate) { gate_ = gate; }

 protected:
  bool before_end_of_data() const { return gate_ == nullptr || gate_->pass_end_of_data(); }

 private:
  EndOfDataGate* gate_ = nullptr;

 public:
  /// QUIT and disconnect; safe when not connected.
  virtual void close() = 0;
};

/// A Transport speaking SMTP (EHLO, falling back to HELO) or LMTP (LHLO) to settings.target,
/// with PIPELINING, SIZE, 8BITMIME and SMTPUTF8 used when the server offers them. Never throws;
/// connects on the first send(). Traces each command and reply line (never the message body)
/// when log.tracing(Channel::smtp).
///
/// Rules of send():
/// - The connection is reused; RSET precedes every message after the first. After `batchlimit`
///   messages it is closed with QUIT and reopened. When a reused connection turns out dead before
///   the first reply of a message (EOF, reset, 421), it is reopened once, transparently.
/// - RCPT replies: any 4xx -> temporary (nothing is sent); all 5xx -> permanent (the first 5xx);
///   some 2xx and the rest 5xx -> the message goes to the accepted recipients, and the outcome is
///   that of the end of DATA, with every refusal in per_recipient for the caller to act on.
/// - LMTP: one reply per accepted recipient after DATA: delivered when all are 2xx, temporary
///   when any is 4xx, else permanent. per_recipient holds those DATA replies (RCPT replies for
///   refused recipients); the caller decides per recipient (app/route.hpp).
/// - A message over the server's advertised SIZE is refused locally: permanent, code 552.
/// - A malformed reply (garbage, a line over 2048 octets, mixed codes) -> unreachable with reply
///   text "malformed reply"; a timeout or lost connection -> unreachable; the connection is
///   dropped in both cases.
/// - An aborted transaction after the server's 354 (PIPELINING) is ended by dropping the
///   connection, never by sending an empty message.
std::unique_ptr<Transport> make_transport(const ClientSettings& settings, Log& log);

/// The bytes sent after the server's 354: line ends normalised to CRLF (bare LF and lone CR
/// both become CRLF: RFC 5321 forbids them alone, and a lone CR kept as is would let a message
/// smuggle an end-of-data into a lenient receiver), a '.' doubled at the start of every line,
/// CRLF added when the message does not end with a line end, then the terminating ".\r\n".
/// NUL and 8-bit bytes pass unchanged. Pure.
std::string data_wire(std::string_view message);

/// The message with line ends normalised to CRLF as data_wire() does, without dot-stuffing or
/// terminator (a final line end is not added). Pure.
std::string normalise_crlf(std::string_view message);

/// A reply parsed from the front of a receive buffer.
struct ParsedReply {
  enum class State { complete, incomplete, malformed };
  State state = State::incomplete;
  Reply reply;                      ///< code; text = the lines' texts joined with one space
  std::vector<std::string> lines;   ///< each line's text after "NNN-" / "NNN "
  std::size_t consumed = 0;         ///< bytes of the input the complete reply took
};

/// Longest reply line accepted, CRLF included (RFC 5321 asks for 512; we allow servers slack).
inline constexpr std::size_t kMaxReplyLine = 2048;

/// Parses one reply ("250-a\r\n250 b\r\n"; LF alone accepted as a line end). Malformed: a
/// line that is not three digits (first 2-5) followed by ' ', '-' or the line end, a control
/// character other than TAB in the text, a line over kMaxReplyLine, a continuation with another
/// code, or more than 1000 lines. Incomplete: more input needed. Pure.
ParsedReply parse_reply(std::string_view input);

/// 2xx and 3xx -> delivered (positive), 4xx -> temporary, 5xx -> permanent, anything else
/// (0: no reply) -> unreachable. Pure.
Outcome::Status classify(int code);

/// Service extensions from an EHLO/LHLO reply.
struct Extensions {
  bool pipelining = false;
  bool eightbitmime = false;
  bool smtputf8 = false;
  bool size = false;
  std::uint64_t size_max = 0;   ///< SIZE's argument; 0 = no fixed maximum
};

/// Parses the lines of a 250 EHLO/LHLO reply (the first line, the server's name, is skipped);
/// keywords are case-insensitive, unknown ones ignored. Pure.
Extensions parse_extensions(const std::vector<std::string>& lines);

/// What probe() saw of the MTA. Replies not reached have code 0 and empty text.
struct Probe {
  std::string peer;                 ///< describe(target)
  std::string error;                ///< why the dialogue stopped early (connect, I/O); empty: it ran
  Reply greeting;
  std::string hello_command;        ///< "EHLO", "LHLO" or "HELO" (after a refused EHLO)
  Reply hello;
  Extensions extensions;            ///< from the EHLO/LHLO reply
  Reply mail;                       ///< MAIL FROM
  std::vector<Reply> rcpt;          ///< RCPT TO, one per recipient reached, in envelope order
  Reply rset;
};

/// For --doctor: connect, greeting, EHLO/LHLO, MAIL FROM:<sender>, RCPT TO each recipient,
/// RSET, QUIT, one command at a time; never DATA, so nothing is delivered. Stops at the first
/// refusal of the session (greeting, hello, MAIL) or lost connection. Blocks up to
/// settings.timeout_seconds per reply. Never throws.
Probe probe(const ClientSettings& settings, const Envelope& envelope, Log& log);

/// RFC 5322 date ("Sun, 22 Nov 2026 20:45:00 +0000") for `when` in local time.
std::string rfc5322_date(std::time_t when);

struct ReceivedInfo {
  std::string server;        ///< where the message was fetched from (the rc file's name)
  std::string by_host;       ///< this host
  std::string protocol;      ///< "POP3" / "IMAP"
  std::string version;       ///< clamfetch version
  std::string recipient;
  std::time_t when = 0;
  std::string server_address{};  ///< the server's IP address on the connection used, or empty
};

/// The message with a Received: header prepended: "from SERVER [ADDRESS]" (as fetchmail's;
/// "[ADDRESS]" is an RFC 5322 domain-literal, so the header stays a valid received-token
/// list) "by BY_HOST with PROTOCOL (clamfetch VERSION) for <RECIPIENT>; DATE".
std::string add_received(std::string_view message, const ReceivedInfo& info);

/// Facts for the postmaster report about an infected message.
struct ReportFacts {
  std::string virus;
  std::string key;           ///< server/account/UID
  std::string message_id, date, subject, sender;
  std::vector<std::string> recipients;
  std::string scan_host;
  std::time_t scanned_at = 0;
  std::string quarantine_id;     ///< empty when no quarantine
  std::string release_command;   ///< e.g. "clamfetch --release ID"
  std::string postmaster;
  std::string version;       ///< clamfetch version
  /// Attach the original's header only (the MTA refused the whole report: too big); the text
  /// then points to the quarantine, which holds the original.
  bool headers_only = false;
};

/// A complete MIME message (From/To postmaster, Subject "[clamfetch] virus <name> in mail
/// for <recipient>", text part with the facts, the original attached as message/rfc822,
/// X-Virus-Status: Infected (<name>)).
std::string build_report(const ReportFacts& facts, std::string_view original);

/// The postmaster notice for mail the MTA refused permanently (bouncemail = false) or a
/// DSN-style bounce to the sender (bouncemail = true): the MTA's reply and the original.
struct RefusalFacts {
  std::string key, sender, postmaster, reporting_host, version;
  std::vector<std::string> recipients;   ///< the refused recipients only
  Reply reply;                           ///< the first refusal
  std::vector<Reply> replies;            ///< each recipient's refusal (empty: `reply` for all)
  std::time_t when = 0;
  /// The postmaster notice attaches the original's header only: the original is kept in the
  /// quarantine as `quarantine_id` (release with `release_command`). The bounce attaches
  /// headers only past 50000 octets in any case (the sender has the original).
  bool headers_only = false;
  std::string quarantine_id, release_command;
};
std::string build_refusal_notice(const RefusalFacts& facts, std::string_view original);
std::string build_bounce(const RefusalFacts& facts, std::string_view original);

/// Facts about a message that failed the same way on several polls (deferred again and again).
struct DeferralFacts {
  std::string key, account, sender, subject, message_id, postmaster, reporting_host, version;
  std::vector<std::string> recipients;
  std::string reason;            ///< why it was not handed on, the last time
  unsigned attempts = 0;
  std::time_t first = 0, next = 0, when = 0;
  std::string remedy;            ///< what resolves it (a setting or a command)
};
/// A short text notice to the postmaster (no attachment: the message is still on the server).
std::string build_deferral_notice(const DeferralFacts& facts);

}  // namespace clamfetch::deliver
