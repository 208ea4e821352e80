// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// OAUTHBEARER / XOAUTH2 messages and the decoding of their failure challenges (oauth_sasl.hpp).
// The JSON is parsed with nlohmann-json, exceptions off: a hostile server's reply is a value
// to judge, never an exception.

#include "fetch/oauth_sasl.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace clamfetch::fetch {
namespace {

constexpr std::size_t kMaxToken = 16384;
/// A failure challenge is a short JSON object; anything much longer is not one.
constexpr std::size_t kMaxChallenge = 8192;
constexpr std::size_t kMaxField = 200;

std::string printable_field(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxField)) {
    auto octet = static_cast<unsigned char>(c);
    out += octet >= 0x20 && octet < 0x7f ? c : '?';
  }
  return out;
}

/// RFC 5801 saslname: ',' and '=' escaped.
std::string sasl_name(std::string_view user) {
  std::string out;
  for (char c : user) {
    if (c == ',') {
      out += "=2C";
    } else if (c == '=') {
      out += "=3D";
    } else {
      out += c;
    }
  }
  return out;
}

/// A member of the challenge object as text: strings as they are, numbers ("status": 401) as
/// written; anything else is ignored.
std::string member(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return {};
  if (it->is_string()) return printable_field(it->get_ref<const std::string&>());
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return {};
}

}  // namespace

const char* oauth_mechanism_name(OAuthMechanism mechanism) {
  return mechanism == OAuthMechanism::oauthbearer ? "OAUTHBEARER" : "XOAUTH2";
}

Result<OAuthMechanism> choose_oauth_mechanism(bool offers_oauthbearer, bool offers_xoauth2) {
  if (offers_oauthbearer) return OAuthMechanism::oauthbearer;
  if (offers_xoauth2) return OAuthMechanism::xoauth2;
  return make_error(Kind::auth, Scope::account, "server offers neither OAUTHBEARER nor XOAUTH2");
}

bool usable_token(std::string_view token) {
  return !token.empty() && token.size() <= kMaxToken &&
         std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::string oauth_initial_response(OAuthMechanism mechanism, std::string_view user,
                                   std::string_view host, uint16_t port, std::string_view token) {
  std::string out;
  out.reserve(user.size() + host.size() + token.size() + 64);  // one buffer: wiped by the caller
  if (mechanism == OAuthMechanism::oauthbearer) {
    out.append("n,a=").append(sasl_name(user)).append(",\x01host=").append(host);
    out.append("\x01port=").append(std::to_string(port)).append("\x01");
  } else {
    out.append("user=").append(user).append("\x01");
  }
  out.append("auth=Bearer ").append(token).append("\x01\x01");
  return out;
}

std::string_view oauth_failure_answer(OAuthMechanism mechanism) {
  return mechanism == OAuthMechanism::oauthbearer ? std::string_view("\x01") : std::string_view();
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool pad_ok = c == '=' && i + 2 >= text.size() && (i + 1 == text.size() || text[i + 1] == '=');
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || pad_ok)) {
      return std::nullopt;
    }
  }
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero octets: drop them.
  std::size_t padding = text.size() - (text.find_last_not_of('=') + 1);
  out.resize(static_cast<std::size_t>(n) - std::min<std::size_t>(padding, static_cast<std::size_t>(n)));
  return out;
}

Result<OAuthFailure> decode_oauth_failure(std::string_view base64_challenge) {
  auto protocol = [](const char* what) { return make_error(Kind::protocol, Scope::account, what); };
  if (base64_challenge.size() > kMaxChallenge) return protocol("OAuth failure challenge too long");
  std::optional<std::string> json_text = base64_decode(base64_challenge);
  if (!json_text) return protocol("OAuth failure challenge is not base64");
  nlohmann::json object = nlohmann::json::parse(*json_text, nullptr, /*allow_exceptions=*/false);
  if (!object.is_object()) return protocol("OAuth failure challenge is not a JSON object");
  OAuthFailure failure;
  failure.status = member(object, "status");
  failure.scope = member(object, "scope");
  failure.openid_configuration = member(object, "openid-configuration");
  return failure;
}

std::string describe_oauth_failure(const OAuthFailure& failure) {
  std::string out;
  if (!failure.status.empty()) out += "status " + failure.status;
  if (!failure.scope.empty()) out += (out.empty() ? "" : ", ") + std::string("scope ") + failure.scope;
  return out;
}

}  // namespace clamfetch::fetch
