// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// IMAP session, part 1: connecting, TLS policy, authentication, closing.
// The mailbox commands (SELECT, FETCH, STORE, EXPUNGE) are in imap_mailbox.cpp.

#include <string.h>  // explicit_bzero

#include <string>

#include "fetch/imap_internal.hpp"
#include "fetch/sessions.hpp"
#include "fetch/tls.hpp"

namespace clamfetch::fetch {

std::unique_ptr<Session> make_imap_session(const AccountSettings& settings, Log& log) {
  return std::make_unique<imap::ImapSession>(settings, log);
}

namespace imap {

namespace {

constexpr uint16_t kImapsPort = 993;
constexpr uint16_t kImapPort = 143;
constexpr std::size_t kStreamBuffer = 8192;

const mailimap_capability_data* capabilities(const mailimap* imap) {
  const auto* info = imap->imap_connection_info;
  return info == nullptr ? nullptr : info->imap_capability;
}

bool has_capabilities(const mailimap* imap) {
  const auto* caps = capabilities(imap);
  return caps != nullptr && caps->cap_list != nullptr && clist_count(caps->cap_list) > 0;
}

// Replace the cached capabilities by an empty list, so that a reply that carries none leaves
// none (libetpan would otherwise keep the old ones, or crash on a missing list).
void forget_capabilities(mailimap* imap) {
  auto* info = imap->imap_connection_info;
  if (info == nullptr) return;
  clist* list = clist_new();
  if (list == nullptr) return;
  mailimap_capability_data* empty = mailimap_capability_data_new(list);
  if (empty == nullptr) {
    clist_free(list);
    return;
  }
  if (info->imap_capability != nullptr) mailimap_capability_data_free(info->imap_capability);
  info->imap_capability = empty;
}

// "tag SP CAPABILITY CRLF", read until the tagged reply, whose "* CAPABILITY" data libetpan
// stores in imap_connection_info. Not mailimap_custom_command(): libetpan writes a space after
// the command ("2 CAPABILITY \r\n"), which RFC 9051's grammar does not allow and Cyrus answers
// with BAD. The rest is what mailimap_custom_command does.
int send_capability_command(mailimap* imap) {
  static constexpr char kCommand[] = "CAPABILITY\r\n";
  int r = mailimap_send_current_tag(imap);  // "tag SP"
  if (r != MAILIMAP_NO_ERROR) return r;
  if (mailstream_write(imap->imap_stream, kCommand, sizeof kCommand - 1) !=
          static_cast<ssize_t>(sizeof kCommand - 1) ||
      mailstream_flush(imap->imap_stream) == -1) {
    return MAILIMAP_ERROR_STREAM;
  }
  if (mailimap_read_line(imap) == nullptr) return MAILIMAP_ERROR_STREAM;
  mailimap_response* response = nullptr;
  r = mailimap_parse_response(imap, &response);
  if (r != MAILIMAP_NO_ERROR) return r;
  int state = response->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->rsp_type;
  mailimap_response_free(response);
  return state == MAILIMAP_RESP_COND_STATE_OK ? MAILIMAP_NO_ERROR : MAILIMAP_ERROR_CUSTOM_COMMAND;
}

bool response_code_is(const mailimap* imap, const char* code) {
  const auto* info = imap->imap_response_info;
  return info != nullptr && info->rsp_atom != nullptr && strcasecmp(info->rsp_atom, code) == 0;
}

}  // namespace

ImapSession::ImapSession(const AccountSettings& settings, Log& log)
    : settings_(settings), log_(log), trace_(log, settings.account) {}

// No LOGOUT from a destructor: it could block for the whole timeout on a dead server.
ImapSession::~ImapSession() { drop_connection(); }

void ImapSession::drop_connection() {
  if (!imap_) return;
  if (imap_->imap_stream != nullptr) {
    mailstream_close(imap_->imap_stream);
    imap_->imap_stream = nullptr;
  }
  imap_->imap_state = MAILIMAP_STATE_DISCONNECTED;
  imap_.reset();
}

Error ImapSession::fail(int code, std::string_view what) {
  // Whatever libetpan made of it (a stream error, a partial line that does not parse, a body
  // handler that refused the rest), a transport that timed out last means a silent server.
  bool timed_out = imap_ && imap_->imap_stream != nullptr && stream_timed_out(imap_->imap_stream);
  if (timed_out) code = MAILIMAP_ERROR_STREAM;
  const char* server_text = imap_ ? imap_->imap_response : nullptr;
  bool by_deadline = timed_out && stream_deadline_passed(imap_->imap_stream);
  Error error = hostile() ? hostile_error(what)
                : by_deadline
                    ? make_error(Kind::timeout, Scope::account,
                                 prefix() + "poll ended by run_timeout (" + std::string(what) + ")")
                    : session_error(code, settings_.account, what, timed_out,
                                    settings_.timeout_seconds, server_text);
  drop_connection();
  state_ = State::broken;
  return error;
}

bool ImapSession::hostile() const {
  return guard_.refused() != 0 || body_over_cap_ ||
         (imap_ && imap_->imap_stream != nullptr && stream_line_too_long(imap_->imap_stream));
}

Error ImapSession::hostile_error(std::string_view what) const {
  std::string during = " (" + std::string(what) + ")";
  if (uint64_t size = guard_.refused(); size != 0) {
    return make_error(Kind::protocol, Scope::account,
                      prefix() + "server announced a literal of " +
                          (size == UINT64_MAX ? std::string("over 2^64") : std::to_string(size)) +
                          " octets" + during);
  }
  if (body_over_cap_) {
    return make_error(Kind::protocol, Scope::account,
                      prefix() + "server sent a message of over " + std::to_string(body_cap_) +
                          " octets, more than it announced" + during);
  }
  return make_error(Kind::protocol, Scope::account,
                    prefix() + "server sent a line of over " + std::to_string(kMaxLineOctets) +
                        " octets" + during);
}

void ImapSession::set_run_deadline(const Deadline& deadline) {
  run_deadline_ = deadline;
  if (imap_ && imap_->imap_stream != nullptr) set_stream_deadline(imap_->imap_stream, deadline);
}

Status ImapSession::open() {
  if (state_ != State::idle) {
    return make_error(Kind::internal, Scope::account, prefix() + "session opened twice");
  }
  state_ = State::broken;  // until everything below succeeded
  imap_.reset(mailimap_new(0, nullptr));
  if (!imap_) return make_error(Kind::internal, Scope::account, prefix() + "out of memory");
  // libetpan's own phases use this timeout; it must be set before connecting.
  mailimap_set_timeout(imap_.get(), settings_.timeout_seconds);
  if (trace_.tracing()) mailimap_set_logger(imap_.get(), &ImapSession::on_log, this);
  // With an item progress callback libetpan hands each FETCH response to on_msg_att as soon
  // as it is parsed instead of collecting all of them; bodies go to on_body in chunks.
  mailimap_set_progress_callback(imap_.get(), nullptr, &ImapSession::on_items, this);
  mailimap_set_msg_att_handler(imap_.get(), &ImapSession::on_msg_att, this);
  mailimap_set_msg_body_handler(imap_.get(), &ImapSession::on_body, this);

  Status status = connect_stream();
  if (status) status = authenticate();
  if (!status) {
    drop_connection();
    return status;
  }
  state_ = State::authenticated;
  log_.verbose(prefix() + "logged in to " + settings_.server + " (IMAP)");
  return {};
}

Status ImapSession::connect_stream() {
  const TlsSettings& tls = settings_.tls;
  uint16_t port = settings_.port != 0 ? settings_.port
                                      : (tls.mode == TlsMode::implicit ? kImapsPort : kImapPort);
  Result<int> fd = tcp_connect(settings_.server, port, settings_.timeout_seconds);
  if (!fd) return fd.error();
  peer_address_ = fetch::peer_address(*fd);

  mailstream* stream = nullptr;
  if (tls.mode == TlsMode::implicit) {
    // Verified TLS first: nothing is read from or sent to the server before that.
    Result<mailstream_low*> low = tls_open(*fd, settings_.server, tls, settings_.timeout_seconds);
    if (!low) return low.error();
    stream = mailstream_new(*low, kStreamBuffer);
    if (stream == nullptr) {
      mailstream_low_close(*low);
      mailstream_low_free(*low);
    }
    tls_facts_ = stream_tls_facts(stream, settings_.server, !tls.fingerprint.empty());
  } else {
    stream = plain_stream(*fd, settings_.timeout_seconds);
  }
  if (stream == nullptr) {
    return make_error(Kind::internal, Scope::account, prefix() + "cannot create a stream");
  }
  // Every byte from the server passes the guard before libetpan parses it.
  set_read_inspector(stream, [this](std::string_view data) { return guard_.accept(data); });
  set_stream_deadline(stream, run_deadline_);
  return greet(stream);
}

Status ImapSession::greet(mailstream* stream) {
  // From here the session owns the stream, whatever mailimap_connect returns.
  int r = mailimap_connect(imap_.get(), stream);
  if (r == MAILIMAP_NO_ERROR_AUTHENTICATED) {
    if (settings_.tls.mode == TlsMode::starttls) {
      // fetchmail's CVE-2021-39272: a PREAUTH session can never be upgraded to TLS.
      return make_error(Kind::tls, Scope::account,
                        prefix() + "server greeted with PREAUTH before STARTTLS");
    }
    log_.verbose(prefix() + "server greeted with PREAUTH: no login needed");
  } else if (r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
    return fail(r, "greeting");
  }
  if (settings_.tls.mode == TlsMode::starttls) return start_tls();
  return {};
}

Status ImapSession::start_tls() {
  if (!has_capabilities(imap_.get())) {
    if (Status status = refresh_capabilities("CAPABILITY"); !status) return status;
  }
  if (!has_extension(imap_.get(), "STARTTLS")) {
    return make_error(Kind::tls, Scope::account, prefix() + "server offers no STARTTLS");
  }
  int r = mailimap_starttls(imap_.get());
  if (r == MAILIMAP_ERROR_STREAM) return fail(r, "STARTTLS");
  // libetpan answers an OK followed by more bytes with the same code as a NO (CVE-2020-15953):
  // the bytes still buffered tell them apart.
  if (r == MAILIMAP_ERROR_STARTTLS && imap_->imap_stream->read_buffer_len != 0) {
    return make_error(Kind::tls, Scope::account, prefix() + "data injected before TLS handshake");
  }
  if (r != MAILIMAP_NO_ERROR) {
    // Never go on in plaintext: the session is dropped by open().
    std::string text = printable(imap_->imap_response);
    return make_error(Kind::tls, Scope::account,
                      prefix() + "STARTTLS failed" + (text.empty() ? "" : ": " + text));
  }
  Status upgraded = tls_upgrade(imap_->imap_stream, settings_.server, settings_.tls,
                                settings_.timeout_seconds);
  if (!upgraded) return upgraded;
  tls_facts_ = stream_tls_facts(imap_->imap_stream, settings_.server,
                                !settings_.tls.fingerprint.empty());
  // Capabilities read before the handshake may have been forged: read them again.
  forget_capabilities(imap_.get());
  return refresh_capabilities("CAPABILITY after STARTTLS");
}

Status ImapSession::refresh_capabilities(std::string_view why) {
  // Sent as a plain command: the session stores what "* CAPABILITY" says in
  // imap_connection_info either way, and mailimap_capability() would then copy that list, which
  // crashes libetpan when it is NULL (after a greeting without capabilities, or an empty
  // "[CAPABILITY]" code in the reply; found by tests/fuzz/imap_fuzz). A reply without any
  // leaves the empty list set here.
  forget_capabilities(imap_.get());
  int r = send_capability_command(imap_.get());
  if (r != MAILIMAP_NO_ERROR) return fail(r, why);
  return {};
}

Status ImapSession::authenticate() {
  if (imap_->imap_state == MAILIMAP_STATE_AUTHENTICATED) {  // PREAUTH, not under STARTTLS
    login_method_ = "PREAUTH";
    return {};
  }
  if (!has_capabilities(imap_.get())) {
    if (Status status = refresh_capabilities("CAPABILITY"); !status) return status;
  }
  Status status;
  if (settings_.auth == AuthMethod::oauth2) {
    status = login_oauth2();
  } else {
    if (!settings_.password) {
      return make_error(Kind::config, Scope::account, prefix() + "no password configured");
    }
    // Asked only now: a password_command runs only when the password is about to be sent.
    Result<std::string> password = settings_.password();
    if (!password) return password.error();
    status = login_with(*password);
    explicit_bzero(password->data(), password->size());
  }
  if (!status) return status;
  // Servers announce new capabilities (UIDPLUS ...) after login, in the reply or on request.
  if (!has_capabilities(imap_.get())) return refresh_capabilities("CAPABILITY after login");
  return {};
}

Status ImapSession::login_with(const std::string& password) {
  mailimap* imap = imap_.get();
  bool disabled = has_extension(imap, "LOGINDISABLED");
  bool offers_plain = has_authentication(imap, "PLAIN");
  // auto: LOGIN unless disabled; plain: AUTHENTICATE PLAIN; password and login: LOGIN. A
  // required method the server lacks fails here, before any credential is sent.
  AuthMethod wanted = settings_.auth;
  bool use_plain = wanted == AuthMethod::plain || (wanted == AuthMethod::automatic && disabled);
  std::string refused = "authentication failed for " + settings_.username + " at " + settings_.server;
  if (wanted == AuthMethod::apop) {
    return make_error(Kind::config, Scope::account, prefix() + "APOP is POP3 only: not for IMAP");
  }
  if (use_plain && !offers_plain) {
    return make_error(Kind::auth, Scope::account,
                      refused + (disabled ? ": server disables LOGIN and offers no AUTHENTICATE PLAIN"
                                          : ": server offers no AUTHENTICATE PLAIN"));
  }
  if (!use_plain && disabled) {
    return make_error(Kind::auth, Scope::account, refused + ": server disables LOGIN (LOGINDISABLED)");
  }
  forget_capabilities(imap);  // the reply to a successful login may carry new ones
  const char* user = settings_.username.c_str();
  int r = use_plain ? mailimap_authenticate(imap, "PLAIN", settings_.server.c_str(), nullptr,
                                            nullptr, user, user, password.c_str(), nullptr)
                    : imap_quotable(settings_.username) && imap_quotable(password)
                        ? mailimap_login(imap, user, password.c_str())
                        : login_with_literals(imap, settings_.username, password);
  wipe_write_buffer(imap->imap_stream);
  if (r == MAILIMAP_NO_ERROR) {
    login_method_ = use_plain ? "AUTHENTICATE PLAIN" : "LOGIN";
    return {};
  }
  if (r != MAILIMAP_ERROR_LOGIN && r != MAILIMAP_ERROR_PROTOCOL) {
    return fail(r, use_plain ? "AUTHENTICATE PLAIN" : "LOGIN");
  }
  std::string text = printable(imap->imap_response);
  std::string detail = text.empty() ? "" : ": " + text;
  if (response_code_is(imap, "UNAVAILABLE")) {
    return make_error(Kind::server_busy, Scope::account, prefix() + "server busy" + detail);
  }
  if (response_code_is(imap, "INUSE")) {
    return make_error(Kind::lock_busy, Scope::account, prefix() + "mailbox in use" + detail);
  }
  return make_error(Kind::auth, Scope::account, refused + detail);
}

Result<int> ImapSession::oauth_attempt(OAuthMechanism mechanism, bool refresh, bool sasl_ir,
                                       std::optional<OAuthFailure>& failure) {
  Result<std::string> token = settings_.access_token(refresh);  // only now: it may run a command
  if (!token) return token.error();
  if (!usable_token(*token)) {
    explicit_bzero(token->data(), token->size());
    return make_error(Kind::auth, Scope::account,
                      prefix() + "unusable OAuth2 access token (empty, too long or not printable)");
  }
  std::string response = oauth_initial_response(mechanism, settings_.username, settings_.server,
                                                session_port(settings_), *token);
  explicit_bzero(token->data(), token->size());
  forget_capabilities(imap_.get());  // the reply to a successful login may carry new ones
  failure.reset();
  int r = authenticate_oauth(imap_.get(), mechanism, response, sasl_ir, failure);
  explicit_bzero(response.data(), response.size());
  wipe_write_buffer(imap_->imap_stream);
  return r;
}

Status ImapSession::login_oauth2() {
  mailimap* imap = imap_.get();
  std::string refused = "authentication failed for " + settings_.username + " at " + settings_.server;
  // A bearer token is as good as a password to whoever sees it: never in the clear.
  if (settings_.tls.mode == TlsMode::none) {
    return make_error(Kind::config, Scope::account, prefix() + "OAuth2 is refused without TLS");
  }
  Result<OAuthMechanism> mechanism = choose_oauth_mechanism(
      has_authentication(imap, "OAUTHBEARER"), has_authentication(imap, "XOAUTH2"));
  if (!mechanism) return make_error(Kind::auth, Scope::account, refused + ": " + mechanism.error().text);
  if (!settings_.access_token) {
    return make_error(Kind::auth, Scope::account, refused + ": no token source for OAuth2");
  }
  bool sasl_ir = has_extension(imap, "SASL-IR");
  std::optional<OAuthFailure> failure;
  Result<int> r = oauth_attempt(*mechanism, false, sasl_ir, failure);
  // A refused token is tried once more, freshly obtained.
  bool busy = response_code_is(imap, "UNAVAILABLE") || response_code_is(imap, "INUSE");
  if (r && *r == MAILIMAP_ERROR_LOGIN && !busy) r = oauth_attempt(*mechanism, true, sasl_ir, failure);
  if (!r) return r.error();
  std::string what = std::string("AUTHENTICATE ") + oauth_mechanism_name(*mechanism);
  if (*r == MAILIMAP_NO_ERROR) {
    login_method_ = what;
    return {};
  }
  if (*r != MAILIMAP_ERROR_LOGIN) return fail(*r, what);
  std::string text = printable(imap->imap_response);
  std::string detail = text.empty() ? "" : " (" + text + ")";
  if (response_code_is(imap, "UNAVAILABLE")) {
    return make_error(Kind::server_busy, Scope::account, prefix() + "server busy" + detail);
  }
  if (response_code_is(imap, "INUSE")) {
    return make_error(Kind::lock_busy, Scope::account, prefix() + "mailbox in use" + detail);
  }
  std::string why = failure ? describe_oauth_failure(*failure) : "";
  return make_error(Kind::auth, Scope::account, refused + ": OAuth2 token refused" +
                                                    (why.empty() ? "" : " (" + why + ")") + detail);
}

Status ImapSession::close() {
  if (state_ == State::idle || state_ == State::closed) {
    state_ = State::closed;
    return {};
  }
  if (state_ == State::broken) {
    state_ = State::closed;
    drop_connection();
    if (deleted_.empty()) return {};
    std::size_t count = deleted_.size();
    deleted_.clear();
    return make_error(Kind::server, Scope::mailbox,
                      prefix() + std::to_string(count) + " messages marked deleted in " +
                          folder_ + " were not expunged: the session failed earlier");
  }
  Status status = expunge_deleted();
  if (imap_ && imap_->imap_stream != nullptr) {
    // Everything is committed by now: LOGOUT's own outcome changes nothing.
    mailimap_logout(imap_.get());
  }
  drop_connection();
  state_ = State::closed;
  return status;
}

}  // namespace imap
}  // namespace clamfetch::fetch
