// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Internal to rc/: fetchmail's rc grammar (rcfile_l.l / rcfile_y.y, fetchmail 6.4) read into a
// plain model, then written as clamfetch TOML (fetchmailrc_emit.cpp).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace clamfetch::rc::fetchmailrc {

struct Token {
  enum class Type { keyword, string, number, map, end };
  Type type = Type::end;
  std::string text;  ///< canonical keyword, or the unescaped string
  std::string spelled;  ///< a keyword as written ("smtp" for smtphost), for messages
  int64_t number = 0;
  unsigned line = 0;
  unsigned column = 0;
};

/// Split a fetchmailrc into tokens (noise words and `;:,` dropped, escapes processed).
/// Errors: Kind::config "name:line:col: ..." (unterminated string, number out of range).
Result<std::vector<Token>> tokenize(std::string_view text, const std::string& name);

/// User-level options; unset ones inherit from `defaults`.
struct Options {
  std::optional<bool> keep, fetchall, ssl, lmtp, sslcertck;
  std::optional<std::string> password, sslproto, sslcertfile, sslfingerprint;
  std::optional<std::vector<std::string>> folders, smtphosts;
  std::optional<std::vector<int64_t>> antispam;
  std::optional<int64_t> limit, fetchlimit, batchlimit;
  unsigned smtphost_line = 0;
  unsigned sslproto_line = 0;
  unsigned sslfingerprint_line = 0;
};

struct User {
  std::optional<std::string> remote;    ///< user NAME / is NAME there
  std::vector<std::string> locals;      ///< is/to NAME ... (several: multidrop)
  bool multidrop = false;               ///< wildcard `*` or `remote = local` mappings
  unsigned line = 0;
  Options options;
};

struct Server {
  std::string name;
  bool skip = false;
  unsigned line = 0;
  std::optional<std::string> protocol;  ///< lower case
  unsigned protocol_line = 0;
  std::optional<std::string> auth;      ///< `authenticate` type carried over ("password")
  std::optional<int64_t> port;
  std::optional<int64_t> timeout;
  int defaults = -1;                    ///< index of the `defaults` entry in force, -1: none
  std::vector<User> users;
};

struct Global {
  std::optional<std::string> postmaster, logfile;
  std::optional<bool> bouncemail, syslog, invisible;
  unsigned postmaster_line = 0;
};

struct Rc {
  Global global;
  std::vector<Server> defaults;  ///< each `defaults` entry, its options in users[0]
  std::vector<Server> polls;
};

/// Parse tokens into the model; keywords that cannot be carried over become warnings
/// "name:line: keyword 'x' not carried over: why". Errors: Kind::config "name:line:col: ...".
Result<Rc> parse(const std::vector<Token>& tokens, const std::string& name, std::vector<std::string>& warnings);

/// Write the model as a commented clamfetch rc file; more warnings for values that change.
std::string emit(const Rc& rc, const std::string& name, std::vector<std::string>& warnings);

}  // namespace clamfetch::rc::fetchmailrc
