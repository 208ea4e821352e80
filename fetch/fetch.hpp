// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Retrieval: POP3 and IMAP sessions over libetpan with our own verified-TLS transport,
// and the durable UID store. Nothing here deletes on its own: acknowledge() is called by the
// poller only after the MTA's 2xx, and deletions take effect at close().

#include <cstdint>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "core/deadline.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace clamfetch::fetch {

enum class Protocol { pop3, imap };
enum class TlsMode { implicit, starttls, none };

struct TlsSettings {
  TlsMode mode = TlsMode::implicit;
  std::string ca_file;       ///< empty: system trust store
  std::string fingerprint;   ///< "SHA256:AB:CD:..." pin of the leaf, or empty
  std::string min_tls = "1.2";
};

/// How to log in (rc `auth`). automatic: POP3 AUTH PLAIN, else AUTH LOGIN, when the server
/// offers it under TLS, else USER/PASS (never APOP); IMAP LOGIN, or AUTHENTICATE PLAIN when
/// the server announces LOGINDISABLED. The others are required: a server that does not offer
/// the method fails with Kind::auth before any credential is sent.
enum class AuthMethod {
  automatic,
  password,  ///< POP3 USER/PASS; IMAP LOGIN
  plain,     ///< POP3 AUTH PLAIN (RFC 5034); IMAP AUTHENTICATE PLAIN
  login,     ///< POP3 AUTH LOGIN; IMAP LOGIN
  apop,      ///< POP3 APOP (RFC 1939 7), digest of the greeting's timestamp; POP3 only
  /// OAuth2 bearer token (AccountSettings::access_token): SASL OAUTHBEARER (RFC 7628) when
  /// offered, else XOAUTH2; IMAP AUTHENTICATE, POP3 AUTH. Only ever after verified TLS.
  oauth2,
};

struct AccountSettings {
  std::string server;
  uint16_t port = 0;         ///< 0: default for protocol and TLS mode
  Protocol protocol = Protocol::pop3;
  TlsSettings tls;
  std::string username;
  AuthMethod auth = AuthMethod::automatic;
  /// Called once, only when the password is about to be sent (password_command).
  std::function<Result<std::string>()> password;
  /// The OAuth2 access token, called just before authenticating (OAUTHBEARER/XOAUTH2); refresh = true after the server refused the token once.
  std::function<Result<std::string>(bool refresh)> access_token;
  int timeout_seconds = 300; ///< every phase: connect, handshake, each reply
  std::string account;       ///< "user@server", names the account in every log line
};

/// One message on the server, as listed.
struct MessageRef {
  std::string folder;        ///< "INBOX" for POP3
  uint32_t number = 0;       ///< POP3 message number / IMAP sequence number
  std::string uid;           ///< POP3 UIDL / IMAP UID (decimal)
  uint64_t size = 0;         ///< octets as the server reports them
  bool seen = false;         ///< IMAP \Seen when listed (POP3 has no flags: false)
  bool deleted = false;      ///< IMAP \Deleted when listed (set by another client or by us)
  uint32_t uidvalidity = 0;  ///< the folder's UIDVALIDITY when listed (IMAP); 0 for POP3
};

/// What an IMAP SELECT said about a folder, kept by the UID store between polls so that the
/// next poll asks only for what changed (Session::list_changes).
struct FolderSync {
  uint32_t uidvalidity = 0;
  uint32_t uidnext = 0;         ///< UIDNEXT at that SELECT (0: the server sent none)
  uint32_t exists = 0;          ///< EXISTS at that SELECT
  uint64_t highestmodseq = 0;   ///< HIGHESTMODSEQ (RFC 7162); 0: no CONDSTORE
  /// Every UID below this one is done with for good: the UID store marks it delivered or
  /// known, or holds retry state for it (UidStore::unsettled lists those). Set by the poller.
  uint32_t settled_below = 0;
};

/// An inclusive range of IMAP UIDs.
struct UidRange { uint32_t first = 0, last = 0; };

struct FolderListing {
  uint32_t uidvalidity = 0;  ///< IMAP; 0 for POP3
  std::vector<MessageRef> messages;
  /// Messages listed but unusable (over-long or non-printable UID, or announced larger
  /// than kMaxMessageBytes): skipped with a warning, left on the server.
  std::vector<std::string> rejected;
  /// false: list_changes() listed only the messages from `from_uid` on and the rechecked
  /// ones; the others were not looked at (they are not gone).
  bool complete = true;
  uint32_t from_uid = 1;             ///< the first UID listed in full (complete: 1)
  bool without_uid = false;          ///< some message was listed without its UID (a server bug)
  FolderSync sync;                   ///< IMAP: what the SELECT said (settled_below unset)
  /// Not complete: UIDs known to be gone from the server (QRESYNC VANISHED, a rechecked UID
  /// not returned). May name UIDs that never existed.
  std::vector<UidRange> vanished;
  /// Not complete, when the folder lost messages and the server has no QRESYNC: every UID it
  /// holds (UID SEARCH ALL), sorted; nullopt when not asked.
  std::optional<std::vector<uint32_t>> present;
};

/// The hard ceiling on one message: bodies are held in memory whole, so a server announcing
/// gigabytes must not make us try (no MTA passes such a message on: Postfix's default limit
/// is 10 MB). Larger announced sizes are rejected by list(); a body growing past twice its
/// announced size (plus 1 MiB) ends the session with Kind::protocol.
inline constexpr uint64_t kMaxMessageBytes = uint64_t{1} << 30;

/// Called per retrieved message with its bytes (CRLF, dot-unstuffed) or a message-scoped
/// error, among them Kind::protocol for a body that cannot be the announced message (empty,
/// or short: see fetch/retrieval.hpp), which must not be acknowledged. Return false to stop
/// retrieving.
using OnMessage = std::function<bool(const MessageRef&, Result<std::string>)>;

/// The verified TLS session of an account, for --doctor. Recorded when the handshake and
/// its verification succeeded, so it is there also when the login failed afterwards.
struct TlsFacts {
  std::string protocol;        ///< "TLSv1.3"
  std::string cipher;          ///< "TLS_AES_256_GCM_SHA384"
  std::string subject;         ///< the leaf certificate's subject, RFC 2253 ("CN=mail.example.net")
  std::string issuer;          ///< its issuer, the same way
  std::time_t not_after = 0;   ///< its expiry (0: unreadable)
  std::string verified_name;   ///< the host name (or address) the certificate was verified for
  bool pinned = false;         ///< the leaf matched the configured fingerprint
};

/// What a folder holds, read without changing anything on the server (--doctor).
struct FolderCounts {
  uint64_t messages = 0;
  std::optional<uint64_t> unseen;   ///< IMAP STATUS UNSEEN; POP3 has no flags
  std::optional<uint64_t> octets;   ///< POP3 STAT's size; IMAP STATUS does not say
};

/// Why Session::idle() returned.
enum class IdleEvent {
  new_mail,   ///< the server announced new messages (EXISTS)
  timeout,    ///< max_seconds passed in silence (IDLE is re-issued by calling idle() again)
  woken,      ///< wake_fd became readable: the caller wants the session back
};

/// A connected mailbox session. Not thread-safe: one per account, used by one thread.
class Session {
 public:
  virtual ~Session() = default;

  /// Connect, establish and verify TLS per settings, authenticate. Blocks up to the timeout
  /// per phase. Errors (Scope::account): connect, tls, auth, protocol, timeout, lock_busy,
  /// server_busy. No credential is sent before TLS (when required) is verified.
  virtual Status open() = 0;

  /// Select `folder` (IMAP; POP3 knows only INBOX) and list every message with UID and size.
  virtual Result<FolderListing> list(const std::string& folder) = 0;

  /// Like list(), but with what the last poll of `folder` learned (`known`, from the UID
  /// store): IMAP lists only the messages from known.settled_below on and the `recheck` UIDs
  /// below it, and nothing at all when SELECT shows the folder unchanged; it learns what was
  /// deleted from QRESYNC's VANISHED (RFC 7162) or, when EXISTS dropped, from UID SEARCH.
  /// A changed UIDVALIDITY (or known.uidvalidity 0) gives a complete listing. POP3 and the
  /// default: list(). Errors: as list().
  virtual Result<FolderListing> list_changes(const std::string& folder, const FolderSync& known,
                                             const std::vector<uint32_t>& recheck) {
    (void)known;
    (void)recheck;
    return list(folder);
  }

  /// Retrieve `refs` (all from the listed folder) in order, pipelined where the server
  /// allows it. Session-fatal errors are returned; per-message ones go to on_message. Each
  /// message must arrive within timeout + size / 10 KiB/s (message_seconds in
  /// fetch/retrieval.hpp), else Kind::timeout and the session is ended.
  virtual Status retrieve(std::span<const MessageRef> refs, const OnMessage& on_message) = 0;

  /// Mark messages as handled: `remove` -> POP3 DELE / IMAP \Deleted; otherwise IMAP \Seen
  /// (POP3: nothing). Deletions are committed by close() (POP3 QUIT, IMAP EXPUNGE).
  virtual Status acknowledge(std::span<const MessageRef> refs, bool remove) = 0;

  /// Commit (expunge / QUIT) and disconnect. Safe to call after an error.
  virtual Status close() = 0;

  /// Bounds all later network I/O of the session (open() included) by `deadline`, the poll's
  /// global.run_timeout, on top of the per-read timeout and the per-message deadlines; once
  /// it has passed, the operation under way fails with Kind::timeout (Scope::account) and
  /// the session is broken, so nothing more is acknowledged. Deadline() lifts it (a kept
  /// IMAP session between polls, so that IDLE is not cut short). Does not block.
  virtual void set_run_deadline(const Deadline& deadline) { (void)deadline; }

  /// The TLS session's facts once the handshake was verified (also after a failed login);
  /// nullopt without TLS or before it. Does not block.
  virtual std::optional<TlsFacts> tls_facts() const { return std::nullopt; }

  /// How open() logged in ("USER/PASS", "AUTH PLAIN", "LOGIN", "AUTHENTICATE PLAIN",
  /// "PREAUTH"); empty before a successful open().
  virtual std::string login_method() const { return {}; }

  /// Counts the messages of `folder` without selecting it for writing or changing a flag:
  /// IMAP STATUS (MESSAGES UNSEEN), POP3 STAT (INBOX only). Valid after open(). Blocks.
  /// Errors: Kind::server (no such folder: Scope::mailbox), and as list().
  virtual Result<FolderCounts> count(const std::string& folder) {
    (void)folder;
    return make_error(Kind::internal, Scope::account, "count not supported");
  }

  /// True when idle() can work: an IMAP server that announced IDLE (RFC 2177). Valid after
  /// open(); false for POP3.
  virtual bool can_idle() const { return false; }
  /// The numeric IP address of the server this session connected to ("192.0.2.1"), for the
  /// Received header; empty before open() or when unknown.
  virtual std::string peer_address() const { return {}; }

  /// Waits on the folder last listed for the server to announce new mail (IMAP IDLE): first
  /// commits pending deletions (EXPUNGE), then idles until new mail, `max_seconds`, or until
  /// `wake_fd` (the caller's; -1: none) is readable, which it does not read. Server chatter
  /// (keep-alives, flag changes) does not end the wait. Blocks. Errors (Scope::account): as
  /// retrieve(); Kind::protocol "IDLE not supported" for POP3 and servers without IDLE.
  virtual Result<IdleEvent> idle(int max_seconds, int wake_fd) {
    (void)max_seconds;
    (void)wake_fd;
    return make_error(Kind::protocol, Scope::account, "IDLE not supported");
  }
};

/// A session for the account; nothing is sent until open().
std::unique_ptr<Session> make_session(const AccountSettings& settings, Log& log);

/// The port make_session() connects to: settings.port, else 995/110 (POP3) or 993/143 (IMAP)
/// for implicit TLS / the others. Pure.
uint16_t session_port(const AccountSettings& settings);

/// For --doctor: a TCP connection to the account's server and port, closed at once without a
/// byte sent. Returns "host:port". Errors: Kind::dns, Kind::connect, Kind::timeout.
Result<std::string> check_connect(const AccountSettings& settings);

/// For --doctor, after TLS failed to verify: the certificate the server presents (subject,
/// issuer, expiry; verified_name empty), read over a handshake that verifies nothing and is
/// closed at once, no byte of the protocol sent. Implicit TLS only. Errors: Kind::connect,
/// Kind::tls, Kind::timeout, Kind::config (STARTTLS or no TLS).
Result<TlsFacts> presented_certificate(const AccountSettings& settings);

/// Delivered UIDs per account, durable across runs and crashes.
///
/// File: <state_dir>/uids/<hex of account key>; written atomically (temp, fsync, rename,
/// fsync dir) by save(), with a journal appended by every mutating call below (record(),
/// record_known(), forget(), record_accepted(), note_deferral(), mark_notified()) so that a
/// run killed at any point re-delivers at most the message in flight. The journal is not
/// synced per record: a power cut may re-deliver (never lose) what was recorded since the
/// last save(). Not thread-safe: callers serialise access.
///
/// Every mark remembers the size the server listed with it. A mark is trusted only for a
/// listed message of that size (or any size when it is 0: unknown, from a version 1 file),
/// because POP3 UIDLs can be reused (hash-based UIDLs, migrated mailboxes): a different size
/// is a different message.
class UidStore {
 public:
  /// A message whose handling failed on earlier polls.
  struct Deferral {
    unsigned count = 0;
    std::time_t first = 0, last = 0;
    uint64_t size = 0;
    bool notified = false;
    std::string reason;
  };

  /// Load (or start empty) the store of one account ("protocol://user@server:port").
  /// Reads version 1 and 2 files. Errors: Kind::state (unreadable, corrupt, cannot create
  /// the directory).
  static Result<UidStore> open(const std::string& state_dir, const std::string& account_key);

  /// Whether the store has seen `folder` before (false: first run on it).
  bool has_folder(const std::string& folder) const;
  /// Record a folder's UIDVALIDITY; a change forgets the folder's UIDs. Returns true if changed.
  bool set_uidvalidity(const std::string& folder, uint32_t uidvalidity);
  /// Delivered by us before (kept on the server, or delivered but not yet confirmed deleted),
  /// as a message of `size` octets.
  bool delivered(const std::string& folder, const std::string& uid, uint64_t size) const;
  /// Delivered as a message of `size` octets, and meant to be deleted: the next run deletes
  /// it without delivering again.
  bool pending_delete(const std::string& folder, const std::string& uid, uint64_t size) const;
  /// Already \Seen when clamfetch first listed the folder (IMAP, fetchall off): not ours, never
  /// deleted on that strength, not retrieved unless fetchall.
  bool known(const std::string& folder, const std::string& uid, uint64_t size) const;
  /// Whether the store holds anything about `uid` in `folder` (a mark, accepted recipients
  /// or a deferral), whatever its size.
  bool has_uid(const std::string& folder, const std::string& uid) const;
  /// Note a delivery of a message listed with `size` octets in the journal (it survives the
  /// process being killed; save() makes it survive a power cut). Clears the message's
  /// accepted recipients and deferral. Errors: Kind::state (disk full ...).
  Status record(const std::string& folder, const std::string& uid, bool will_delete,
                uint64_t size);
  /// Note messages found already \Seen on a first run as known (one journal write).
  /// Errors: Kind::state.
  Status record_known(std::span<const MessageRef> refs);
  /// Forget messages whose deletion the server committed (POP3 QUIT succeeded): their UIDs
  /// may be reused by new messages. Errors: Kind::state.
  Status forget(std::span<const MessageRef> refs);
  /// Forget UIDs of `folder` that are no longer listed, and accepted recipients and
  /// deferrals whose size matches no listed message with that UID (stale: a reused UID).
  void prune(const std::string& folder, std::span<const MessageRef> listed);

  /// Recipients that already accepted this message (partial LMTP/SMTP 4xx): retried ones
  /// exclude them. Adds to the set (a different size starts a new set). Errors: Kind::state.
  Status record_accepted(const std::string& folder, const std::string& uid, uint64_t size,
                         const std::vector<std::string>& recipients);
  /// The recipients record_accepted() noted for the message (empty: none).
  std::vector<std::string> accepted(const std::string& folder, const std::string& uid) const;
  /// Count one more failed attempt (count+1; a different size starts again at 1) and return
  /// the new state. Errors: Kind::state.
  Result<Deferral> note_deferral(const std::string& folder, const std::string& uid, uint64_t size,
                                 std::time_t now, const std::string& reason);
  /// The message's deferral, if any.
  std::optional<Deferral> deferral(const std::string& folder, const std::string& uid) const;
  /// Note that the postmaster was told about the deferral. Errors: Kind::state; Kind::internal
  /// when the message has no deferral.
  Status mark_notified(const std::string& folder, const std::string& uid);
  /// When the next attempt is due: last + min(5 min * 2^(count-1), 24 h). Pure.
  static std::time_t next_attempt(const Deferral& d);

  /// The folder's state after the last saved poll (IMAP), if it can be trusted: the folder's
  /// UIDVALIDITY and entries are what they were when it was set. Kept in <file>.sync, a cache:
  /// missing or unreadable, the next poll lists the folder in full.
  std::optional<FolderSync> sync(const std::string& folder) const;
  /// Replace the folder's sync state (written by save()).
  void set_sync(const std::string& folder, const FolderSync& sync);
  /// UIDs of `folder` below `below` whose entry is not a plain delivered/known mark (pending
  /// delete, deferral, accepted recipients): list_changes() rechecks them.
  std::vector<uint32_t> unsettled(const std::string& folder, uint32_t below) const;
  /// Forget UIDs of `folder` in `vanished`, or, with `present`, those not in it (IMAP, after a
  /// partial listing).
  void prune_gone(const std::string& folder, const std::vector<UidRange>& vanished,
                  const std::optional<std::vector<uint32_t>>& present);

  /// Atomically write the whole store and remove the journal; does nothing when neither the
  /// store nor the journal changed since open() or the last save(). Errors: Kind::state.
  Status save();

  enum class Mark : char { none, kept, pending_delete, known };
  struct Entry {
    Mark mark = Mark::none;
    std::set<uint64_t> sizes;          ///< listed sizes the mark covers; 0: unknown (version 1)
    uint64_t accepted_size = 0;
    std::set<std::string> accepted;    ///< recipients that took the message already
    std::optional<Deferral> deferral;
  };
  struct Folder { uint32_t uidvalidity = 0; std::map<std::string, Entry> uids; };
  /// A folder's sync state and the number of UID entries it was set over (a check that the
  /// store was not edited or replaced under it).
  struct SyncState { FolderSync sync; std::size_t entries = 0; };

 private:
  /// Apply the journal's complete lines over the loaded file. Errors: Kind::state (corrupt).
  Status replay(const std::string& journal);
  /// Apply one line of the store file (tokens) to `folder`; false when malformed.
  bool apply(Folder& folder, const std::vector<std::string>& t, bool version1);
  /// Append `lines` to the journal in one write. Errors: Kind::state.
  Status append(const std::string& lines);
  /// The entry of `uid` in `folder`, or null.
  const Entry* find(const std::string& folder, const std::string& uid) const;
  /// The whole store in the file format (see uid_store.cpp).
  std::string serialize() const;

  /// Read <file>.sync (ignored when missing or malformed: it is a cache).
  void load_sync();
  /// Write <file>.sync atomically when it changed. Errors: Kind::state.
  Status save_sync();

  std::string path_;
  std::map<std::string, Folder> folders_;
  std::map<std::string, SyncState> sync_;     ///< by folder
  std::string sync_on_disk_;                  ///< <file>.sync as last read or written
  std::string on_disk_;         ///< the file's text as last read or written
  bool journal_dirty_ = false;  ///< the journal holds records save() has not folded in
  bool changed_ = false;        ///< changed without a journal record (prune, UIDVALIDITY)
};

/// "libetpan 1.9.4, OpenSSL 3.0.x" for --version.
std::string library_versions();

}  // namespace clamfetch::fetch
