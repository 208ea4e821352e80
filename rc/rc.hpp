// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// The rc file: TOML parsed once into an immutable, validated, typed Config with every
// inherited value resolved (global -> defaults -> poll -> user, as fetchmail's `defaults`).
// Errors name file:line:col and map to exit 5 (syntax) or 6 (permissions).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace clamfetch::rc {

enum class Protocol { pop3, imap };
enum class TlsMode { implicit, starttls, none };
enum class OnInfected { quarantine, accept, discard };
enum class OnFail { defer, accept };
enum class OnOversize { accept, defer, quarantine };
enum class OnLimits { accept, defer, quarantine };
enum class AddHeader { no, add, replace };
enum class LogDetail { off, basic, full };
enum class Reload { automatic, concurrent, blocking };  ///< `[scan] reload`
enum class Engine { automatic, libclamav, clamd };      ///< `[scan] engine`

/// Where clean mail goes: "host:port", "lmtp:host:port" or "lmtp:/path/to/socket".
struct MtaTarget {
  enum class Kind { smtp, lmtp_tcp, lmtp_unix };
  Kind kind = Kind::smtp;
  std::string host = "localhost";
  uint16_t port = 25;
  std::string path;  ///< unix socket for lmtp_unix
  std::string text;  ///< as written, for messages
};

struct Global {
  std::string postmaster;        ///< empty: the user running clamfetch (fetchmail's default)
  bool bouncemail = true;        ///< fetchmail's default
  bool syslog = false;
  std::string logfile;
  bool invisible = false;
  unsigned parallel = 1;         ///< accounts polled at once
  unsigned smtp_sessions = 4;    ///< MTA connections delivering at once
  /// `run_timeout`: the longest one poll of one account may talk to its server (login,
  /// listing, retrieval, acknowledging); then the account's poll ends, nothing acknowledged
  /// that was not delivered, exit 7. 1 s to 7 days.
  uint64_t run_timeout_seconds = 3600;
};

struct Scan {
  bool enabled = true;           ///< `enabled = false`: deliver unscanned (benchmarks, tests)
  std::string database = "/var/lib/clamav";
  std::vector<std::string> clamd;  ///< "unix:/path" | "tcp:host:port"; non-empty replaces database
  uint64_t max_file_size = 25ull << 20;
  uint64_t max_scan_size = 100ull << 20;
  /// `scan_timeout`: an in-process scan still running after this long is taken for hung: the
  /// run ends (exit 23) and the message is handled by on_fail from the next run on. Above
  /// libclamav's own limit (CL_ENGINE_MAX_SCANTIME, 120 s by default); 1 s to 1 day.
  uint64_t scan_timeout_seconds = 300;
  OnInfected on_infected = OnInfected::quarantine;
  OnFail on_fail = OnFail::defer;
  OnOversize on_oversize = OnOversize::accept;
  /// A limit reached inside a message (Heuristics.Limits.Exceeded.*): clamd's default is to
  /// call it clean, so accept delivers it marked "Clean (limits exceeded: ...)".
  OnLimits on_limits = OnLimits::accept;
  AddHeader add_header = AddHeader::replace;
  std::string report_hostname;   ///< empty: this host's name
  std::string virus_action;
  std::string quarantine_dir;    ///< empty: $CLAMFETCH_HOME/quarantine
  uint64_t quarantine_keep_seconds = 30ull * 86400;
  LogDetail log_infected = LogDetail::basic;
  LogDetail log_clean = LogDetail::off;
  std::vector<std::string> allowlist;  ///< "To:regex" / "From:regex" (`whitelist` is a synonym)
  std::string allowlist_file;
  bool database_set = false;     ///< `database` is written in the rc file (engine = auto)
  /// `self_check`: a daemon checks the database this often and reloads it when it changed;
  /// 0 = never. At most one day.
  uint64_t self_check_seconds = 600;
  Reload reload = Reload::automatic;
  Engine engine = Engine::automatic;
  std::string clamd_conf = "/etc/clamav/clamd.conf";  ///< where engine = auto finds LocalSocket
};

/// `[poll.user.oauth]`: how an account gets its OAuth2 access token. Either token_command
/// (a program prints the token, as password_command), or a provider with a client (the token
/// is obtained and refreshed by oauth/). Its presence means auth = "oauth2" for the user.
struct OAuth {
  enum class Provider { microsoft, google, custom };
  enum class Flow { device, client_credentials, authorization_code };
  Provider provider = Provider::custom;
  bool has_provider = false;           ///< false: token_command alone
  std::string client_id;
  std::string client_secret;           ///< literal secret; never shown by describe()
  std::string client_secret_command;   ///< run when the secret is needed
  std::string tenant;                  ///< microsoft: tenant id or domain; empty: the preset's
  Flow flow = Flow::device;
  std::string token_endpoint;          ///< empty: the provider's preset
  std::string device_endpoint;         ///< empty: the provider's preset
  std::string authorization_endpoint;  ///< flow = "authorization_code"; empty: the preset's
  std::string scope;                   ///< empty: the provider's preset
  std::string ca_file;                 ///< trust for the token endpoint; empty: system store
  std::string token_command;           ///< prints the access token; run like password_command
};

/// One account with every value resolved.
struct User {
  std::string username;
  std::string password;           ///< literal password, or empty when password_command is set
  std::string password_command;   ///< run only when the password is needed
  std::vector<std::string> is;    ///< local recipients
  std::vector<std::string> folders{"INBOX"};
  bool keep = false;
  bool fetchall = false;
  uint64_t limit = 0;             ///< bytes, 0 = none
  unsigned fetchlimit = 0;        ///< 0 = none
  unsigned batchlimit = 0;        ///< 0 = none
  int timeout = 300;              ///< seconds
  /// MAIL FROM reply codes meaning "spam, drop it" (fetchmail -Z). Never applied to RCPT or
  /// DATA replies, and empty by default: a refusal is bounced or sent to the postmaster.
  std::vector<int> antispam;
  MtaTarget smtphost;
  /// `[poll.user.oauth]`: set for an OAuth2 account (auth = "oauth2"), which has no password.
  std::optional<OAuth> oauth;
};

struct Poll {
  std::string server;
  Protocol protocol = Protocol::pop3;
  uint16_t port = 0;              ///< 0: from protocol and tls (995/110, 993/143)
  TlsMode tls = TlsMode::implicit;
  bool allow_plaintext = false;
  std::string ca_file;            ///< empty: system trust store
  std::string fingerprint;        ///< "SHA256:AB:CD:..." or empty
  std::string min_tls = "1.2";
  /// `auth`: how to log in. automatic: POP3 AUTH PLAIN/LOGIN when offered under TLS, else
  /// USER/PASS; IMAP LOGIN (AUTHENTICATE PLAIN when LOGINDISABLED). password: USER/PASS or
  /// IMAP LOGIN; plain: AUTH PLAIN / AUTHENTICATE PLAIN; login: POP3 AUTH LOGIN, IMAP LOGIN;
  /// apop: POP3 APOP only; oauth2: OAUTHBEARER / XOAUTH2 with each user's [poll.user.oauth]
  /// (a user's oauth table implies it). All but automatic are required (no fallback).
  enum class Auth { automatic, password, plain, login, apop, oauth2 };
  Auth auth = Auth::automatic;
  std::vector<User> users;
};

struct Config {
  std::string path;               ///< file it came from
  Global global;
  Scan scan;
  std::vector<Poll> polls;
};

/// Parse and validate TOML text. `name` is used in error messages ("name:line:col: ...").
/// Errors: Kind::config, Scope::run.
Result<Config> parse(std::string_view text, const std::string& name);

/// Read, check permissions (check_permissions), then parse a file.
Result<Config> load(const std::string& path);

/// The rc file must belong to the current user and not be accessible by group or others.
/// Errors: Kind::permissions naming the file and its mode; Kind::config when unreadable.
Status check_permissions(const std::string& path);

/// Parse a size: "25M", "100K", "1G", "12345" (bytes). Errors name the text.
Result<uint64_t> parse_size(std::string_view text);
/// Parse a duration: "30d", "12h", "15m", "45s", "3600".
Result<uint64_t> parse_duration(std::string_view text);
/// Parse an smtphost value.
Result<MtaTarget> parse_mta_target(std::string_view text);

/// --check-config output: every account with every value resolved, passwords as ********.
std::string describe(const Config& config);

/// Resolve the password for a user: the literal one, or run password_command (no shell
/// unless it asks for one, with a timeout, output never logged). Errors: Kind::auth naming
/// the account. Blocks up to `timeout_seconds`.
Result<std::string> resolve_password(const User& user, const std::string& account, int timeout_seconds);

/// Run user.oauth->token_command (as password_command: no shell unless needed, a timeout,
/// output never logged) and return the first line it printed, the access token. Errors:
/// Kind::auth naming the account ("token_command for ACCOUNT failed (exit 1)"). Blocks up to
/// `timeout_seconds`.
Result<std::string> run_token_command(const User& user, const std::string& account, int timeout_seconds);

/// The OAuth client's secret: user.oauth->client_secret, or the first line printed by
/// client_secret_command (run like password_command); empty for a public client. Errors:
/// Kind::auth naming the account.
Result<std::string> resolve_client_secret(const User& user, const std::string& account, int timeout_seconds);

/// --import-fetchmailrc: TOML equivalent of a fetchmailrc. Warnings (one line each, naming
/// the line of every keyword not carried over) are appended to `warnings`.
/// Errors: Kind::config with "name:line:col: ...".
Result<std::string> import_fetchmailrc(std::string_view text, const std::string& name,
                                       std::vector<std::string>& warnings);

/// One UID of fetchmail's .fetchids: a message fetchmail has seen on `user`@`host`'s POP3
/// mailbox (delivered and left there: keep mode).
struct FetchidsEntry {
  std::string user;
  std::string host;
  std::string uid;
  unsigned line = 0;
};

/// Parse fetchmail's UID file (uid.c: one "user@host uidl" line per UID; '#' comment lines;
/// the user part may hold '@' and blanks, the host is after its last '@'; a field may also
/// be written "double-quoted" with backslash escapes). Lines that are not UID lines, and UIDs
/// that are not 1-70 printable octets (RFC 1939), are skipped with a warning
/// "name:line: ...". Pure; no errors: fetchmail itself reads what it can.
std::vector<FetchidsEntry> parse_fetchids(std::string_view text, const std::string& name,
                                          std::vector<std::string>& warnings);

}  // namespace clamfetch::rc
