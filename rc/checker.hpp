// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Internal to rc/: reads typed values out of the tree and collects one error line per problem,
// "name:line:col: message", so that --check-config can show them all at once.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rc/rc.hpp"
#include "rc/tree.hpp"

namespace clamfetch::rc::detail {

/// The names of an rc file's sections as they appear in messages.
inline constexpr const char* kTopLevel = "the top level";

class Checker {
 public:
  explicit Checker(std::string name) : name_(std::move(name)) {}

  void error(Where where, const std::string& message);
  bool failed() const { return !lines_.empty(); }
  /// All errors, one per line (at most kMaxErrors), as Kind::config.
  Error to_error() const;

  /// `key` is not among `known` in `section`: an error with a did-you-mean for near misses.
  void unknown(const Member& member, const char* section, const std::vector<std::string_view>& known);

  // Typed reads: on a wrong type or value they record an error and return nothing.
  std::optional<std::string> string(const Member& m);
  std::optional<bool> boolean(const Member& m);
  std::optional<int64_t> integer(const Member& m, int64_t min, int64_t max);
  /// An array of strings; with `single_ok`, a lone string is a one-element array.
  std::optional<std::vector<std::string>> strings(const Member& m, bool single_ok);
  /// A size: integer bytes or "25M"-style string.
  std::optional<uint64_t> size(const Member& m);
  /// A duration: integer seconds or "30d"-style string.
  std::optional<uint64_t> duration(const Member& m);
  /// One of `names`; returns its index.
  std::optional<size_t> choice(const Member& m, std::initializer_list<const char*> names);
  /// An address with '@'.
  std::optional<std::string> address(const Member& m);

  /// True (and an error recorded) when the member is not a table.
  bool not_table(const Member& m);

 private:
  void wrong_type(const Member& m, const char* wanted);

  std::string name_;
  std::vector<std::string> lines_;
};

inline constexpr size_t kMaxErrors = 20;

/// Levenshtein distance, for did-you-mean.
size_t edit_distance(std::string_view a, std::string_view b);
/// "user@domain" with both sides non-empty and no spaces.
bool is_address(std::string_view text);
/// `"text"` with quotes and backslashes escaped, as TOML and messages write strings.
std::string quoted(std::string_view text);
/// "SHA256:" followed by 32 colon-separated hex pairs.
bool is_sha256_fingerprint(std::string_view text);
/// The port used when Poll::port is 0.
uint16_t default_port(Protocol protocol, TlsMode tls);

// Section readers (schema.cpp, schema_poll.cpp).
void read_global(Checker& check, const Node& table, Global& global);
void read_scan(Checker& check, const Node& table, Scan& scan);
/// Apply a user-level option (defaults, poll or user); false when `m` is not one.
bool read_user_option(Checker& check, const Member& m, User& user);
void read_polls(Checker& check, const Node& array, const User& defaults, std::vector<Poll>& polls);
/// A [poll.user.oauth] table (schema_oauth.cpp); nullopt when it is not a table. Errors (one
/// line each) for unknown keys and values, and for impossible combinations.
std::optional<OAuth> read_oauth(Checker& check, const Member& table);

/// Keys every level of user options accepts ([defaults], [[poll]], [[poll.user]]).
inline const std::vector<std::string_view> kUserOptionKeys{
    "timeout", "antispam", "batchlimit", "fetchlimit", "limit",
    "keep",    "fetchall", "smtphost",   "folders"};
/// `keys` followed by kUserOptionKeys.
std::vector<std::string_view> with_user_options(std::vector<std::string_view> keys);

}  // namespace clamfetch::rc::detail
