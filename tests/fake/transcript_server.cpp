// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The scripted fake server (see transcript_server.hpp). Non-blocking sockets and poll()
// everywhere, with a stop pipe, so that the destructor ends a hang or a wait at once.

#include "fake/transcript_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace clamfetch::test {

Step Step::expect(std::string prefix) { return {Type::expect, std::move(prefix), {}, {}}; }
Step Step::send(std::string bytes) { return {Type::send, std::move(bytes), {}, {}}; }
Step Step::start_tls(std::string cert_file, std::string key_file) {
  return {Type::start_tls, {}, std::move(cert_file), std::move(key_file)};
}
Step Step::trickle(std::string bytes, int interval_ms) {
  Step step{Type::trickle, std::move(bytes), {}, {}};
  step.interval_ms = interval_ms;
  return step;
}
Step Step::strict(std::string prefix, Checker check) {
  Step step{Type::expect, std::move(prefix), {}, {}};
  step.check = std::move(check);
  return step;
}
Step Step::data() { return {Type::data, {}, {}, {}}; }
Step Step::hang() { return {Type::hang, {}, {}, {}}; }
Step Step::close() { return {Type::close, {}, {}, {}}; }

namespace {

/// Waits for `events` on fd; false when the stop pipe fired or poll failed.
bool wait_io(int fd, short events, int stop_fd) {
  for (;;) {
    pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
    int r = ::poll(fds, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || fds[1].revents != 0) return false;
    return true;
  }
}

}  // namespace

/// The accepted client: plaintext first, TLS after a start_tls step.
struct TranscriptServer::Connection {
  int fd = -1;
  int stop_fd = -1;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  std::string buffer;

  ~Connection() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (fd >= 0) ::close(fd);
  }

  /// > 0 bytes appended, 0 end of stream, -1 failure or stop.
  ssize_t read_some() {
    char chunk[16384];
    for (;;) {
      short events = POLLIN;
      if (ssl != nullptr) {
        int n = SSL_read(ssl, chunk, sizeof chunk);
        if (n > 0) {
          buffer.append(chunk, static_cast<size_t>(n));
          return n;
        }
        int err = SSL_get_error(ssl, n);
        if (err == SSL_ERROR_ZERO_RETURN) return 0;
        if (err == SSL_ERROR_WANT_WRITE) events = POLLOUT;
        else if (err != SSL_ERROR_WANT_READ) return -1;
      } else {
        ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n >= 0) {
          buffer.append(chunk, static_cast<size_t>(n));
          return n;
        }
        if (errno != EAGAIN && errno != EINTR) return -1;
      }
      if (!wait_io(fd, events, stop_fd)) return -1;
    }
  }

  bool write_all(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      short events = POLLOUT;
      if (ssl != nullptr) {
        int n = SSL_write(ssl, bytes.data() + done, static_cast<int>(bytes.size() - done));
        if (n > 0) {
          done += static_cast<size_t>(n);
          continue;
        }
        int err = SSL_get_error(ssl, n);
        if (err == SSL_ERROR_WANT_READ) events = POLLIN;
        else if (err != SSL_ERROR_WANT_WRITE) return false;
      } else {
        ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n > 0) {
          done += static_cast<size_t>(n);
          continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
      }
      if (!wait_io(fd, events, stop_fd)) return false;
    }
    return true;
  }

  /// Sends `bytes` an octet at a time, waiting `interval_ms` before each (or until stopped).
  bool trickle(const std::string& bytes, int interval_ms) {
    for (char octet : bytes) {
      pollfd stop{stop_fd, POLLIN, 0};
      if (::poll(&stop, 1, interval_ms) != 0) return false;  // stopped (or poll failed)
      if (!write_all(std::string(1, octet))) return false;
    }
    return true;
  }

  /// The next line without its line end (and, in `raw`, with it exactly as received); false
  /// at end of stream or failure.
  bool read_line(std::string& line, std::string* raw = nullptr) {
    for (;;) {
      size_t end = buffer.find('\n');
      if (end != std::string::npos) {
        line = buffer.substr(0, end);
        if (raw != nullptr) *raw = buffer.substr(0, end + 1);
        buffer.erase(0, end + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return true;
      }
      if (read_some() <= 0) return false;
    }
  }

  /// Empty on success, else why the handshake failed.
  std::string accept_tls(const Step& step) {
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr ||
        SSL_CTX_use_certificate_chain_file(ctx, step.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, step.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return "cannot load " + step.cert_file + " / " + step.key_file;
    }
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    buffer.clear();  // plaintext the client sent early is not part of the TLS conversation
    for (;;) {
      ERR_clear_error();
      int r = SSL_accept(ssl);
      if (r == 1) return {};
      int err = SSL_get_error(ssl, r);
      short events = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
      if (events == 0) {
        unsigned long code = ERR_get_error();
        const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
        return std::string("TLS handshake failed: ") + (reason ? reason : "connection closed");
      }
      if (!wait_io(fd, events, stop_fd)) return "TLS handshake failed: stopped";
    }
  }
};

TranscriptServer::TranscriptServer(std::vector<Step> steps, uint16_t port)
    : steps_(std::move(steps)) {
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int reuse = 1;  // a fixed port is taken again right after the previous fake's connection
  if (listen_fd_ >= 0) ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(listen_fd_, 4) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string why = std::strerror(errno);
    for (int fd : {listen_fd_, stop_pipe_[0], stop_pipe_[1]}) {
      if (fd >= 0) ::close(fd);
    }
    throw std::runtime_error("fake server cannot listen: " + why);
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

TranscriptServer::~TranscriptServer() {
  char stop = 's';
  if (::write(stop_pipe_[1], &stop, 1) != 1) {
    // The pipe is ours and empty: a failed write leaves the thread to end with its script.
  }
  thread_.join();
  for (int fd : {listen_fd_, stop_pipe_[0], stop_pipe_[1]}) ::close(fd);
}

void TranscriptServer::serve() {
  Connection connection;
  connection.stop_fd = stop_pipe_[0];
  if (!wait_io(listen_fd_, POLLIN, stop_pipe_[0])) return finish("stopped before a client came");
  connection.fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (connection.fd < 0) return finish(std::string("accept failed: ") + std::strerror(errno));
  play(connection);
}

void TranscriptServer::play(Connection& c) {
  std::string line;
  for (const Step& step : steps_) {
    switch (step.type) {
      case Step::Type::expect: {
        std::string raw;
        if (!c.read_line(line, &raw)) return finish("client closed the connection before: " + step.text);
        record(line);
        if (line.compare(0, step.text.size(), step.text) != 0) {
          return finish("expected " + step.text + ", got " + line);
        }
        if (step.check) {
          if (std::string why = step.check(raw); !why.empty()) return finish("grammar: " + why);
        }
        break;
      }
      case Step::Type::data:
        if (std::string why = read_data(c); !why.empty()) return finish(why);
        break;
      case Step::Type::send:
        if (!c.write_all(step.text)) return finish("client went away while we sent");
        break;
      case Step::Type::trickle:
        if (!c.trickle(step.text, step.interval_ms)) return finish("client went away while we trickled");
        break;
      case Step::Type::start_tls:
        if (std::string why = c.accept_tls(step); !why.empty()) return finish(why);
        {
          std::lock_guard lock(mutex_);
          tls_ = true;
        }
        break;
      case Step::Type::hang:
        while (c.read_line(line)) record(line);
        return finish("");
      case Step::Type::close:
        return finish("");
    }
  }
  finish("");
}

std::string TranscriptServer::read_data(Connection& c) {
  std::string data, line, raw;
  for (;;) {
    if (!c.read_line(line, &raw)) return "client closed the connection in DATA";
    if (raw.size() < 2 || raw.compare(raw.size() - 2, 2, "\r\n") != 0 ||
        line.find('\r') != std::string::npos) {
      return "DATA line not ending in CRLF (bare LF or CR): " + line.substr(0, 80);
    }
    if (line == ".") break;
    data += (line.size() > 0 && line[0] == '.' ? line.substr(1) : line) + "\r\n";
  }
  std::lock_guard lock(mutex_);
  data_.push_back(std::move(data));
  return "";
}

std::vector<std::string> TranscriptServer::data() const {
  std::lock_guard lock(mutex_);
  return data_;
}

void TranscriptServer::record(std::string line) {
  std::lock_guard lock(mutex_);
  received_.push_back(std::move(line));
}

void TranscriptServer::finish(std::string failure) {
  std::lock_guard lock(mutex_);
  failure_ = std::move(failure);
  done_ = true;
  done_cv_.notify_all();
}

std::vector<std::string> TranscriptServer::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

bool TranscriptServer::received_line_starting(const std::string& prefix) const {
  std::lock_guard lock(mutex_);
  for (const std::string& line : received_) {
    if (line.compare(0, prefix.size(), prefix) == 0) return true;
  }
  return false;
}

bool TranscriptServer::wait_done(int seconds) const {
  std::unique_lock lock(mutex_);
  return done_cv_.wait_for(lock, std::chrono::seconds(seconds), [this] { return done_; });
}

std::string TranscriptServer::failure() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

bool TranscriptServer::tls_established() const {
  std::lock_guard lock(mutex_);
  return tls_;
}

}  // namespace clamfetch::test
