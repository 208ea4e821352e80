// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// For --doctor: what the verified TLS session of an account looks like, and a bare TCP
// connection test. Nothing here sends a byte of the protocol.

#include <openssl/bio.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <memory>

#include "fetch/tls.hpp"

namespace clamfetch::fetch {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};

/// An X.509 name as one RFC 2253 line, UTF-8 kept as is.
std::string name_text(const X509_NAME* name) {
  if (name == nullptr) return "(none)";
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
    return "(unreadable)";
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string("(empty)");
}

std::time_t expiry(const X509* leaf) {
  std::tm tm{};
  const ASN1_TIME* after = X509_get0_notAfter(leaf);
  if (after == nullptr || ASN1_TIME_to_tm(after, &tm) != 1) return 0;
  return timegm(&tm);
}

/// What `ssl`'s session and leaf certificate say.
TlsFacts facts_of(SSL* ssl) {
  TlsFacts facts;
  facts.protocol = SSL_get_version(ssl);
  const char* cipher = SSL_get_cipher_name(ssl);
  facts.cipher = cipher != nullptr ? cipher : "(unknown)";
  if (const X509* leaf = SSL_get0_peer_certificate(ssl)) {
    facts.subject = name_text(X509_get_subject_name(leaf));
    facts.issuer = name_text(X509_get_issuer_name(leaf));
    facts.not_after = expiry(leaf);
  }
  return facts;
}

}  // namespace

std::optional<TlsFacts> stream_tls_facts(mailstream* stream, const std::string& host, bool pinned) {
  SSL* ssl = stream_ssl(stream);
  if (ssl == nullptr) return std::nullopt;
  TlsFacts facts = facts_of(ssl);
  facts.verified_name = host;
  facts.pinned = pinned;
  return facts;
}

uint16_t session_port(const AccountSettings& settings) {
  if (settings.port != 0) return settings.port;
  bool implicit = settings.tls.mode == TlsMode::implicit;
  if (settings.protocol == Protocol::imap) return implicit ? 993 : 143;
  return implicit ? 995 : 110;
}

Result<std::string> check_connect(const AccountSettings& settings) {
  uint16_t port = session_port(settings);
  Result<int> fd = tcp_connect(settings.server, port, settings.timeout_seconds);
  if (!fd) return fd.error();
  ::close(*fd);
  return settings.server + ":" + std::to_string(port);
}

Result<TlsFacts> presented_certificate(const AccountSettings& settings) {
  if (settings.tls.mode != TlsMode::implicit) {
    return make_error(Kind::config, Scope::account, "implicit TLS only");
  }
  Result<int> fd = tcp_connect(settings.server, session_port(settings), settings.timeout_seconds);
  if (!fd) return fd.error();
  Result<SSL*> ssl = tls_unverified(*fd, settings.server, settings.timeout_seconds);
  if (!ssl) return ssl.error();
  TlsFacts facts = facts_of(*ssl);
  ::close(SSL_get_fd(*ssl));
  SSL_free(*ssl);
  return facts;
}

}  // namespace clamfetch::fetch
