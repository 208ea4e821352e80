// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// A scripted server for the faults a real server cannot produce: a missing STARTTLS, bytes
// injected after the STARTTLS OK, a bad certificate, a reply cut mid-line, a server that stops
// answering. It listens on 127.0.0.1 (ephemeral port), accepts ONE connection, plays its
// steps in order and records every line the client sent. Usable for POP3, IMAP and SMTP.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace clamfetch::test {

/// One step of the server's side of a conversation.
struct Step {
  enum class Type { expect, send, trickle, start_tls, hang, close, data };
  /// Checks one client line given with its line end as received: empty if valid, else why.
  using Checker = std::function<std::string(std::string_view raw_line)>;
  Type type = Type::close;
  std::string text;  ///< expect: the prefix the next client line must start with; send: bytes
  std::string cert_file, key_file;  ///< start_tls: PEM files of the server's certificate
  int interval_ms = 0;  ///< trickle: pause before each octet
  Checker check{};      ///< expect: also checks the line's exact bytes (see strict())

  /// Read one line from the client; it must start with `prefix` (else the script stops).
  static Step expect(std::string prefix);
  /// expect(), and the line's exact bytes (line end included) must pass `check` (a grammar of
  /// tests/fake/grammar.hpp), else the script stops naming the bytes. A line that ends in an
  /// IMAP literal "{n}" is checked together with the lines that carry the literal.
  static Step strict(std::string prefix, Checker check);
  /// SMTP/LMTP message data after DATA's 354: lines up to the lone "." line, each ending in
  /// CRLF (else the script stops); kept, dot-unstuffed, for data().
  static Step data();
  /// Send these bytes as they are (write "\r\n" yourself).
  static Step send(std::string bytes);
  /// Send these bytes one octet at a time, `interval_ms` before each: a server that is never
  /// silent long enough for a per-read timeout, yet never done. Ends early when the client
  /// goes away or the server is destroyed.
  static Step trickle(std::string bytes, int interval_ms);
  /// Run a TLS server handshake with this certificate; later steps go over TLS. A failed
  /// handshake (the client refused the certificate) ends the script.
  static Step start_tls(std::string cert_file, std::string key_file);
  /// Answer nothing any more; keep reading and recording until the client goes away.
  static Step hang();
  /// Close the connection (the script ends here anyway after its last step).
  static Step close();
};

class TranscriptServer {
 public:
  /// Binds 127.0.0.1:`port` (0: an ephemeral one; a fixed one lets a second fake stand in for
  /// the same server, as the UID store is kept per port) and starts the server thread.
  /// Throws std::runtime_error if it cannot.
  explicit TranscriptServer(std::vector<Step> steps, uint16_t port = 0);
  /// Stops the thread (also in the middle of a hang or a wait) and closes every socket.
  ~TranscriptServer();
  TranscriptServer(const TranscriptServer&) = delete;
  TranscriptServer& operator=(const TranscriptServer&) = delete;

  uint16_t port() const { return port_; }
  /// Every line received from the client so far, without its line end, in order.
  std::vector<std::string> received() const;
  /// True if some received line starts with `prefix` (e.g. "USER", "PASS", "a1 LOGIN").
  bool received_line_starting(const std::string& prefix) const;
  /// Waits up to `seconds` for the script to end (steps done, client gone, or failure).
  bool wait_done(int seconds) const;
  /// Empty, or why the script stopped early ("expected USER, got QUIT", "TLS handshake
  /// failed: ...", "client closed the connection before: USER").
  std::string failure() const;
  /// The message data read by data() steps, dot-unstuffed, with CRLF line ends.
  std::vector<std::string> data() const;
  /// Whether a TLS handshake of a start_tls step completed.
  bool tls_established() const;

 private:
  struct Connection;
  void serve();
  void play(Connection& connection);
  void record(std::string line);
  /// The data() step: empty, or why it failed.
  std::string read_data(Connection& connection);
  void finish(std::string failure);

  std::vector<Step> steps_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  uint16_t port_ = 0;
  mutable std::mutex mutex_;
  mutable std::condition_variable done_cv_;
  std::vector<std::string> received_;
  std::vector<std::string> data_;
  std::string failure_;
  bool done_ = false;
  bool tls_ = false;
  std::thread thread_;
};

}  // namespace clamfetch::test
