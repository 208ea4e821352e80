// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// POP3 LIST and UIDL read by us (see pop3_list in pop3_wire.hpp for why not libetpan's).
// A hostile or broken server gets a protocol error; memory stays proportional to the lines
// actually received, with a hard ceiling on their number.

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "fetch/pop3_wire.hpp"

namespace clamfetch::fetch {
namespace {

constexpr uint64_t kMaxNumber = 10'000'000;    // message numbers beyond any real maildrop
constexpr std::size_t kMaxMessages = 1'000'000;  // lines of one listing

Error protocol_error(std::string text) {
  return make_error(Kind::protocol, Scope::account, std::move(text));
}

/// Leading decimal digits of `text` (consumed); saturates at UINT64_MAX. False if none.
bool take_number(std::string_view& text, uint64_t& value) {
  std::size_t digits = 0;
  value = 0;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    uint64_t digit = static_cast<uint64_t>(text[digits] - '0');
    value = value > (kMax - digit) / 10 ? kMax : value * 10 + digit;
    ++digits;
  }
  text.remove_prefix(digits);
  return digits > 0;
}

/// "n rest": the message number (1..kMaxNumber) and, after one or more spaces, the rest.
bool split_number(std::string_view line, uint32_t& number, std::string_view& rest) {
  uint64_t value = 0;
  if (!take_number(line, value) || value == 0 || value > kMaxNumber) return false;
  if (line.empty() || line.front() != ' ') return false;
  while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  number = static_cast<uint32_t>(value);
  rest = line;
  return true;
}

/// The status line and the lines of one multi-line listing; `ok` false for -ERR.
struct Listing {
  bool ok = false;
  std::string text;
  std::map<uint32_t, std::string> lines;  ///< the rest of each line, by message number
};

Result<Listing> read_listing(Pop3Wire& wire, std::string_view command) {
  Result<Pop3Reply> reply = wire.read_status();
  if (!reply) return reply.error();
  Listing listing;
  listing.ok = reply->ok;
  listing.text = reply->text;
  if (!reply->ok) return listing;
  for (;;) {
    Result<std::optional<std::string>> line = wire.read_listing_line();
    if (!line) return line.error();
    if (!line->has_value()) return listing;
    uint32_t number = 0;
    std::string_view rest;
    if (!split_number(**line, number, rest)) {
      return protocol_error("malformed " + std::string(command) + " line: " + printable(**line));
    }
    if (listing.lines.size() >= kMaxMessages) {
      return protocol_error("server lists more than " + std::to_string(kMaxMessages) +
                            " messages in " + std::string(command));
    }
    if (!listing.lines.emplace(number, std::string(rest)).second) {
      return protocol_error(std::string(command) + " names message " + std::to_string(number) +
                            " twice");
    }
  }
}

}  // namespace

Result<std::vector<Pop3Listed>> pop3_list(Pop3Wire& wire, bool pipelining) {
  if (Status s = wire.send("LIST"); !s) return s.error();
  if (pipelining) {
    if (Status s = wire.send("UIDL"); !s) return s.error();
  }
  if (Status s = wire.flush(); !s) return s.error();
  Result<Listing> sizes = read_listing(wire, "LIST");
  if (!sizes) return sizes.error();
  if (!pipelining && sizes->ok) {
    if (Status s = wire.send("UIDL"); !s) return s.error();
    if (Status s = wire.flush(); !s) return s.error();
  }
  // Pipelined, the UIDL answer is read even after a refused LIST: the stream stays in step.
  Result<Listing> uids = pipelining || sizes->ok ? read_listing(wire, "UIDL") : Listing{};
  if (!uids) return uids.error();
  if (!sizes->ok) {
    return make_error(Kind::server, Scope::account, "LIST refused: -ERR " + printable(sizes->text));
  }
  std::vector<Pop3Listed> listed;
  listed.reserve(sizes->lines.size());
  for (auto& [number, rest] : sizes->lines) {
    std::string_view text = rest;
    uint64_t size = 0;
    if (!take_number(text, size) || (!text.empty() && text.front() != ' ')) {
      return protocol_error("malformed LIST line: " + std::to_string(number) + " " +
                            printable(rest));
    }
    Pop3Listed entry{number, size, std::nullopt};
    if (auto found = uids->lines.find(number); found != uids->lines.end()) {
      entry.uid = std::move(found->second);
    }
    listed.push_back(std::move(entry));
  }
  return listed;
}

}  // namespace clamfetch::fetch
