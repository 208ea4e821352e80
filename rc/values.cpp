// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Small value parsers shared by the schema and the importer: sizes, durations, MTA targets,
// addresses and fingerprints.

#include <cctype>
#include <charconv>
#include <limits>

#include "rc/checker.hpp"
#include "rc/rc.hpp"

namespace clamfetch::rc {
namespace {

Error value_error(std::string text) { return make_error(Kind::config, Scope::run, std::move(text)); }

/// Digits then at most one suffix character; multiplier from `units`. Nothing on failure.
std::optional<uint64_t> number_with_unit(std::string_view text, std::string_view units,
                                         const uint64_t* multipliers) {
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  std::string_view rest(end, static_cast<size_t>(text.data() + text.size() - end));
  if (rest.empty()) return number;
  if (rest.size() != 1) return std::nullopt;
  size_t unit = units.find(rest[0]);
  if (unit == std::string_view::npos) return std::nullopt;
  if (number > std::numeric_limits<uint64_t>::max() / multipliers[unit]) return std::nullopt;
  return number * multipliers[unit];
}

std::optional<uint16_t> port_number(std::string_view text) {
  unsigned port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port < 1 || port > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(port);
}

bool valid_host(std::string_view host) {
  if (host.empty()) return false;
  for (char c : host) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '/' || c == '[' || c == ']') return false;
  }
  return true;
}

/// "host:port" or "[v6]:port" into `target`; false when malformed.
bool split_host_port(std::string_view text, MtaTarget& target) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return false;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (host.empty()) return false;
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (!valid_host(host) || host.find(':') != std::string_view::npos) return false;
  }
  auto number = port_number(port);
  if (!number) return false;
  target.host = std::string(host);
  target.port = *number;
  return true;
}

}  // namespace

Result<uint64_t> parse_size(std::string_view text) {
  static constexpr uint64_t kMultipliers[] = {1ull << 10, 1ull << 10, 1ull << 20, 1ull << 20,
                                              1ull << 30, 1ull << 30};
  if (auto value = number_with_unit(text, "KkMmGg", kMultipliers)) return *value;
  return value_error("invalid size " + detail::quoted(text) +
                     ": expected bytes, or a number followed by K, M or G (\"25M\")");
}

Result<uint64_t> parse_duration(std::string_view text) {
  static constexpr uint64_t kMultipliers[] = {1, 60, 3600, 86400};
  if (auto value = number_with_unit(text, "smhd", kMultipliers)) return *value;
  return value_error("invalid duration " + detail::quoted(text) +
                     ": expected seconds, or a number followed by s, m, h or d (\"30d\")");
}

Result<MtaTarget> parse_mta_target(std::string_view text) {
  MtaTarget target;
  target.text = std::string(text);
  bool ok = false;
  if (text.substr(0, 5) == "lmtp:") {
    std::string_view rest = text.substr(5);
    if (!rest.empty() && rest.front() == '/') {
      target.kind = MtaTarget::Kind::lmtp_unix;
      target.path = std::string(rest);
      target.host.clear();
      target.port = 0;
      ok = rest.size() > 1;
    } else {
      target.kind = MtaTarget::Kind::lmtp_tcp;
      ok = split_host_port(rest, target);
    }
  } else {
    ok = split_host_port(text, target);
  }
  if (ok) return target;
  return value_error("invalid smtphost " + detail::quoted(text) +
                     ": expected \"host:port\", \"lmtp:host:port\" or \"lmtp:/path/to/socket\"");
}

namespace detail {

bool is_address(std::string_view text) {
  size_t at = text.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == text.size()) return false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string quoted(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      out += "\\u00";
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

bool is_sha256_fingerprint(std::string_view text) {
  static constexpr std::string_view kPrefix = "SHA256:";
  if (text.substr(0, kPrefix.size()) != kPrefix) return false;
  std::string_view hex = text.substr(kPrefix.size());
  if (hex.size() != 32 * 3 - 1) return false;
  for (size_t i = 0; i < hex.size(); ++i) {
    bool separator = i % 3 == 2;
    if (separator ? hex[i] != ':' : !std::isxdigit(static_cast<unsigned char>(hex[i]))) return false;
  }
  return true;
}

uint16_t default_port(Protocol protocol, TlsMode tls) {
  bool implicit = tls == TlsMode::implicit;
  if (protocol == Protocol::pop3) return implicit ? 995 : 110;
  return implicit ? 993 : 143;
}

}  // namespace detail
}  // namespace clamfetch::rc
