#pragma once
// Retrieval: POP3 and IMAP sessions over libetpan with our own verified-TLS transport,
// and the durable UID store. Nothing here deletes on its own: acknowledge() is called by the
// poller only after the MTA's 2xx, and deletions take effect at close().

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
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
  int timeout_seconds = 300; ///< every phase: connect, handshake, each reply
  std::string account;       ///< "user@server", names the account in every log line
};

/// One message on the server, as listed.
struct MessageRef {
  std::string folder;        ///< "INBOX" for POP3
  uint32_t number = 0;       ///< POP3 message number / IMAP sequence number
  std::string uid;           ///< POP3 UIDL / IMAP UID (decimal)
  uint64_t size = 0;         ///< octets as the server reports them
};

struct FolderListing {
  uint32_t uidvalidity = 0;  ///< IMAP; 0 for POP3
  std::vector<MessageRef> messages;
  /// Messages listed but unusable (over-long or non-printable UID, or announced larger
  /// than kMaxMessageBytes): skipped with a warning, left on the server.
  std::vector<std::string> rejected;
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

  /// True when idle() can work: an IMAP server that announced IDLE (RFC 2177). Valid after
  /// open(); false for POP3.
  virtual bool can_idle() const { return false; }

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

/// Delivered UIDs per account, durable across runs and crashes.
///
/// File: <state_dir>/uids/<hex of account key>; written atomically (temp, fsync, rename,
/// fsync dir) by save(), with a journal appended by record() so that a run killed at any
/// point re-delivers at most the message in flight. The journal is not synced per record: a
/// power cut may re-deliver (never lose) what was recorded since the last save().
class UidStore {
 public:
  /// Load (or start empty) the store of one account ("protocol://user@server:port").
  /// Errors: Kind::state (unreadable, corrupt, cannot create the directory).
  static Result<UidStore> open(const std::string& state_dir, const std::string& account_key);

  /// Record a folder's UIDVALIDITY; a change forgets the folder's UIDs. Returns true if changed.
  bool set_uidvalidity(const std::string& folder, uint32_t uidvalidity);
  /// Delivered before (kept on the server, or delivered but not yet confirmed deleted).
  bool delivered(const std::string& folder, const std::string& uid) const;
  /// Delivered, and meant to be deleted: the next run deletes it without delivering again.
  bool pending_delete(const std::string& folder, const std::string& uid) const;
  /// Note a delivery in the journal (it survives the process being killed; save() makes it
  /// survive a power cut). Errors: Kind::state (disk full ...).
  Status record(const std::string& folder, const std::string& uid, bool will_delete);
  /// Forget UIDs of `folder` that are no longer on the server.
  void prune(const std::string& folder, const std::set<std::string>& present);
  /// Atomically write the whole store and remove the journal; does nothing when neither the
  /// store nor the journal changed since open() or the last save(). Errors: Kind::state.
  Status save();

  struct Entry { bool pending_delete = false; };
  struct Folder { uint32_t uidvalidity = 0; std::map<std::string, Entry> uids; };

 private:
  /// Apply the journal's complete lines over the loaded file. Errors: Kind::state (corrupt).
  Status replay(const std::string& journal);
  /// The whole store in the file format (see uid_store.cpp).
  std::string serialize() const;

  std::string path_;
  std::map<std::string, Folder> folders_;
  std::string on_disk_;         ///< the file's text as last read or written
  bool journal_dirty_ = false;  ///< the journal holds records save() has not folded in
};

/// "libetpan 1.9.4, OpenSSL 3.0.x" for --version.
std::string library_versions();

}  // namespace clamfetch::fetch
