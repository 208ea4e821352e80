// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// A TCP proxy for fault tests: forwards 127.0.0.1:<port()> to 127.0.0.1:<target> byte for byte
// (TLS passes through untouched, so certificates still name the real server) and cuts each
// connection after a given number of bytes from the server — a server or network that drops
// the connection in the middle of RETR / FETCH, which a real Dovecot cannot be told to do.
#pragma once

#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace clamfetch::test {

class CuttingProxy {
 public:
  /// Starts listening on 127.0.0.1, an ephemeral port. Each accepted connection is relayed to
  /// 127.0.0.1:target_port until the server has sent `cut_after` bytes (0: never cut) through
  /// it; then both sides are closed at once (the client sees the stream end mid-reply).
  /// Blocks only to bind; throws std::runtime_error when it cannot.
  CuttingProxy(int target_port, std::size_t cut_after);
  /// Stops accepting, closes every connection, joins its threads.
  ~CuttingProxy();
  CuttingProxy(const CuttingProxy&) = delete;
  CuttingProxy& operator=(const CuttingProxy&) = delete;

  int port() const { return port_; }
  /// Changes the cut point for connections accepted from now on (0: relay untouched).
  void set_cut_after(std::size_t cut_after) { cut_after_ = cut_after; }
  /// Connections accepted so far.
  int connections() const { return connections_.load(); }
  /// Connections cut so far (the server had sent cut_after bytes).
  int cuts() const { return cuts_.load(); }

 private:
  void accept_loop();
  void relay(int client, int server);

  int target_port_;
  std::atomic<std::size_t> cut_after_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<int> cuts_{0};
  std::thread acceptor_;
  std::vector<std::thread> relays_;  // touched by the acceptor thread only, joined after it
};

}  // namespace clamfetch::test
