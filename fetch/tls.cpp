// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Our transport under libetpan: TCP connect with a deadline, and one mailstream_low driver
// for both plaintext and OpenSSL. Every read, write and handshake step waits in poll() with a
// deadline, so a silent server gives an error, never a hang. TLS verification (chain, host
// name, minimum version, optional pin) completes before tls_open returns, so no byte of the
// protocol is ever sent over an unverified channel.

#include "fetch/tls.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <strings.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "core/deadline.hpp"
#include "core/resolve.hpp"

namespace clamfetch::fetch {
namespace {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

/// Closes an fd unless released: the error paths of tcp_connect and tls_open.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Error tls_error(std::string text) { return make_error(Kind::tls, Scope::account, std::move(text)); }

/// Waits until fd is ready for `events` or the deadline passes: 1 ready, 0 timed out,
/// -1 error (errno set). Retries on EINTR with the time that is left.
int wait_fd(int fd, short events, const Deadline& deadline) {
  for (;;) {
    pollfd pfd{fd, events, 0};
    int r = ::poll(&pfd, 1, deadline.remaining_ms());
    if (r > 0) return 1;
    if (r == 0) return 0;
    if (errno != EINTR) return -1;
  }
}

bool set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

// ---------------------------------------------------------------- the mailstream_low driver

/// What one mailstream_low of ours owns: the socket and, once TLS is up, the SSL object.
struct Transport {
  int fd = -1;
  SSL* ssl = nullptr;
  bool timed_out = false;  ///< the last failure was the deadline, not the peer
  bool eof = false;                ///< the peer closed: reads fail from now on
  std::size_t since_line_end = 0;  ///< octets received since the last LF
  bool line_too_long = false;      ///< over kMaxLineOctets without a LF: reads fail from now on
  ReadInspector inspector;         ///< may refuse what arrives (see set_read_inspector)
  bool refused = false;            ///< the inspector refused: reads fail from now on
  Deadline limit;                  ///< absolute bound set by the session (set_stream_deadline)
  bool limit_passed = false;       ///< the last failure was `limit`, not the per-read timeout
};

Transport* transport_of(mailstream_low* low) { return static_cast<Transport*>(low->data); }

/// The per-call inactivity deadline: the low stream's timeout, else libetpan's global one.
Deadline io_deadline(mailstream_low* low) {
  long seconds = low->timeout != 0 ? static_cast<long>(low->timeout)
                                   : static_cast<long>(mailstream_network_delay.tv_sec);
  return Deadline::after_ms(seconds * 1000);
}

int clamp_count(size_t count) { return count > INT_MAX ? INT_MAX : static_cast<int>(count); }

/// One attempt at the I/O: > 0 bytes moved, 0 end of stream (reads only), -1 failure;
/// or sets `wait_for` to the poll() events to wait on and returns -2.
template <class SslOp, class SockOp>
ssize_t attempt_io(Transport* t, SslOp ssl_op, SockOp sock_op, short& wait_for) {
  if (t->ssl != nullptr) {
    ERR_clear_error();
    int n = ssl_op();
    if (n > 0) return n;
    int err = SSL_get_error(t->ssl, n);
    if (err == SSL_ERROR_ZERO_RETURN) return 0;
    if (err == SSL_ERROR_WANT_READ) wait_for = POLLIN;
    else if (err == SSL_ERROR_WANT_WRITE) wait_for = POLLOUT;
    else return -1;
    return -2;
  }
  ssize_t n = sock_op();
  if (n >= 0) return n;
  if (errno == EINTR) {
    wait_for = 0;
    return -2;
  }
  if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
  return -2;
}

/// Runs attempt_io until it moves bytes or fails, waiting in poll() up to the deadline.
template <class SslOp, class SockOp>
ssize_t run_io(mailstream_low* low, short sock_events, SslOp ssl_op, SockOp sock_op) {
  Transport* t = transport_of(low);
  if (t->fd < 0) return -1;
  t->timed_out = false;
  t->limit_passed = false;
  // The per-read timeout alone lets a server that sends a byte now and then hold us for
  // ever: the session's absolute deadline (per message, per poll) bounds every call too,
  // also one whose bytes are already there.
  if (t->limit.expired()) {
    t->timed_out = t->limit_passed = true;
    return -1;
  }
  Deadline per_read = io_deadline(low);
  // Decided here, not by expired() after poll(), which may wake a millisecond early.
  bool limit_first = t->limit.sooner_than(per_read);
  Deadline deadline = limit_first ? t->limit : per_read;
  for (;;) {
    short wait_for = sock_events;
    ssize_t n = attempt_io(t, ssl_op, sock_op, wait_for);
    if (n != -2) return n;
    if (wait_for == 0) continue;  // EINTR
    int ready = wait_fd(t->fd, wait_for, deadline);
    if (ready == 0) {
      t->timed_out = true;
      t->limit_passed = limit_first;
    }
    if (ready <= 0) return -1;
  }
}

ssize_t driver_read(mailstream_low* low, void* buf, size_t count) {
  Transport* t = transport_of(low);
  // End of stream is reported once; after that a read is an error. libetpan's POP3 CAPA
  // loop reads lines until "." and takes an end of stream for an empty line: it spun at
  // 100% CPU forever on a server that closed mid-CAPA (found by tests/fuzz/pop3_fuzz).
  if (t->line_too_long || t->eof || t->refused) return -1;
  ssize_t n = run_io(
      low, POLLIN, [&] { return SSL_read(t->ssl, buf, clamp_count(count)); },
      [&] { return ::recv(t->fd, buf, count, 0); });
  if (n == 0) t->eof = true;
  if (n <= 0) return n;
  if (t->inspector && !t->inspector(std::string_view(static_cast<const char*>(buf),
                                                     static_cast<size_t>(n)))) {
    t->refused = true;
    return -1;
  }
  // libetpan keeps reading until a LF, into memory: a server sending an endless line must not
  // take all of it.
  const char* data = static_cast<const char*>(buf);
  const void* lf = ::memrchr(data, '\n', static_cast<size_t>(n));
  if (lf != nullptr) {
    t->since_line_end = static_cast<size_t>(data + n - static_cast<const char*>(lf) - 1);
  } else {
    t->since_line_end += static_cast<size_t>(n);
  }
  if (t->since_line_end > kMaxLineOctets) {
    t->line_too_long = true;
    return -1;
  }
  return n;
}

ssize_t driver_write(mailstream_low* low, const void* buf, size_t count) {
  Transport* t = transport_of(low);
  ssize_t n = run_io(
      low, POLLOUT, [&] { return SSL_write(t->ssl, buf, clamp_count(count)); },
      [&] { return ::send(t->fd, buf, count, MSG_NOSIGNAL); });
  return n == 0 ? -1 : n;  // a write that moved nothing is a failure, never end of stream
}

int driver_close(mailstream_low* low) {
  Transport* t = transport_of(low);
  if (t->ssl != nullptr && t->fd >= 0) {
    SSL_shutdown(t->ssl);  // one non-blocking close_notify; the peer's answer is not awaited
    ERR_clear_error();
  }
  if (t->fd >= 0) ::close(t->fd);
  t->fd = -1;
  return 0;
}

int driver_get_fd(mailstream_low* low) { return transport_of(low)->fd; }

void driver_free(mailstream_low* low) {
  Transport* t = transport_of(low);
  if (t->fd >= 0) ::close(t->fd);
  SSL_free(t->ssl);
  delete t;
  free(low);  // allocated by mailstream_low_new with malloc
}

/// DER certificates of the peer, leaf first, as libetpan's own TLS drivers return them.
carray* driver_certificate_chain(mailstream_low* low) {
  Transport* t = transport_of(low);
  if (t->ssl == nullptr) return nullptr;
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(t->ssl);
  if (chain == nullptr) return nullptr;
  carray* result = carray_new(4);
  if (result == nullptr) return nullptr;
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    unsigned char* der = nullptr;
    int len = i2d_X509(sk_X509_value(chain, i), &der);
    if (len < 0) continue;
    MMAPString* str = mmap_string_new_len(reinterpret_cast<const char*>(der), len);
    OPENSSL_free(der);
    if (str == nullptr || carray_add(result, str, nullptr) < 0) {
      if (str != nullptr) mmap_string_free(str);
      mailstream_certificate_chain_free(result);
      return nullptr;
    }
  }
  return result;
}

mailstream_low_driver kDriver = {
    driver_read, driver_write, driver_close, driver_get_fd, driver_free,
    nullptr,  // cancel
    nullptr,  // get_cancel
    driver_certificate_chain,
    nullptr,  // setup_idle
    nullptr,  // unsetup_idle
    nullptr,  // interrupt_idle
};

/// Wraps fd (and ssl, taken over) in a mailstream_low of ours; on failure closes fd.
mailstream_low* new_low(int fd, SSL* ssl, int timeout_seconds) {
  auto* t = new Transport;
  t->fd = fd;
  t->ssl = ssl;
  mailstream_low* low = mailstream_low_new(t, &kDriver);
  if (low == nullptr) {
    ::close(fd);
    SSL_free(ssl);
    delete t;
    return nullptr;
  }
  mailstream_low_set_timeout(low, timeout_seconds > 0 ? timeout_seconds : 0);
  return low;
}

// ---------------------------------------------------------------- TLS setup and verification

Result<SslCtxPtr> make_context(const TlsSettings& tls) {
  int min_version = 0;
  if (tls.min_tls.empty() || tls.min_tls == "1.2") min_version = TLS1_2_VERSION;
  if (tls.min_tls == "1.3") min_version = TLS1_3_VERSION;
  if (min_version == 0) {
    return make_error(Kind::config, Scope::account,
                      "min_tls must be \"1.2\" or \"1.3\", not \"" + tls.min_tls + "\"");
  }
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return tls_error("cannot create a TLS context");
  SSL_CTX_set_min_proto_version(ctx.get(), min_version);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  int loaded = tls.ca_file.empty()
                   ? SSL_CTX_set_default_verify_paths(ctx.get())
                   : SSL_CTX_load_verify_locations(ctx.get(), tls.ca_file.c_str(), nullptr);
  if (loaded != 1) {
    ERR_clear_error();
    return tls_error("cannot load CA certificates from " +
                     (tls.ca_file.empty() ? std::string("the system store") : tls.ca_file));
  }
  return ctx;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

/// What the certificate must name: the host (and SNI), or the IP address for a literal.
Status expect_peer(SSL* ssl, const std::string& host) {
  if (is_ip_literal(host)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) != 1) {
      return tls_error("cannot verify against address " + host);
    }
    return {};
  }
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (SSL_set1_host(ssl, host.c_str()) != 1 || SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) {
    return tls_error("cannot verify against host name " + host);
  }
  return {};
}

Error handshake_error(SSL* ssl, const std::string& host) {
  long verify = SSL_get_verify_result(ssl);
  if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
    return tls_error("host name mismatch: certificate is not valid for " + host);
  }
  if (verify != X509_V_OK) {
    return tls_error(std::string("certificate verify failed: ") +
                     X509_verify_cert_error_string(verify));
  }
  unsigned long err = ERR_get_error();
  ERR_clear_error();
  if (err != 0) {
    const char* reason = ERR_reason_error_string(err);
    return tls_error(std::string("TLS handshake failed: ") + (reason ? reason : "unknown error"));
  }
  return tls_error("TLS handshake failed: connection closed by the server");
}

/// timeout_seconds, or libetpan's global delay when it is 0: no phase ever waits forever.
Deadline phase_deadline(int timeout_seconds) {
  return Deadline::after(timeout_seconds > 0 ? timeout_seconds
                                             : static_cast<int>(mailstream_network_delay.tv_sec));
}

Status handshake(SSL* ssl, int fd, const std::string& host, int timeout_seconds) {
  Deadline deadline = phase_deadline(timeout_seconds);
  for (;;) {
    ERR_clear_error();
    int r = SSL_connect(ssl);
    if (r == 1) return {};
    int err = SSL_get_error(ssl, r);
    short events = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (events == 0) return handshake_error(ssl, host);
    int ready = wait_fd(fd, events, deadline);
    if (ready == 0) return make_error(Kind::timeout, Scope::account, "TLS handshake timed out");
    if (ready < 0) return tls_error(std::string("TLS handshake failed: ") + std::strerror(errno));
  }
}

/// "SHA256:AB:CD:..." (colons optional, any case) as 32 bytes; empty on a malformed pin.
std::vector<unsigned char> parse_pin(const std::string& pin) {
  static constexpr char kPrefix[] = "SHA256:";
  if (pin.size() < sizeof(kPrefix) - 1 || strncasecmp(pin.c_str(), kPrefix, sizeof(kPrefix) - 1)) {
    return {};
  }
  std::string hex;
  for (char c : pin.substr(sizeof(kPrefix) - 1)) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return {};
    hex += c;
  }
  if (hex.size() != 64) return {};
  std::vector<unsigned char> bytes;
  for (size_t i = 0; i < hex.size(); i += 2) {
    bytes.push_back(static_cast<unsigned char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

Status check_pin(SSL* ssl, const std::string& pin) {
  std::vector<unsigned char> expected = parse_pin(pin);
  if (expected.empty()) {
    return make_error(Kind::config, Scope::account,
                      "fingerprint must be SHA256: followed by 32 hex bytes, not \"" + pin + "\"");
  }
  X509* leaf = SSL_get0_peer_certificate(ssl);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (leaf == nullptr || X509_digest(leaf, EVP_sha256(), digest, &len) != 1 ||
      len != expected.size() || std::memcmp(digest, expected.data(), len) != 0) {
    return tls_error("fingerprint mismatch");
  }
  return {};
}

// ---------------------------------------------------------------- TCP

Result<int> connect_one(const addrinfo* ai, const Deadline& deadline) {
  FdGuard fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                      ai->ai_protocol));
  if (fd.get() < 0) return make_error(Kind::connect, Scope::account, std::strerror(errno));
  if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return make_error(Kind::connect, Scope::account, std::strerror(errno));
    int ready = wait_fd(fd.get(), POLLOUT, deadline);
    if (ready == 0) return make_error(Kind::timeout, Scope::account, "timed out");
    int so_error = 0;
    socklen_t len = sizeof so_error;
    if (ready < 0) so_error = errno;
    else if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) so_error = errno;
    if (so_error != 0) return make_error(Kind::connect, Scope::account, std::strerror(so_error));
  }
  // Commands go out whole through the stream's buffer; Nagle would only add delay.
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd.release();
}

}  // namespace

Result<int> tcp_connect(const std::string& host, uint16_t port, int timeout_seconds) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
  // One deadline for the name lookup and the connect: a dead DNS server counts against
  // `timeout` like a dead mail server.
  Deadline deadline = phase_deadline(timeout_seconds);
  Resolved resolved = resolve(host, std::to_string(port), hints, deadline);
  if (!resolved.list) {
    return make_error(Kind::dns, Scope::account, "cannot resolve " + host + ": " + resolved.error);
  }
  AddrinfoList list = std::move(resolved.list);
  std::string where = host + ":" + std::to_string(port);
  Error last = make_error(Kind::connect, Scope::account, "no address");
  for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    Result<int> fd = connect_one(ai, deadline);
    if (fd) return fd;
    last = fd.error();
    if (last.kind == Kind::timeout) break;  // the deadline covers all addresses
  }
  last.text = "connect to " + where + ": " + last.text;
  return last;
}

std::string peer_address(int fd) {
  sockaddr_storage addr{};
  socklen_t length = sizeof addr;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) return {};
  char host[NI_MAXHOST];
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&addr), length, host, sizeof host, nullptr, 0,
                    NI_NUMERICHOST) != 0) {
    return {};
  }
  return host;
}

Result<mailstream_low*> tls_open(int fd, const std::string& host, const TlsSettings& tls,
                                 int timeout_seconds) {
  FdGuard guard(fd);
  Result<SslCtxPtr> ctx = make_context(tls);
  if (!ctx) return ctx.error();
  SslPtr ssl(SSL_new(ctx->get()));  // holds its own reference to the context
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1 || !set_nonblocking(fd)) {
    ERR_clear_error();
    return tls_error("cannot set up TLS on the connection");
  }
  if (Status s = expect_peer(ssl.get(), host); !s) return s.error();
  if (Status s = handshake(ssl.get(), fd, host, timeout_seconds); !s) return s.error();
  if (!tls.fingerprint.empty()) {
    if (Status s = check_pin(ssl.get(), tls.fingerprint); !s) return s.error();
  }
  mailstream_low* low = new_low(guard.release(), ssl.release(), timeout_seconds);
  if (low == nullptr) return make_error(Kind::internal, Scope::account, "out of memory");
  return low;
}

Result<SSL*> tls_unverified(int fd, const std::string& host, int timeout_seconds) {
  FdGuard guard(fd);
  TlsSettings any;
  Result<SslCtxPtr> ctx = make_context(any);
  if (!ctx) return ctx.error();
  SSL_CTX_set_verify(ctx->get(), SSL_VERIFY_NONE, nullptr);
  SslPtr ssl(SSL_new(ctx->get()));
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1 || !set_nonblocking(fd) ||
      (!is_ip_literal(host) && SSL_set_tlsext_host_name(ssl.get(), host.c_str()) != 1)) {
    ERR_clear_error();
    return tls_error("cannot set up TLS on the connection");
  }
  if (Status s = handshake(ssl.get(), fd, host, timeout_seconds); !s) return s.error();
  guard.release();  // SSL_free does not close it: the caller closes SSL_get_fd()
  return ssl.release();
}

Status tls_upgrade(mailstream* stream, const std::string& host, const TlsSettings& tls,
                   int timeout_seconds) {
  // Bytes that arrived with the STLS/STARTTLS OK were sent before the handshake and could be
  // an injected reply: abort (CVE-2020-15953).
  if (stream->read_buffer_len != 0) return tls_error("data injected before TLS handshake");
  mailstream_low* old = mailstream_get_low(stream);
  int fd = mailstream_low_get_fd(old);
  if (fd < 0) return tls_error("cannot start TLS: no connection");
  // A duplicate for TLS: on failure the old transport keeps its fd and is closed by the caller
  // as usual; on success closing the old fd leaves the connection open through the duplicate.
  int dup_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return tls_error(std::string("cannot start TLS: ") + std::strerror(errno));
  Result<mailstream_low*> low = tls_open(dup_fd, host, tls, timeout_seconds);
  if (!low) return low.error();
  if (old->driver == &kDriver) {
    transport_of(*low)->inspector = std::move(transport_of(old)->inspector);
    transport_of(*low)->limit = transport_of(old)->limit;
  }
  mailstream_set_low(stream, *low);
  mailstream_low_close(old);
  mailstream_low_free(old);
  return {};
}

mailstream* plain_stream(int fd) { return plain_stream(fd, 0); }

mailstream* plain_stream(int fd, int timeout_seconds) {
  if (!set_nonblocking(fd)) {
    ::close(fd);
    return nullptr;
  }
  mailstream_low* low = new_low(fd, nullptr, timeout_seconds);
  if (low == nullptr) return nullptr;
  mailstream* stream = mailstream_new(low, 16384);
  if (stream == nullptr) mailstream_low_free(low);
  return stream;
}

void set_read_inspector(mailstream* stream, ReadInspector inspector) {
  mailstream_low* low = stream != nullptr ? mailstream_get_low(stream) : nullptr;
  if (low != nullptr && low->driver == &kDriver) {
    transport_of(low)->inspector = std::move(inspector);
  }
}

void set_stream_deadline(mailstream* stream, const Deadline& deadline) {
  mailstream_low* low = stream != nullptr ? mailstream_get_low(stream) : nullptr;
  if (low != nullptr && low->driver == &kDriver) transport_of(low)->limit = deadline;
}

bool stream_deadline_passed(mailstream* stream) {
  mailstream_low* low = stream != nullptr ? mailstream_get_low(stream) : nullptr;
  return low != nullptr && low->driver == &kDriver && transport_of(low)->limit_passed;
}

bool stream_line_too_long(mailstream* stream) {
  mailstream_low* low = stream != nullptr ? mailstream_get_low(stream) : nullptr;
  return low != nullptr && low->driver == &kDriver && transport_of(low)->line_too_long;
}

bool stream_timed_out(mailstream* stream) {
  mailstream_low* low = stream != nullptr ? mailstream_get_low(stream) : nullptr;
  return low != nullptr && low->driver == &kDriver && transport_of(low)->timed_out;
}

void wipe_write_buffer(mailstream* stream) {
  if (stream == nullptr || stream->write_buffer == nullptr) return;
  // Octets queued but not yet sent stay (they still have to go out); after a flush, none.
  std::size_t queued = std::min(stream->write_buffer_len, stream->buffer_max_size);
  OPENSSL_cleanse(stream->write_buffer + queued, stream->buffer_max_size - queued);
}

SSL* stream_ssl(mailstream* stream) {
  mailstream_low* low = stream != nullptr ? mailstream_get_low(stream) : nullptr;
  return low != nullptr && low->driver == &kDriver ? transport_of(low)->ssl : nullptr;
}

bool stream_has_pending(mailstream* stream) {
  mailstream_low* low = stream != nullptr ? mailstream_get_low(stream) : nullptr;
  if (low == nullptr || low->driver != &kDriver) return false;
  SSL* ssl = transport_of(low)->ssl;
  return ssl != nullptr && SSL_pending(ssl) > 0;
}

}  // namespace clamfetch::fetch
