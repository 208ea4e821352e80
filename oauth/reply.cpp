// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "oauth/reply.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <optional>

namespace clamfetch::oauth {
namespace {

using Json = nlohmann::json;

Error malformed(const std::string& what) {
  return make_error(Kind::protocol, Scope::account, "OAuth2 server reply " + what);
}

// Parses without exceptions (none may cross the module boundary): a discarded value is a
// parse error.
std::optional<Json> parse_object(std::string_view body) {
  Json json = Json::parse(body.begin(), body.end(), nullptr, false);
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  return json;
}

// Optional string member; false if present with another type.
bool get_string(const Json& json, const char* key, std::string& out) {
  auto it = json.find(key);
  if (it == json.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  out = it->get<std::string>();
  return true;
}

// Optional non-negative integer member; some servers send numbers as strings ("3599").
bool get_seconds(const Json& json, const char* key, std::int64_t& out) {
  auto it = json.find(key);
  if (it == json.end() || it->is_null()) return true;
  if (it->is_number_integer() || it->is_number_unsigned()) {
    if (it->is_number_integer() && it->get<std::int64_t>() < 0) return false;
    out = it->is_number_unsigned() && it->get<std::uint64_t>() > 1u << 30
              ? std::int64_t{1} << 30
              : it->get<std::int64_t>();
    return true;
  }
  if (!it->is_string()) return false;
  const std::string& text = it->get_ref<const std::string&>();
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return false;
  out = value;
  return true;
}

// The OAuth error members (RFC 6749 5.2), if this is an error object.
bool read_error(const Json& json, TokenReply& reply) {
  if (!get_string(json, "error", reply.error)) return false;
  std::string description;
  if (!get_string(json, "error_description", description)) return false;
  reply.error = one_line(reply.error, 64);
  reply.error_description = one_line(description);
  return true;
}

}  // namespace

std::string one_line(std::string_view text, std::size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

Result<TokenReply> decode_token_reply(long http_status, std::string_view body) {
  auto json = parse_object(body);
  if (!json) {
    if (http_status >= 500)
      return make_error(Kind::server, Scope::account,
                        "OAuth2 token endpoint answered HTTP " + std::to_string(http_status));
    return malformed("is not a JSON object (HTTP " + std::to_string(http_status) + ")");
  }
  TokenReply reply;
  if (!read_error(*json, reply)) return malformed("has a malformed error member");
  if (!reply.error.empty()) return reply;
  if (http_status < 200 || http_status > 299)
    return malformed("has HTTP status " + std::to_string(http_status) + " and no error code");
  std::string token_type;
  if (!get_string(*json, "access_token", reply.access_token) ||
      !get_string(*json, "refresh_token", reply.refresh_token) ||
      !get_string(*json, "scope", reply.scope) || !get_string(*json, "token_type", token_type) ||
      !get_seconds(*json, "expires_in", reply.expires_in))
    return malformed("has a member of the wrong type");
  if (reply.access_token.empty()) return malformed("has no access_token");
  // RFC 6749 5.1: token_type is case-insensitive; a mail server takes bearer tokens only.
  std::string lower;
  for (char c : token_type) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  if (!token_type.empty() && lower != "bearer")
    return malformed("has token_type " + one_line(token_type, 32) + ", not Bearer");
  return reply;
}

Result<DeviceReply> decode_device_reply(long http_status, std::string_view body) {
  auto json = parse_object(body);
  if (!json) {
    if (http_status >= 500)
      return make_error(Kind::server, Scope::account,
                        "OAuth2 device endpoint answered HTTP " + std::to_string(http_status));
    return malformed("is not a JSON object (HTTP " + std::to_string(http_status) + ")");
  }
  TokenReply error;
  if (!read_error(*json, error)) return malformed("has a malformed error member");
  if (!error.error.empty()) {
    std::string text = "OAuth2 device authorization refused: " + error.error;
    if (!error.error_description.empty()) text += " (" + error.error_description + ")";
    return make_error(http_status >= 500 ? Kind::server : Kind::auth, Scope::account, text);
  }
  if (http_status < 200 || http_status > 299)
    return malformed("has HTTP status " + std::to_string(http_status) + " and no error code");
  DeviceReply reply;
  if (!get_string(*json, "device_code", reply.device_code) ||
      !get_string(*json, "user_code", reply.user_code) ||
      !get_string(*json, "verification_uri", reply.verification_uri) ||
      !get_string(*json, "verification_uri_complete", reply.verification_uri_complete) ||
      !get_seconds(*json, "expires_in", reply.expires_in) ||
      !get_seconds(*json, "interval", reply.interval))
    return malformed("has a member of the wrong type");
  if (reply.verification_uri.empty() && !get_string(*json, "verification_url", reply.verification_uri))
    return malformed("has a member of the wrong type");
  if (reply.device_code.empty() || reply.user_code.empty() || reply.verification_uri.empty())
    return malformed("lacks device_code, user_code or verification_uri");
  reply.user_code = one_line(reply.user_code, 64);
  reply.verification_uri = one_line(reply.verification_uri, 512);
  reply.verification_uri_complete = one_line(reply.verification_uri_complete, 512);
  if (reply.interval == 0) reply.interval = 5;
  return reply;
}

}  // namespace clamfetch::oauth
