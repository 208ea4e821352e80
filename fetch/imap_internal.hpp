// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Internal to fetch/imap*.cpp: the IMAP session over libetpan's mailimap, its protocol trace
// and the small RAII wrappers around libetpan objects it uses. Not part of fetch's interface.

#include <libetpan/libetpan.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/deadline.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "fetch/fetch.hpp"
#include "fetch/oauth_sasl.hpp"

namespace clamfetch::fetch::imap {

struct ImapFree { void operator()(mailimap* p) const { mailimap_free(p); } };
struct SetFree { void operator()(mailimap_set* p) const { mailimap_set_free(p); } };
struct FetchTypeFree { void operator()(mailimap_fetch_type* p) const { mailimap_fetch_type_free(p); } };
struct StoreFlagsFree {
  void operator()(mailimap_store_att_flags* p) const { mailimap_store_att_flags_free(p); }
};
struct FetchListFree { void operator()(clist* p) const { mailimap_fetch_list_free(p); } };
using ImapPtr = std::unique_ptr<mailimap, ImapFree>;
using SetPtr = std::unique_ptr<mailimap_set, SetFree>;
using FetchTypePtr = std::unique_ptr<mailimap_fetch_type, FetchTypeFree>;
using StoreFlagsPtr = std::unique_ptr<mailimap_store_att_flags, StoreFlagsFree>;
using FetchListPtr = std::unique_ptr<clist, FetchListFree>;
struct SearchKeyFree { void operator()(mailimap_search_key* p) const { mailimap_search_key_free(p); } };
struct SearchResultFree { void operator()(clist* p) const { mailimap_search_result_free(p); } };
using SearchKeyPtr = std::unique_ptr<mailimap_search_key, SearchKeyFree>;
using SearchResultPtr = std::unique_ptr<clist, SearchResultFree>;

/// A UID set with adjacent UIDs merged into ranges ("1:5,9"). Null on allocation failure.
SetPtr uid_set(std::set<uint32_t> const& uids);
/// `UID FETCH` item lists: (UID RFC822.SIZE FLAGS) and (UID BODY.PEEK[]). Null on allocation
/// failure.
FetchTypePtr fetch_uid_size();
FetchTypePtr fetch_uid_body();
/// `+FLAGS.SILENT (\Deleted)` or `(\Seen)`. Null on allocation failure.
StoreFlagsPtr add_flag_silent(bool deleted);

/// What one FETCH response said about a message.
struct AttFacts {
  uint32_t seq = 0;
  uint32_t uid = 0;         ///< 0: no UID item
  bool has_size = false;
  uint32_t size = 0;
  bool has_body = false;    ///< a BODY[...] item (its bytes went to the body handler)
  bool has_flags = false;   ///< a FLAGS item
  bool seen = false;        ///< FLAGS had \Seen
  bool deleted = false;     ///< FLAGS had \Deleted
};
AttFacts att_facts(const mailimap_msg_att* att);

/// mailimap_has_extension / mailimap_has_authentication, safe on a session whose server sent
/// an empty capability list (libetpan 1.9.4 crashes there).
bool has_extension(mailimap* imap, const char* name);
bool has_authentication(mailimap* imap, const char* mechanism);

/// Whether an IMAP quoted string can carry `text`: 7-bit, no NUL, CR or LF (RFC 9051 quoted).
bool imap_quotable(std::string_view text);
/// LOGIN with each credential as a quoted string when imap_quotable(), else as a
/// synchronizing literal (imap_login.cpp); libetpan's mailimap_login() quotes everything.
/// Returns a libetpan code as mailimap_login() does (MAILIMAP_ERROR_LOGIN when refused).
int login_with_literals(mailimap* imap, std::string_view user, std::string_view password);

/// AUTHENTICATE OAUTHBEARER / XOAUTH2 with `response` (the initial response, not yet base64;
/// on the command line when `sasl_ir`), answering a failure challenge, which is decoded into
/// `failure` (imap_oauth.cpp). Returns a libetpan code as mailimap_authenticate() does
/// (MAILIMAP_ERROR_LOGIN when refused; MAILIMAP_ERROR_PROTOCOL for a second challenge).
int authenticate_oauth(mailimap* imap, OAuthMechanism mechanism, std::string_view response,
                       bool sasl_ir, std::optional<OAuthFailure>& failure);

/// A folder name from the rc file as IMAP4rev1 wants it on the wire (RFC 3501 5.1.3): UTF-8
/// in modified UTF-7 ("Entwürfe" -> "Entw&APw-rfe"); libetpan would send the 8-bit octets in
/// a quoted string, which the grammar does not allow. A name without 8-bit octets is taken
/// as already encoded (fetchmail's rc files carry modified UTF-7) and left as it is; so is one
/// that is not valid UTF-8.
std::string mailbox_name(std::string_view folder);

/// Decimal IMAP UID, or 0 when `text` is not one.
uint32_t parse_uid(std::string_view text);

/// The size of the literal a server line (without its line end) announces at its end
/// ("... {123}" or "{123+}"), or 0; UINT64_MAX for more digits than 64 bits hold.
uint64_t literal_size(std::string_view line);

/// Watches what an IMAP server sends, as our transport receives it and before libetpan parses
/// it (see set_read_inspector in tls.hpp), for literal sizes libetpan would act on blindly: it
/// allocates a literal outside a message body whole before reading it (a FLAGS literal of
/// {4294967295} asked for 4 GiB), and reads every size modulo 2^32 ({4294967301} is 5 octets
/// to it). A body literal (after "BODY[...]" or "BODY[...]<n>") may be up to kMaxBodyLiteral,
/// any other up to kMaxLiteral. A "{N}" anywhere in a line counts, not only at its end:
/// libetpan's parser allocates a literal as soon as it has read the closing brace, before it
/// looks for the CRLF that must follow. Not thread-safe (one session).
class LiteralGuard {
 public:
  static constexpr uint64_t kMaxLiteral = uint64_t{1} << 20;
  static constexpr uint64_t kMaxBodyLiteral = kMaxMessageBytes * 2 + (uint64_t{1} << 20);

  /// False, from now on, once `data` completes a line announcing a literal over its limit.
  bool accept(std::string_view data) noexcept;
  /// The refused literal size (UINT64_MAX: over 64 bits), or 0.
  uint64_t refused() const { return refused_; }

 private:
  /// Follows every "{digits[+]}" in protocol lines (not in literal contents); false once one
  /// is over its limit.
  bool scan_braces(std::string_view line_part) noexcept;

  static constexpr std::size_t kKeep = 64;  ///< enough of a line's end to see "BODY[] {123}"
  char tail_[kKeep] = {};
  std::size_t tail_length_ = 0;
  uint64_t literal_left_ = 0;
  uint64_t refused_ = 0;
  // scan_braces() state, carried across reads.
  bool in_brace_ = false;    ///< after a '{' on this line, reading digits
  bool brace_plus_ = false;  ///< the digits ended with '+' (LITERAL+)
  bool brace_body_ = false;  ///< ']' or '>' came before the '{': a body literal
  unsigned brace_digits_ = 0;
  uint64_t brace_size_ = 0;  ///< UINT64_MAX once over 64 bits
  char last_ = 0;            ///< the last octet other than a space on this line
};

/// Protocol trace of one session, fed by libetpan's stream logger.
/// Writes one line per protocol line at log.tracing(Channel::net), prefixed with the account;
/// private sent data (LOGIN, AUTHENTICATE) is shown as ********; literals received from the
/// server (message bodies) are never written, only their size. Not thread-safe (one session).
class Trace {
 public:
  Trace(Log& log, std::string account);

  /// True when the net channel is traced: only then is the logger installed.
  bool tracing() const { return tracing_; }
  /// libetpan's logger event (MAILSTREAM_LOG_TYPE_*). Never throws.
  void event(int log_type, const char* data, std::size_t size) noexcept;

 private:
  void received(std::string_view data);
  void sent(std::string_view data, bool secret);
  void emit_received_line();
  void emit_sent_line();

  Log& log_;
  std::string account_;
  bool tracing_;
  std::string in_line_;           ///< server line being assembled (capped)
  std::size_t in_line_length_ = 0;
  uint64_t literal_left_ = 0;     ///< literal octets still to skip
  std::string out_line_;
  bool out_secret_ = false;
};

/// Session-fatal libetpan error (stream, parse, BYE, BAD ...) as an Error naming the account
/// and what failed; `timed_out` turns a stream error into Kind::timeout.
Error session_error(int code, const std::string& account, std::string_view what,
                    bool timed_out, int timeout_seconds, const char* server_text);

/// Server text made safe for one log line: printable ASCII only, at most 200 characters.
std::string printable(const char* text);

/// The IMAP implementation of Session (see fetch/fetch.hpp for the contract).
class ImapSession final : public Session {
 public:
  ImapSession(const AccountSettings& settings, Log& log);
  ~ImapSession() override;

  Status open() override;
  Result<FolderListing> list(const std::string& folder) override;
  /// Only what changed since `known` (imap_sync.cpp).
  Result<FolderListing> list_changes(const std::string& folder, const FolderSync& known,
                                     const std::vector<uint32_t>& recheck) override;
  Status retrieve(std::span<const MessageRef> refs, const OnMessage& on_message) override;
  Status acknowledge(std::span<const MessageRef> refs, bool remove) override;
  Status close() override;
  bool can_idle() const override;
  void set_run_deadline(const Deadline& deadline) override;
  Result<IdleEvent> idle(int max_seconds, int wake_fd) override;
  std::string peer_address() const override { return peer_address_; }
  std::optional<TlsFacts> tls_facts() const override { return tls_facts_; }
  std::string login_method() const override { return login_method_; }
  /// STATUS MESSAGES UNSEEN (imap_status.cpp): the folder is not selected.
  Result<FolderCounts> count(const std::string& folder) override;

 private:
  enum class State { idle, connected, authenticated, broken, closed };
  /// Where FETCH responses go while a command runs.
  enum class Sink { none, listing, bodies };

  // open() steps (imap.cpp)
  Status connect_stream();
  Status greet(mailstream* stream);
  Status start_tls();
  Status authenticate();
  Status login_with(const std::string& password);
  /// OAUTHBEARER, else XOAUTH2, with AccountSettings::access_token: one refreshed retry when
  /// the token is refused (imap.cpp).
  Status login_oauth2();
  /// One AUTHENTICATE with a token asked for now; the libetpan code, or the token's error.
  Result<int> oauth_attempt(OAuthMechanism mechanism, bool refresh, bool sasl_ir,
                            std::optional<OAuthFailure>& failure);
  Status refresh_capabilities(std::string_view why);

  // mailbox steps (imap_mailbox.cpp)
  /// UID FETCH `set` (UID RFC822.SIZE FLAGS) into `listing`, leaving out UIDs below
  /// `min_uid` ("n:*" also returns the highest UID when it is below n).
  Status fetch_listing(FolderListing& listing, const mailimap_set* set, uint32_t min_uid,
                       std::string_view what);
  // sync steps (imap_sync.cpp)
  /// SELECT `folder` (committing the previous folder's deletions first), with CONDSTORE when
  /// the server offers it; fills listing.uidvalidity and listing.sync.
  Status select_folder(const std::string& folder, FolderListing& listing);
  /// UID FETCH of the UIDs below known.uidnext changed since known.highestmodseq, with
  /// VANISHED (QRESYNC enabled): the expunged ones go to listing.vanished.
  Status fetch_vanished(const FolderSync& known, FolderListing& listing);
  /// ENABLE QRESYNC once per session when the server offers it; false if not in effect.
  Result<bool> enable_qresync();
  /// UID FETCH of the rechecked UIDs, in groups; those not returned go to listing.vanished.
  Status recheck_uids(const std::vector<uint32_t>& recheck, FolderListing& listing);
  /// UID SEARCH ALL into listing.present.
  Status search_present(FolderListing& listing);
  /// The whole folder into `listing` (keeping what the SELECT said), as list() does.
  Status list_whole_folder(const std::string& folder, FolderListing& listing);
  Status fetch_chunk(std::span<const MessageRef> chunk);
  /// Readies the body sink for `chunk` (sizes and UIDs in sequence order, body cap, message
  /// deadline size) and returns its UIDs.
  std::set<uint32_t> expect_chunk(std::span<const MessageRef> chunk);
  Status deliver_chunk(std::span<const MessageRef> chunk, const OnMessage& on_message,
                       bool& stop);
  Status expunge_deleted();
  /// Without UIDPLUS: whether a plain EXPUNGE would remove only `ours` (UID SEARCH DELETED).
  Result<bool> expunge_is_ours(const std::set<uint32_t>& ours);
  Status require(State state, std::string_view what);

  // IDLE (imap_idle.cpp)
  enum class Wake { server, woken, timeout };
  /// Waits while idling: what the server sent (buffered or on the socket), wake_fd, or the
  /// deadline, whichever comes first. Reads nothing.
  Wake wait_while_idling(int wake_fd, const Deadline& deadline) const;
  /// True if the folder holds a message with a UID from the last SELECT's UIDNEXT on (it
  /// arrived after the listing began). UID SEARCH; errors are session-fatal.
  Result<bool> arrived_since_select();

  // libetpan callbacks (imap_mailbox.cpp); never throw
  static void on_log(mailimap* imap, int log_type, const char* data, std::size_t size,
                     void* self) noexcept;
  static void on_items(std::size_t current, std::size_t maximum, void* self) noexcept;
  static void on_msg_att(mailimap_msg_att* att, void* self) noexcept;
  static bool on_body(int att_type, mailimap_msg_att_body_section* section, const char* bytes,
                      std::size_t length, void* self) noexcept;
  void take_att(const AttFacts& facts);
  void reserve_next_body();
  /// The deadline of the next body of the chunk being fetched (see message_deadline).
  void start_message_deadline();

  /// Turn a failed libetpan call into an Error; session-fatal ones drop the connection.
  Error fail(int code, std::string_view what);
  /// Whether the server lied in a way libetpan does not catch (a literal over 32 bits, a body
  /// past its cap, an endless line): then the session must end with hostile_error().
  bool hostile() const;
  Error hostile_error(std::string_view what) const;
  /// Close the socket without a word to the server (after a fatal error, or TLS refused).
  void drop_connection();
  std::string prefix() const { return settings_.account + ": "; }

  AccountSettings settings_;
  Log& log_;
  Trace trace_;
  LiteralGuard guard_;
  ImapPtr imap_;
  State state_ = State::idle;
  std::optional<TlsFacts> tls_facts_;     ///< set once TLS was verified (tls_facts())
  std::string login_method_;              ///< set by a successful login (login_method())

  std::string folder_;                    ///< selected folder
  std::string peer_address_;              ///< the server's IP address, once connected
  std::set<uint32_t> deleted_;            ///< UIDs marked \Deleted in folder_, not yet expunged
  bool qresync_enabled_ = false;          ///< ENABLE QRESYNC succeeded in this session
  bool qresync_tried_ = false;            ///< ENABLE QRESYNC was sent (or is not offered)

  Sink sink_ = Sink::none;
  bool callback_failed_ = false;          ///< a callback could not store what it got
  bool too_many_listed_ = false;          ///< Sink::listing: over kMaxListed, the rest ignored
  uint64_t body_cap_ = 0;                 ///< Sink::bodies: most octets one body may have
  bool body_over_cap_ = false;            ///< a body grew past body_cap_: refused
  std::map<uint32_t, AttFacts> listed_;   ///< Sink::listing: by UID
  std::vector<uint32_t> listed_without_uid_;
  std::string body_;                      ///< Sink::bodies: the body being received
  std::map<uint32_t, std::string> bodies_;  ///< Sink::bodies: complete bodies by UID
  std::vector<uint64_t> expected_sizes_;  ///< Sink::bodies: announced sizes in arrival order
  std::vector<std::string> expected_uids_;  ///< Sink::bodies: their UIDs
  std::size_t next_expected_ = 0;
  uint64_t deadline_size_ = 0;            ///< Sink::bodies: size each message's deadline allows
  Deadline run_deadline_;                 ///< global.run_timeout of the poll (set_run_deadline)
};

}  // namespace clamfetch::fetch::imap
