// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Real Dovecot and Postfix for integration tests, and small helpers to drive them.
//
// MailServers wraps tests/fixture/mailservers: a private Dovecot (POP3 with STLS, POP3S, IMAP
// with STARTTLS, IMAPS, LMTP) and a private Postfix (SMTP into virtual Maildirs for
// virtualuser1, virtualuser2 and postmaster @example.com) on free loopback ports, with a test
// CA, all under one fresh directory in /tmp. Tests run as root; clamfetch runs as the
// unprivileged user env("TEST_USER") through run(). Every call here blocks; failures throw
// std::runtime_error with the fixture's output, which Catch2 reports.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace clamfetch::test {

class MailServers {
 public:
  /// Which server answers POP3 and IMAP (the env keys POP3_PORT... name its ports).
  enum class Server {
    dovecot,  ///< the default; also serves LMTP (LMTP_PORT)
    cyrus,    ///< Cyrus IMAP 3.6 (tests/fixture/cyrus): no LMTP, no log file
  };
  struct Options {
    /// false: Dovecot announces no UIDPLUS (imap_capability), as older IMAP servers.
    bool imap_uidplus = true;
    /// false: Dovecot announces neither CONDSTORE nor QRESYNC (RFC 7162).
    bool imap_qresync = true;
    Server server = Server::dovecot;
    /// Dovecot's oauth2 passdb (tests/fixture/mailservers start --oauth2-*): a file holding
    /// the base64 HS256 key that signs the tests' JWTs (tests/fixture/mint_jwt), or an RFC 7662
    /// introspection URL of a real authorization server; empty: no OAuth2 logins.
    std::string oauth2_jwt_key{};  // {}: GCC 12 warns of omitted members in designated initializers without one
    std::string oauth2_introspection{};
    std::string oauth2_ca{};  ///< the CA file Dovecot trusts for oauth2_introspection's HTTPS
    /// The OAuth2 mechanisms Dovecot offers ("xoauth2"); empty: OAUTHBEARER and XOAUTH2.
    std::string oauth2_mechanisms{};
  };
  /// Creates a fresh /tmp/cfXXXXXX, starts both servers there and reads DIR/env.
  /// Throws (after cleaning up) if they do not start.
  MailServers() : MailServers(Options{}) {}
  explicit MailServers(Options options);
  /// Stops both servers and removes the directory, even when the test failed. With
  /// CLAMFETCH_KEEP_FIXTURE=1 in the environment the directory is kept and its path printed.
  ~MailServers();
  MailServers(const MailServers&) = delete;
  MailServers& operator=(const MailServers&) = delete;

  /// The fixture directory (DIR).
  const std::string& dir() const;
  /// A value from DIR/env (keys: see tests/fixture/mailservers, write_env); throws if absent.
  std::string env(const std::string& key) const;
  /// A port from DIR/env, e.g. port("POP3S_PORT").
  int port(const std::string& key) const;

  /// Puts one message (bytes as given, CRLF recommended) into a user's INBOX.
  void seed(const std::string& user, const std::string& message_bytes) const;
  /// Puts several messages, in this order (POP3 numbers / IMAP UIDs follow it), in one call.
  void seed(const std::string& user, const std::vector<std::string>& messages) const;
  /// Contents of the messages still in a user's INBOX (Dovecot: Maildir new and cur), in seed
  /// order.
  std::vector<std::string> remote_messages(const std::string& user) const;

  /// Waits until Postfix's incoming, active and maildrop queues are empty: only then has all
  /// accepted mail been delivered (or deferred). Throws after `seconds`.
  void wait_queue_empty(int seconds = 30) const;
  /// Number of messages in Postfix's deferred queue.
  int deferred_count() const;
  /// Contents of the files Postfix delivered to LOCALPART@example.com (Maildir new and cur),
  /// sorted by file name. Postfix stores them with LF line ends, after its own Received,
  /// Delivered-To, X-Original-To and Return-Path lines: compare with lf_to_crlf() and ends_with.
  std::vector<std::string> delivered(const std::string& localpart) const;
  /// The same for what Dovecot's LMTP delivered to LOCALPART@example.com (DIR/lmtp/LOCALPART).
  std::vector<std::string> lmtp_delivered(const std::string& localpart) const;

  /// Stops / starts Postfix alone ("MTA down" cases); Dovecot keeps running.
  void stop_postfix() const;
  void start_postfix() const;

  std::string dovecot_log() const;
  std::string postfix_log() const;

 private:
  void fixture(const std::vector<std::string>& args) const;

  std::string dir_;
  std::map<std::string, std::string> env_;
};

/// An RFC 5322 message with CRLF line ends: From, To (virtualuser1@example.com), Subject, Date,
/// Message-ID (`message_id`, angle brackets added when missing), then `extra_headers` (CRLF
/// separated), then a deterministic body of exactly `body_bytes` bytes (lines of at most 78
/// bytes, none starting with a dot, the last ending in CRLF when body_bytes >= 2).
std::string make_message(const std::string& message_id, std::size_t body_bytes,
                         const std::string& extra_headers = "");

/// The whole file; throws if it cannot be read.
std::string read_file(const std::string& path);

/// Turns every bare LF into CRLF (Maildir files as delivered -> bytes as sent).
std::string lf_to_crlf(std::string_view text);

struct RunResult {
  int exit_code;  ///< the exit status, or 128 + signal number
  std::string out;
  std::string err;
};

/// Runs argv[0] (searched in PATH) with argv, no shell; feeds `input` to its stdin and captures
/// stdout and stderr. With `as_user` the child runs as that user (its groups, setgid, setuid),
/// in its home directory, with a clean environment (HOME, USER, LOGNAME, SHELL, PATH=
/// /usr/local/bin:/usr/bin:/bin); otherwise it inherits ours. `env` is added on top. Returns
/// once the child exited (background processes it left holding the pipes are not waited for);
/// kills its process group after 5 minutes. Throws only if the child cannot be started.
/// Ignores SIGPIPE in the calling process (the child gets the default back).
RunResult run(const std::vector<std::string>& argv, const std::string& as_user = "",
              const std::map<std::string, std::string>& env = {}, const std::string& input = "");

/// Absolute path of tests/fixture/mailservers.
std::string fixture_script();

}  // namespace clamfetch::test
