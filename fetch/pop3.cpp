// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// POP3 sessions (RFC 1939, 2449 CAPA/PIPELINING, 2595 STLS, 3206 response codes) over
// libetpan's mailpop3 for the greeting, CAPA, STLS and USER/PASS, and over our own Pop3Wire
// for AUTH/APOP (pop3_auth.cpp), LIST/UIDL, RETR, DELE and QUIT (pipelined, bodies held once,
// QUIT checked).

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "fetch/pop3_auth.hpp"
#include "fetch/pop3_wire.hpp"
#include "fetch/retrieval.hpp"
#include "fetch/sessions.hpp"
#include "fetch/tls.hpp"

namespace clamfetch::fetch {
namespace {

/// Drops the connection without QUIT: on an error path nothing may be committed.
/// mailpop3_free runs mailpop3_quit, which sends QUIT only in the AUTHORIZATION and
/// TRANSACTION states; state 0 (POP3_STATE_DISCONNECTED, private to libetpan 1.9) makes it
/// just close the stream and free the message table.
struct Pop3Free {
  void operator()(mailpop3* pop) const {
    pop->pop3_state = 0;
    mailpop3_free(pop);
  }
};
using Pop3Ptr = std::unique_ptr<mailpop3, Pop3Free>;

constexpr std::size_t kStreamBuffer = 16384;
constexpr std::size_t kMaxUid = 70;         // RFC 1939 7: 1 to 70 characters 0x21..0x7E
constexpr std::size_t kMaxCredential = 400;  // libetpan formats USER/PASS into 512 octets

Error tls_error(std::string text) { return make_error(Kind::tls, Scope::account, std::move(text)); }

/// The RFC 3206 response code at the start of an -ERR text decides the kind.
Kind refusal_kind(std::string_view text, Kind fallback) {
  auto has = [&](std::string_view code) { return text.substr(0, code.size()) == code; };
  if (has("[IN-USE]")) return Kind::lock_busy;
  if (has("[LOGIN-DELAY]") || has("[SYS/TEMP]")) return Kind::server_busy;
  if (has("[SYS/PERM]")) return Kind::server;
  if (has("[AUTH]")) return Kind::auth;
  return fallback;
}

bool safe_credential(const std::string& text) {
  return !text.empty() && text.size() <= kMaxCredential &&
         text.find_first_of(std::string("\r\n\0", 3)) == std::string::npos;
}

/// Why a UIDL cannot be tracked, or empty when it can.
std::string uid_problem(const std::string& uid, std::set<std::string>& seen) {
  if (uid.empty() || uid.size() > kMaxUid) return "UID of " + std::to_string(uid.size()) + " octets";
  for (unsigned char c : uid) {
    if (c < 0x21 || c > 0x7e) return "UID with non-printable characters";
  }
  if (!seen.insert(uid).second) return "UID listed twice";
  return {};
}

class Pop3Session final : public Session {
 public:
  Pop3Session(const AccountSettings& settings, Log& log, const Pop3Options& options)
      : settings_(settings), log_(log), options_(options) {}

  Status open() override;
  Result<FolderListing> list(const std::string& folder) override;
  Status retrieve(std::span<const MessageRef> refs, const OnMessage& on_message) override;
  Status acknowledge(std::span<const MessageRef> refs, bool remove) override;
  Status close() override;
  void set_run_deadline(const Deadline& deadline) override;
  std::string peer_address() const override { return peer_address_; }
  std::optional<TlsFacts> tls_facts() const override { return tls_facts_; }
  std::string login_method() const override { return login_method_; }
  Result<FolderCounts> count(const std::string& folder) override;

 private:
  /// Notes the TLS session's facts right after it was verified.
  void note_tls(mailstream* stream) {
    tls_facts_ = stream_tls_facts(stream, settings_.server, !settings_.tls.fingerprint.empty());
  }
  /// Reads the RETR reply and body of `ref` within its deadline. A refused RETR, or a body
  /// that cannot be the announced message, is a message-scoped error; any other error is
  /// session-fatal (the stream is out of step).
  Result<std::string> read_message(const MessageRef& ref);
  Status connect();
  Status negotiate();
  Status start_tls();
  Result<std::set<std::string>> read_capabilities();
  Status authenticate();
  Status login_user_pass();
  /// OAUTHBEARER or XOAUTH2 with AccountSettings::access_token: one refreshed retry when the
  /// token is refused.
  Status login_oauth2();
  Result<Pop3OAuthReply> oauth_attempt(OAuthMechanism mechanism, bool refresh, bool& two_step);
  /// The password, asked for only now (it may run a command), checked like the user name.
  Result<std::string> password();
  Error login_refused(const char* text) const;
  Status dele_window(std::span<const MessageRef> refs, std::size_t& sent, std::size_t& received,
                     Status& first_refusal);
  /// A session-fatal error: the stream is out of step, so close() must not send QUIT.
  Error fail(Error error);
  void drop();
  int timeout() const { return settings_.timeout_seconds; }
  mailstream* stream() const { return pop_ ? pop_->pop3_stream : nullptr; }
  std::string who() const { return settings_.username + " at " + settings_.server; }

  AccountSettings settings_;
  Log& log_;
  Pop3Options options_;
  std::string peer_address_;  ///< the server's IP address, once connected
  Pop3Ptr pop_;
  std::unique_ptr<Pop3Wire> wire_;
  std::string greeting_;        ///< the greeting's text after "+OK", for APOP
  std::set<std::string> sasl_;  ///< mechanisms of the last CAPA's SASL line, upper case
  bool pipelining_ = false;
  bool ready_ = false;         ///< authenticated, and the stream is in step
  std::size_t deletions_ = 0;  ///< DELEs the server accepted, committed by QUIT
  std::set<uint32_t> deleted_;  ///< their numbers: a later list() leaves them out
  Deadline run_deadline_;       ///< global.run_timeout of the poll (set_run_deadline)
  std::optional<TlsFacts> tls_facts_;  ///< set once TLS was verified
  std::string login_method_;           ///< set by a successful authenticate()
};

void Pop3Session::set_run_deadline(const Deadline& deadline) {
  run_deadline_ = deadline;
  set_stream_deadline(stream(), deadline);
}

Status Pop3Session::open() {
  if (pop_) return make_error(Kind::internal, Scope::account, "POP3 session opened twice");
  Status s = connect();
  if (s) s = negotiate();
  if (s) s = authenticate();
  if (!s) {
    drop();
    return s;
  }
  ready_ = true;
  log_.verbose(settings_.account + ": POP3 session open" +
               (pipelining_ ? " (pipelining)" : "") +
               (settings_.tls.mode == TlsMode::none ? ", without TLS" : ", TLS verified"));
  return {};
}

Status Pop3Session::connect() {
  bool implicit = settings_.tls.mode == TlsMode::implicit;
  uint16_t port = settings_.port != 0 ? settings_.port : implicit ? 995 : 110;
  Result<int> fd = tcp_connect(settings_.server, port, timeout());
  if (!fd) return fd.error();
  peer_address_ = fetch::peer_address(*fd);
  mailstream* stream = nullptr;
  if (implicit) {
    Result<mailstream_low*> low = tls_open(*fd, settings_.server, settings_.tls, timeout());
    if (!low) return low.error();
    stream = mailstream_new(*low, kStreamBuffer);
    if (stream == nullptr) mailstream_low_free(*low);
  } else {
    stream = plain_stream(*fd, timeout());
  }
  if (stream == nullptr) return make_error(Kind::internal, Scope::account, "out of memory");
  pop_.reset(mailpop3_new(0, nullptr));
  if (!pop_) {
    mailstream_close(stream);
    return make_error(Kind::internal, Scope::account, "out of memory");
  }
  mailpop3_set_timeout(pop_.get(), timeout());  // our transport applies it on every read
  wire_ = std::make_unique<Pop3Wire>(stream, settings_.account, log_, timeout());
  set_stream_deadline(stream, run_deadline_);
  // From here the mailpop3 owns the stream, whatever mailpop3_connect returns.
  if (implicit) note_tls(stream);
  if (mailpop3_connect(pop_.get(), stream) == MAILPOP3_NO_ERROR) {
    wire_->trace_reply(true, pop_->pop3_response);
    greeting_ = pop_->pop3_response != nullptr ? pop_->pop3_response : "";
    return {};
  }
  if (const char* text = pop_->pop3_response) {
    wire_->trace_reply(false, text);
    return make_error(refusal_kind(text, Kind::server), Scope::account,
                      "server refused the connection: -ERR " + printable(text));
  }
  if (stream_timed_out(stream) || stream_line_too_long(stream)) {
    return wire_->stream_failure("waiting for the greeting");
  }
  return make_error(Kind::connect, Scope::account,
                    "no POP3 greeting (connection closed or malformed greeting)");
}

Result<std::set<std::string>> Pop3Session::read_capabilities() {
  wire_->trace_command("CAPA");
  sasl_.clear();  // also when CAPA fails after STLS: nothing said before TLS is kept
  clist* list = nullptr;
  int r = mailpop3_capa(pop_.get(), &list);
  if (r == MAILPOP3_ERROR_CAPA_NOT_SUPPORTED) {
    wire_->trace_reply(false, pop_->pop3_response);
    return std::set<std::string>();
  }
  if (r != MAILPOP3_NO_ERROR) return wire_->stream_failure("reading CAPA");
  wire_->trace_reply(true, pop_->pop3_response);
  std::set<std::string> names;
  auto upper = [](std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), ::toupper);
    return text;
  };
  for (clistiter* it = list ? clist_begin(list) : nullptr; it != nullptr; it = clist_next(it)) {
    auto* capa = static_cast<struct mailpop3_capa*>(clist_content(it));
    std::string name = upper(capa->cap_name);
    clist* params = name == "SASL" ? capa->cap_param : nullptr;
    for (clistiter* p = params ? clist_begin(params) : nullptr; p != nullptr; p = clist_next(p)) {
      sasl_.insert(upper(static_cast<const char*>(clist_content(p))));
    }
    names.insert(name);
  }
  if (list != nullptr) mailpop3_capa_resp_free(list);
  return names;
}

Status Pop3Session::negotiate() {
  Result<std::set<std::string>> caps = read_capabilities();
  if (!caps) return caps.error();
  if (settings_.tls.mode == TlsMode::starttls) {
    // STARTTLS required means required: without STLS nothing else is sent.
    if (caps->count("STLS") == 0) return tls_error("server offers no STARTTLS");
    if (Status s = start_tls(); !s) return s;
    caps = read_capabilities();  // what was said before TLS is not to be trusted
    if (!caps) return caps.error();
  }
  pipelining_ = options_.use_pipelining && caps->count("PIPELINING") != 0;
  return {};
}

Status Pop3Session::start_tls() {
  wire_->trace_command("STLS");
  int r = mailpop3_stls(pop_.get());
  if (r == MAILPOP3_ERROR_STREAM) return wire_->stream_failure("waiting for the STLS reply");
  if (r == MAILPOP3_ERROR_STLS_NOT_SUPPORTED) {
    wire_->trace_reply(false, pop_->pop3_response);
    const char* text = pop_->pop3_response ? pop_->pop3_response : "";
    return tls_error("server refused STARTTLS: -ERR " + printable(text));
  }
  // MAILPOP3_ERROR_SSL: bytes arrived together with the +OK (CVE-2020-15953 guard).
  if (r == MAILPOP3_ERROR_SSL) return tls_error("data injected before TLS handshake");
  if (r != MAILPOP3_NO_ERROR) return tls_error("STARTTLS failed");
  wire_->trace_reply(true, pop_->pop3_response);
  Status upgraded = tls_upgrade(pop_->pop3_stream, settings_.server, settings_.tls, timeout());
  if (upgraded) note_tls(pop_->pop3_stream);
  return upgraded;
}

/// The refusal of a login, already traced: RFC 3206 codes decide the kind.
Error Pop3Session::login_refused(const char* text) const {
  if (text == nullptr) return make_error(Kind::protocol, Scope::account, "malformed login reply");
  std::string reply = " (-ERR " + printable(text) + ")";
  switch (Kind kind = refusal_kind(text, Kind::auth)) {
    case Kind::lock_busy:
      return make_error(kind, Scope::account, "mailbox of " + who() + " is locked" + reply);
    case Kind::server_busy:
      return make_error(kind, Scope::account, "server " + settings_.server + " is busy" + reply);
    case Kind::server:
      return make_error(kind, Scope::account, "login refused for " + who() + reply);
    default:
      return make_error(Kind::auth, Scope::account, "authentication failed for " + who() + reply);
  }
}

Result<std::string> Pop3Session::password() {
  if (!settings_.password) return make_error(Kind::config, Scope::account, "no password for " + who());
  Result<std::string> got = settings_.password();  // only now: it may run a command
  if (!got) return got.error();
  if (!safe_credential(*got)) {
    OPENSSL_cleanse(got->data(), got->size());
    return make_error(Kind::config, Scope::account,
                      "unusable password for " + who() + " (empty, over 400 octets or multi-line)");
  }
  if (settings_.tls.mode == TlsMode::none) {
    log_.warning(settings_.account + ": sending the password without TLS");
  }
  return got;
}

Status Pop3Session::authenticate() {
  if (!safe_credential(settings_.username)) {
    return make_error(Kind::config, Scope::account, "unusable POP3 user name for " + who());
  }
  std::string timestamp = apop_timestamp(greeting_);
  // Decided before anything is sent: a required method the server lacks sends no credential.
  Result<Pop3Login> how = choose_pop3_login(settings_.auth, settings_.tls.mode != TlsMode::none,
                                            sasl_, !timestamp.empty());
  if (!how) return make_error(Kind::auth, Scope::account,
                              "authentication failed for " + who() + ": " + how.error().text);
  if (*how == Pop3Login::oauth2) return login_oauth2();
  if (*how == Pop3Login::user_pass) {
    Status status = login_user_pass();
    if (status) login_method_ = "USER/PASS";
    return status;
  }
  Result<std::string> secret = password();
  if (!secret) return secret.error();
  const std::string& user = settings_.username;
  Result<Pop3Reply> reply = *how == Pop3Login::auth_plain ? pop3_auth_plain(*wire_, user, *secret)
                            : *how == Pop3Login::auth_login ? pop3_auth_login(*wire_, user, *secret)
                                                            : pop3_apop(*wire_, user, timestamp, *secret);
  OPENSSL_cleanse(secret->data(), secret->size());
  if (!reply) return reply.error();  // the stream is out of step: open() drops it
  if (!reply->ok) return login_refused(reply->text.c_str());
  login_method_ = *how == Pop3Login::auth_plain ? "AUTH PLAIN"
                  : *how == Pop3Login::auth_login ? "AUTH LOGIN" : "APOP";
  return {};
}

Result<Pop3OAuthReply> Pop3Session::oauth_attempt(OAuthMechanism mechanism, bool refresh,
                                                  bool& two_step) {
  Result<std::string> token = settings_.access_token(refresh);  // only now: it may run a command
  if (!token) return token.error();
  if (!usable_token(*token)) {
    OPENSSL_cleanse(token->data(), token->size());
    return make_error(Kind::auth, Scope::account,
                      "unusable OAuth2 access token for " + who() + " (empty, too long or not printable)");
  }
  uint16_t port = session_port(settings_);
  std::string response = oauth_initial_response(mechanism, settings_.username, settings_.server,
                                                port, *token);
  OPENSSL_cleanse(token->data(), token->size());
  Result<Pop3OAuthReply> reply = pop3_auth_oauth(*wire_, mechanism, response, two_step);
  OPENSSL_cleanse(response.data(), response.size());
  return reply;
}

Status Pop3Session::login_oauth2() {
  if (!settings_.access_token) {
    return make_error(Kind::auth, Scope::account, "authentication failed for " + who() +
                                                      ": no token source for OAuth2");
  }
  OAuthMechanism mechanism = sasl_.count("OAUTHBEARER") != 0 ? OAuthMechanism::oauthbearer
                                                              : OAuthMechanism::xoauth2;
  bool two_step = false;
  Result<Pop3OAuthReply> reply = oauth_attempt(mechanism, false, two_step);
  // A refused token is tried once more, freshly obtained; other refusals are final.
  if (reply && !reply->status.ok && refusal_kind(reply->status.text, Kind::auth) == Kind::auth) {
    reply = oauth_attempt(mechanism, true, two_step);
  }
  if (!reply) return reply.error();  // the stream is out of step: open() drops it
  if (reply->status.ok) {
    login_method_ = std::string("AUTH ") + oauth_mechanism_name(mechanism);
    return {};
  }
  Error refused = login_refused(reply->status.text.c_str());
  if (refused.kind != Kind::auth) return refused;
  std::string why = reply->failure ? describe_oauth_failure(*reply->failure) : "";
  refused.text = "authentication failed for " + who() + ": OAuth2 token refused" +
                 (why.empty() ? "" : " (" + why + ")") + " (-ERR " + printable(reply->status.text) + ")";
  return refused;
}

Result<FolderCounts> Pop3Session::count(const std::string& folder) {
  if (!ready_) return make_error(Kind::internal, Scope::account, "POP3 session not open");
  if (folder != "INBOX") {
    return make_error(Kind::config, Scope::mailbox, "POP3 has only INBOX, not " + folder);
  }
  wire_->trace_command("STAT");
  mailpop3_stat_response* stat = nullptr;
  int r = mailpop3_stat(pop_.get(), &stat);
  if (r == MAILPOP3_ERROR_STREAM) return fail(wire_->stream_failure("waiting for the STAT reply"));
  wire_->trace_reply(r == MAILPOP3_NO_ERROR, pop_->pop3_response);
  if (r != MAILPOP3_NO_ERROR || stat == nullptr) {
    return make_error(Kind::server, Scope::account,
                      "STAT refused: -ERR " + printable(pop_->pop3_response ? pop_->pop3_response : ""));
  }
  FolderCounts counts;
  counts.messages = stat->msgs_count;
  counts.octets = stat->msgs_size;
  mailpop3_stat_resp_free(stat);
  return counts;
}

Status Pop3Session::login_user_pass() {
  wire_->trace_command("USER " + printable(settings_.username));
  int r = mailpop3_user(pop_.get(), settings_.username.c_str());
  if (r == MAILPOP3_ERROR_STREAM) return wire_->stream_failure("waiting for the USER reply");
  wire_->trace_reply(r == MAILPOP3_NO_ERROR, pop_->pop3_response);
  if (r != MAILPOP3_NO_ERROR) return login_refused(pop_->pop3_response);

  Result<std::string> secret = password();
  if (!secret) return secret.error();
  wire_->trace_command("PASS ********");
  r = mailpop3_pass(pop_.get(), secret->c_str());
  OPENSSL_cleanse(secret->data(), secret->size());
  wipe_write_buffer(pop_->pop3_stream);
  if (r == MAILPOP3_ERROR_STREAM) return wire_->stream_failure("waiting for the PASS reply");
  wire_->trace_reply(r == MAILPOP3_NO_ERROR, pop_->pop3_response);
  if (r != MAILPOP3_NO_ERROR) return login_refused(pop_->pop3_response);
  return {};
}

Result<FolderListing> Pop3Session::list(const std::string& folder) {
  if (!ready_) return make_error(Kind::internal, Scope::account, "POP3 session not open");
  if (folder != "INBOX") {
    return make_error(Kind::config, Scope::mailbox, "POP3 has only INBOX, not " + folder);
  }
  if (wire_->buffered() != 0) {
    return fail(make_error(Kind::protocol, Scope::account, "unexpected data from the server"));
  }
  Result<std::vector<Pop3Listed>> listed = pop3_list(*wire_, pipelining_);
  if (!listed) {
    Error error = listed.error();
    if (error.kind != Kind::server) return fail(std::move(error));  // out of step
    return error;
  }
  FolderListing listing;
  std::set<std::string> seen;
  for (Pop3Listed& info : *listed) {
    if (deleted_.count(info.number) != 0) continue;
    if (!info.uid) {
      return make_error(Kind::protocol, Scope::account,
                        "server gives no UIDL: cannot tell new messages from old ones");
    }
    std::string uid = std::move(*info.uid);
    std::string problem = uid_problem(uid, seen);
    if (problem.empty() && info.size > kMaxMessageBytes) {
      problem = (info.size == UINT64_MAX ? std::string("absurd size")
                                         : std::to_string(info.size) + " octets") +
                ", over the ceiling of " + std::to_string(kMaxMessageBytes) + " octets";
    }
    std::string number = std::to_string(info.number);
    if (!problem.empty()) {
      listing.rejected.push_back("message " + number + ": " + problem);
      log_.warning(settings_.account + ": message " + number + " skipped: " + problem);
      continue;
    }
    listing.messages.push_back({"INBOX", info.number, std::move(uid), info.size});
  }
  return listing;
}

Status Pop3Session::retrieve(std::span<const MessageRef> refs, const OnMessage& on_message) {
  if (!ready_) return make_error(Kind::internal, Scope::account, "POP3 session not open");
  std::size_t window = pipelining_ ? std::max<std::size_t>(options_.window, 1) : 1;
  std::size_t sent = 0, received = 0;
  uint64_t bytes_in_flight = 0;
  bool stopped = false;
  while (received < refs.size()) {
    // Keep the pipe full: up to `window` RETRs and about window_bytes of message in flight.
    while (!stopped && sent < refs.size() && sent - received < window &&
           (sent == received || bytes_in_flight + refs[sent].size <= options_.window_bytes)) {
      if (Status s = wire_->send("RETR " + std::to_string(refs[sent].number)); !s) {
        return fail(s.error());
      }
      bytes_in_flight += refs[sent].size;
      ++sent;
    }
    if (received == sent) break;  // stopped, and every reply is read
    if (Status s = wire_->flush(); !s) return fail(s.error());
    const MessageRef& ref = refs[received];
    Result<std::string> message = read_message(ref);
    if (!message && message.error().scope != Scope::message) return fail(message.error());
    bytes_in_flight -= ref.size;
    ++received;
    // After a stop the replies already asked for are still read, to keep the stream in step.
    if (!stopped && !on_message(ref, std::move(message))) stopped = true;
  }
  return {};
}

Result<std::string> Pop3Session::read_message(const MessageRef& ref) {
  // From its reply on, each message has its own deadline (timeout + size / 10 KiB/s): the
  // per-read timeout alone lets a server trickling a byte a second hold the run for ever.
  set_stream_deadline(stream(), message_deadline(ref.size, timeout(), run_deadline_));
  Result<Pop3Reply> reply = wire_->read_status();
  Result<std::string> message = reply ? Result<std::string>(std::string()) : reply.error();
  if (reply && !reply->ok) {
    message = make_error(Kind::server, Scope::message,
                         "RETR " + std::to_string(ref.number) + " refused: -ERR " +
                             printable(reply->text));
  } else if (reply) {
    auto size = static_cast<std::size_t>(ref.size);
    message = wire_->read_body(size, size * 2 + (1u << 20));
  }
  bool stopped_by_deadline = stream_deadline_passed(stream());
  set_stream_deadline(stream(), run_deadline_);
  if (!message) {
    if (stopped_by_deadline) {
      return deadline_error(settings_.account, run_deadline_, ref.uid, ref.size, timeout());
    }
    return message;
  }
  // The stream is in step (the body ended with its "."), but an empty or grossly short body
  // is not the message LIST announced: it stays on the server.
  if (std::string problem = pop3_body_problem(ref.size, message->size()); !problem.empty()) {
    return body_error(settings_.account, "INBOX", ref.uid, problem);
  }
  return message;
}

Status Pop3Session::dele_window(std::span<const MessageRef> refs, std::size_t& sent,
                                std::size_t& received, Status& first_refusal) {
  std::size_t window = pipelining_ ? std::max<std::size_t>(options_.window, 1) : 1;
  while (sent < refs.size() && sent - received < window) {
    if (Status s = wire_->send("DELE " + std::to_string(refs[sent].number)); !s) return s;
    ++sent;
  }
  if (Status s = wire_->flush(); !s) return s;
  Result<Pop3Reply> reply = wire_->read_status();
  if (!reply) return reply.error();
  if (reply->ok) {
    ++deletions_;
    deleted_.insert(refs[received].number);
  } else if (first_refusal.ok()) {  // report the first refusal, go on with the rest
    first_refusal = make_error(Kind::server, Scope::message,
                               "DELE " + std::to_string(refs[received].number) +
                                   " refused: -ERR " + printable(reply->text));
  }
  ++received;
  return {};
}

Status Pop3Session::acknowledge(std::span<const MessageRef> refs, bool remove) {
  if (!remove) return {};  // POP3 has no \Seen: the UID store remembers kept messages
  if (!ready_) return make_error(Kind::internal, Scope::account, "POP3 session not open");
  std::size_t sent = 0, received = 0;
  Status first_refusal;
  while (received < refs.size()) {
    if (Status s = dele_window(refs, sent, received, first_refusal); !s) return fail(s.error());
  }
  return first_refusal;
}

Status Pop3Session::close() {
  if (!pop_) return {};
  std::size_t deletions = std::exchange(deletions_, 0);
  deleted_.clear();
  std::string lost = std::to_string(deletions) + " deletion(s) not committed: ";
  if (!ready_) {
    drop();
    if (deletions == 0) return {};
    return make_error(Kind::connect, Scope::account, lost + "the connection failed before QUIT");
  }
  Status sent = wire_->send("QUIT");
  if (sent) sent = wire_->flush();
  Result<Pop3Reply> reply = sent ? wire_->read_status() : Result<Pop3Reply>(sent.error());
  drop();
  if (deletions == 0) return {};
  if (!reply) {
    Error error = reply.error();
    error.text = lost + error.text;
    return error;
  }
  if (!reply->ok) {
    return make_error(Kind::server, Scope::account,
                      lost + "QUIT refused: -ERR " + printable(reply->text));
  }
  log_.verbose(settings_.account + ": " + std::to_string(deletions) + " message(s) deleted");
  return {};
}

Error Pop3Session::fail(Error error) {
  ready_ = false;
  return error;
}

void Pop3Session::drop() {
  wire_.reset();
  pop_.reset();
  ready_ = false;
}

}  // namespace

std::unique_ptr<Session> make_pop3_session(const AccountSettings& settings, Log& log,
                                           const Pop3Options& options) {
  return std::make_unique<Pop3Session>(settings, log, options);
}

}  // namespace clamfetch::fetch
