// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// POP3 logins beyond USER/PASS (see pop3_auth.hpp): the choice of mechanism, AUTH PLAIN,
// AUTH LOGIN and APOP over our own Pop3Wire. Secrets live in std::strings that are wiped
// with OPENSSL_cleanse before they go; the trace shows "********" in their place.

#include "fetch/pop3_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <utility>

namespace clamfetch::fetch {
namespace {

constexpr const char* kMasked = "********";
/// RFC 2449 4: a command line is at most 255 octets, CRLF included.
constexpr std::size_t kMaxCommandLine = 255;

/// A std::string holding a secret, wiped when it goes out of scope.
struct Secret {
  std::string text;
  ~Secret() { OPENSSL_cleanse(text.data(), text.size()); }
};

Error protocol_error(std::string text) {
  return make_error(Kind::protocol, Scope::account, std::move(text));
}

Error auth_error(std::string text) { return make_error(Kind::auth, Scope::account, std::move(text)); }

/// Sends one command (masked as `shown` when it carries a secret) and reads the SASL reply.
Result<Pop3Reply> exchange(Pop3Wire& wire, std::string_view command, std::string_view shown) {
  if (Status s = wire.send(command, shown); !s) return s.error();
  if (Status s = wire.flush(); !s) return s.error();
  return wire.read_sasl_reply();
}

/// The end of an exchange: a status line; a challenge here means the server is out of step.
Result<Pop3Reply> final_status(Result<Pop3Reply> reply, const char* mechanism) {
  if (reply && reply->more) {
    return protocol_error(std::string("unexpected challenge after the ") + mechanism +
                          " credentials: + " + printable(reply->text));
  }
  return reply;
}

/// A challenge was due: a -ERR ends the exchange (the caller judges it), +OK is out of step.
bool challenge_expected(const Result<Pop3Reply>& reply, Error& unexpected, const char* mechanism) {
  if (!reply || reply->more || !reply->ok) return true;
  unexpected = protocol_error(std::string("+OK before the ") + mechanism + " credentials were sent");
  return false;
}

}  // namespace

std::string apop_timestamp(std::string_view greeting) {
  std::size_t begin = greeting.find('<');
  if (begin == std::string_view::npos) return {};
  std::size_t end = greeting.find('>', begin);
  if (end == std::string_view::npos) return {};
  std::string_view stamp = greeting.substr(begin, end - begin + 1);
  if (stamp.size() > kMaxApopTimestamp || stamp.size() < 5) return {};  // "<a@b>" at least
  std::string_view inside = stamp.substr(1, stamp.size() - 2);
  if (inside.find('@') == std::string_view::npos) return {};
  for (unsigned char c : inside) {
    if (c < 0x21 || c > 0x7e || c == '<') return {};
  }
  return std::string(stamp);
}

Result<std::string> apop_digest(std::string_view timestamp, std::string_view secret) {
  Secret input;
  input.text.reserve(timestamp.size() + secret.size());  // one buffer, wiped on the way out
  input.text.append(timestamp).append(secret);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(input.text.data(), input.text.size(), md, &length, EVP_md5(), nullptr) != 1 ||
      length != 16) {
    return make_error(Kind::internal, Scope::account, "MD5 unavailable for APOP");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 0x0f];
  }
  OPENSSL_cleanse(md, sizeof md);
  return hex;
}

std::string plain_response(std::string_view user, std::string_view password) {
  Secret message;
  message.text.reserve(user.size() + password.size() + 2);
  message.text.append(1, '\0').append(user).append(1, '\0').append(password);
  return base64(message.text);
}

Result<Pop3Login> choose_pop3_login(AuthMethod wanted, bool under_tls,
                                    const std::set<std::string>& sasl, bool has_timestamp) {
  bool plain = sasl.count("PLAIN") != 0;
  bool login = sasl.count("LOGIN") != 0;
  switch (wanted) {
    case AuthMethod::automatic:
      // SASL over plaintext only when asked for by name: auto keeps today's USER/PASS there.
      if (under_tls && plain) return Pop3Login::auth_plain;
      if (under_tls && login) return Pop3Login::auth_login;
      return Pop3Login::user_pass;
    case AuthMethod::password:
      return Pop3Login::user_pass;
    case AuthMethod::plain:
      if (!plain) return auth_error("server offers no AUTH PLAIN");
      return Pop3Login::auth_plain;
    case AuthMethod::login:
      if (!login) return auth_error("server offers no AUTH LOGIN");
      return Pop3Login::auth_login;
    case AuthMethod::apop:
      if (!has_timestamp) return auth_error("server offers no APOP (no timestamp in its greeting)");
      return Pop3Login::apop;
    case AuthMethod::oauth2: {
      // A bearer token is as good as a password to whoever sees it: never in the clear.
      if (!under_tls) return auth_error("OAuth2 is refused without TLS");
      Result<OAuthMechanism> mechanism =
          choose_oauth_mechanism(sasl.count("OAUTHBEARER") != 0, sasl.count("XOAUTH2") != 0);
      if (!mechanism) return mechanism.error();
      return Pop3Login::oauth2;
    }
  }
  return Pop3Login::user_pass;
}

Result<Pop3Reply> pop3_auth_plain(Pop3Wire& wire, std::string_view user, std::string_view password) {
  Secret response{plain_response(user, password)};
  Secret command{"AUTH PLAIN " + response.text};
  if (command.text.size() + 2 <= kMaxCommandLine) {
    return final_status(exchange(wire, command.text, "AUTH PLAIN ********"), "AUTH PLAIN");
  }
  // Too long for one command line (RFC 5034 4): the response follows the empty challenge.
  Result<Pop3Reply> challenge = exchange(wire, "AUTH PLAIN", {});
  Error unexpected;
  if (!challenge_expected(challenge, unexpected, "AUTH PLAIN")) return unexpected;
  if (!challenge || !challenge->more) return challenge;
  return final_status(exchange(wire, response.text, kMasked), "AUTH PLAIN");
}

Result<Pop3Reply> pop3_auth_login(Pop3Wire& wire, std::string_view user, std::string_view password) {
  Result<Pop3Reply> reply = exchange(wire, "AUTH LOGIN", {});
  Error unexpected;
  if (!challenge_expected(reply, unexpected, "AUTH LOGIN")) return unexpected;
  if (!reply || !reply->more) return reply;
  Secret name{base64(user)};
  reply = exchange(wire, name.text, kMasked);
  if (!challenge_expected(reply, unexpected, "AUTH LOGIN")) return unexpected;
  if (!reply || !reply->more) return reply;
  Secret secret{base64(password)};
  return final_status(exchange(wire, secret.text, kMasked), "AUTH LOGIN");
}

Result<Pop3Reply> pop3_apop(Pop3Wire& wire, std::string_view user, std::string_view timestamp,
                            std::string_view password) {
  Result<std::string> digest = apop_digest(timestamp, password);
  if (!digest) return digest.error();
  Secret command{"APOP " + std::string(user) + " " + *digest};
  OPENSSL_cleanse(digest->data(), digest->size());
  std::string shown = "APOP " + printable(user) + " " + kMasked;
  return final_status(exchange(wire, command.text, shown), "APOP");
}

namespace {

/// After a failure challenge: decode it, answer it, and read the server's final refusal.
Result<Pop3OAuthReply> answer_failure(Pop3Wire& wire, OAuthMechanism mechanism,
                                      const std::string& challenge) {
  Pop3OAuthReply out;
  Result<OAuthFailure> failure = decode_oauth_failure(challenge);
  if (failure) out.failure = *failure;  // an undecodable one still gets its answer
  Result<Pop3Reply> reply = exchange(wire, base64(oauth_failure_answer(mechanism)), {});
  if (!reply) return reply.error();
  if (reply->more) return protocol_error("a second challenge after the OAuth2 failure");
  out.status = *reply;
  return out;
}

/// The server's answer to the response line: success, refusal, or a failure challenge.
Result<Pop3OAuthReply> after_response(Pop3Wire& wire, OAuthMechanism mechanism,
                                      Result<Pop3Reply> reply) {
  if (!reply) return reply.error();
  if (reply->more) return answer_failure(wire, mechanism, reply->text);
  return Pop3OAuthReply{*reply, std::nullopt};
}

}  // namespace

Result<Pop3OAuthReply> pop3_auth_oauth(Pop3Wire& wire, OAuthMechanism mechanism,
                                       std::string_view response, bool& two_step) {
  std::string name = std::string("AUTH ") + oauth_mechanism_name(mechanism);
  Secret encoded{base64(response)};
  Secret command{name + " " + encoded.text};
  if (!two_step && command.text.size() + 2 <= kMaxCommandLine) {
    Result<Pop3Reply> reply = exchange(wire, command.text, name + " " + kMasked);
    if (!reply || reply->more || reply->ok) return after_response(wire, mechanism, std::move(reply));
    two_step = true;  // refused without a word on the token: try the two-step form once
  }
  Result<Pop3Reply> challenge = exchange(wire, name, {});
  Error unexpected;
  if (!challenge_expected(challenge, unexpected, name.c_str())) return unexpected;
  if (!challenge) return challenge.error();
  if (!challenge->more) return Pop3OAuthReply{*challenge, std::nullopt};
  return after_response(wire, mechanism, exchange(wire, encoded.text, kMasked));
}

}  // namespace clamfetch::fetch
