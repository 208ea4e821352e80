// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Internal to fetch/: our transport under libetpan. TCP connect with a deadline, and an
// OpenSSL-backed mailstream_low driver that verifies chain, host name (SNI sent), minimum
// TLS version and an optional SHA-256 pin before returning. Debian's libetpan (GnuTLS)
// verifies nothing, so libetpan's own TLS is never used.

#include <libetpan/libetpan.h>
#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/deadline.hpp"
#include "core/error.hpp"
#include "fetch/fetch.hpp"

namespace clamfetch::fetch {

/// TCP connect to host:port within timeout. Returns the fd (caller owns).
/// Errors: Kind::dns (no such host), Kind::connect (refused, unreachable), Kind::timeout.
Result<int> tcp_connect(const std::string& host, uint16_t port, int timeout_seconds);

/// The numeric address of the peer of a connected socket ("192.0.2.1", "2001:db8::1"), or
/// empty when it cannot be read.
std::string peer_address(int fd);

/// Run the TLS handshake on a connected fd and verify it (chain against ca_file or the
/// system store, host name, min_tls, fingerprint). On success returns a mailstream_low that
/// owns the fd and the SSL object (freeing it closes both). On failure the fd is closed.
/// Errors: Kind::tls with a one-line reason ("certificate verify failed: ...",
/// "host name mismatch", "fingerprint mismatch"), Kind::timeout.
Result<mailstream_low*> tls_open(int fd, const std::string& host, const TlsSettings& tls,
                                 int timeout_seconds);

/// Upgrade an established plaintext mailstream after the protocol's STLS/STARTTLS OK:
/// refuses if bytes are already buffered (CVE-2020-15953), performs tls_open on its fd and
/// swaps the transport in with mailstream_set_low. Errors as tls_open, plus Kind::tls
/// "data injected before TLS handshake".
Status tls_upgrade(mailstream* stream, const std::string& host, const TlsSettings& tls,
                   int timeout_seconds);

/// A plaintext mailstream over a connected fd (tls = "none" with allow_plaintext, and the
/// first leg of STARTTLS). Owns the fd. Each read and write waits at most the low stream's
/// timeout (mailstream_low_set_timeout; 0: libetpan's mailstream_network_delay, 300 s).
/// Returns NULL (fd closed) when out of memory.
mailstream* plain_stream(int fd);

/// plain_stream with each read and write bounded by timeout_seconds (prefer this one).
mailstream* plain_stream(int fd, int timeout_seconds);

/// The longest run of received octets without a line end our transport accepts. libetpan
/// reads each protocol line whole into memory however long it gets; past this ceiling a read
/// fails (and every later one) instead. Message bodies rarely exceed 1 MB per line.
inline constexpr std::size_t kMaxLineOctets = std::size_t{64} << 20;

/// True if a read on `stream` (one of ours) failed because the server sent more than
/// kMaxLineOctets without a line end: a protocol error, not a lost connection.
bool stream_line_too_long(mailstream* stream);

/// Sees every chunk our transport receives on a stream, before libetpan does; returning false
/// fails that read and every later one, so the chunk never reaches libetpan's parser. Must
/// not throw.
using ReadInspector = std::function<bool(std::string_view)>;

/// Installs `inspector` on `stream` (one of ours: plain_stream, tls_open); it moves along
/// with a tls_upgrade. The caller keeps whatever it captures alive as long as the stream.
void set_read_inspector(mailstream* stream, ReadInspector inspector);

/// True if the last failed read or write on `stream` (one of ours: plain_stream, tls_open,
/// tls_upgrade) failed because the peer stayed silent past the timeout. Lets a protocol
/// turn libetpan's generic stream error into Kind::timeout.
bool stream_timed_out(mailstream* stream);

/// Bounds every later read and write on `stream` (one of ours) by `deadline` as well as by
/// the per-read timeout: a server that keeps sending a byte now and then cannot hold a
/// session for ever. Deadline() lifts the bound; it moves along with a tls_upgrade. A read
/// or write the deadline stops fails (and so does every one after it until the deadline is
/// moved), with stream_timed_out() and stream_deadline_passed() true.
void set_stream_deadline(mailstream* stream, const Deadline& deadline);

/// True if the last failed read or write on `stream` (one of ours) was stopped by the
/// deadline of set_stream_deadline, not by the per-read timeout.
bool stream_deadline_passed(mailstream* stream);

/// Overwrites the unused part of `stream`'s write buffer (all of it after a flush) with
/// zeros: after a login it still holds the octets last written - the password - until later
/// commands overwrite them.
void wipe_write_buffer(mailstream* stream);

/// The facts of `stream`'s TLS session (one of ours after tls_open / tls_upgrade), for
/// Session::tls_facts(); nullopt for a plaintext stream. `host` is what was verified.
std::optional<TlsFacts> stream_tls_facts(mailstream* stream, const std::string& host,
                                         bool pinned);

/// For --doctor after a failed verification: a handshake on `fd` that verifies nothing, to
/// show what the server presents. Only ever followed by closing: nothing is sent over it.
/// Returns the SSL object (caller frees it and closes the fd); on failure the fd is closed.
Result<SSL*> tls_unverified(int fd, const std::string& host, int timeout_seconds);

/// The SSL object under `stream` (one of ours), or null for a plaintext one. Not owned.
SSL* stream_ssl(mailstream* stream);

/// True if OpenSSL holds decrypted bytes of `stream` (one of ours under TLS) that no read has
/// taken yet: poll() on the socket would not report them.
bool stream_has_pending(mailstream* stream);

}  // namespace clamfetch::fetch
