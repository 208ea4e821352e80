// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The [[poll]] and [[poll.user]] parts of the rc schema: server settings, the users of each
// server with their inherited options resolved, and the cross-entry checks (duplicates).

#include <map>
#include <tuple>

#include "rc/checker.hpp"

namespace clamfetch::rc::detail {
namespace {

const std::vector<std::string_view> kPollKeys = with_user_options(
    {"server", "protocol", "port", "tls", "allow_plaintext", "ca_file", "fingerprint", "min_tls", "auth", "user"});
const std::vector<std::string_view> kUserKeys =
    with_user_options({"username", "password", "password_command", "is", "oauth"});

/// Where in the file a poll's or user's key values were, for checks made after reading.
struct Seen {
  const Member* tls = nullptr;
  const Member* server = nullptr;
  const Member* auth = nullptr;
  const Member* users = nullptr;
};

const char* protocol_name(Protocol protocol) { return protocol == Protocol::pop3 ? "pop3" : "imap"; }

void read_is(Checker& check, const Member& m, User& user) {
  auto list = check.strings(m, true);
  if (!list) return;
  if (list->empty()) {
    check.error(m.value.where, "is must name at least one local recipient address");
    return;
  }
  for (size_t i = 0; i < list->size(); ++i) {
    if (is_address((*list)[i])) continue;
    Where where = m.value.type == Node::Type::array ? m.value.items[i].where : m.value.where;
    check.error(where, "is must be a mail address with '@', got " + quoted((*list)[i]));
    return;
  }
  user.is = std::move(*list);
}

/// The credential checks of an OAuth2 user (an oauth table, or the poll's auth = "oauth2"):
/// a token, never a password.
void check_oauth_user(Checker& check, const Node& table, const User& user, Poll::Auth auth,
                      const Member* oauth, const Member* password, const Member* command) {
  std::string who = "user " + quoted(user.username);
  if (oauth && auth != Poll::Auth::automatic && auth != Poll::Auth::oauth2) {
    check.error(oauth->where, who + " has a [poll.user.oauth] table, but the poll sets another auth: "
                                    "use auth = \"oauth2\" or leave auth out");
  } else if (!oauth) {
    check.error(table.where, "auth = \"oauth2\" needs a [poll.user.oauth] table for " + who +
                                 " (token_command, or provider and client_id)");
  }
  if (const Member* m = password ? password : command) {
    check.error(m->where, who + " logs in with OAuth2: " + m->key + " is not used, remove it");
  }
}

/// One [[poll.user]] table over the poll's inherited options.
User read_user(Checker& check, const Node& table, const User& inherited, Poll::Auth auth) {
  User user = inherited;
  const Member* password = nullptr;
  const Member* command = nullptr;
  const Member* oauth = nullptr;
  bool has_is = false;
  bool has_username = false;
  for (const Member& m : table.members) {
    if (m.key == "username") {
      if (auto v = check.string(m)) user.username = *v;
      has_username = true;
    } else if (m.key == "password") {
      if (auto v = check.string(m)) user.password = *v;
      password = &m;
    } else if (m.key == "password_command") {
      if (auto v = check.string(m)) user.password_command = *v;
      command = &m;
    } else if (m.key == "is") {
      read_is(check, m, user);
      has_is = true;
    } else if (m.key == "oauth") {
      user.oauth = read_oauth(check, m);
      oauth = &m;
    } else if (!read_user_option(check, m, user)) {
      check.unknown(m, "[[poll.user]]", kUserKeys);
    }
  }
  std::string who = "user " + quoted(user.username);
  if (!has_username) {
    check.error(table.where, "[[poll.user]] has no username");
  } else if (oauth || auth == Poll::Auth::oauth2) {
    check_oauth_user(check, table, user, auth, oauth, password, command);
  } else if (password && command) {
    check.error(command->where, who + " has both password and password_command: give only one");
  } else if (!password && !command) {
    check.error(table.where, who + " has neither password nor password_command");
  }
  if (has_username && !has_is) {
    check.error(table.where, who + " has no is (the local recipient, e.g. is = \"user@example.com\")");
  }
  return user;
}

void read_users(Checker& check, const Member& m, const User& inherited, Poll& poll) {
  if (m.value.type != Node::Type::array || !m.value.array_of_tables) {
    check.error(m.value.where, "user must be an array of tables ([[poll.user]]), got " +
                                   std::string(type_name(m.value.type)));
    return;
  }
  std::map<std::string, unsigned> first_line;
  for (const Node& table : m.value.items) {
    User user = read_user(check, table, inherited, poll.auth);
    auto [it, fresh] = first_line.emplace(user.username, table.where.line);
    if (!fresh && !user.username.empty()) {
      check.error(table.where, "duplicate user " + quoted(user.username) + " in poll " + quoted(poll.server) +
                                   " (first at line " + std::to_string(it->second) + ")");
      continue;
    }
    poll.users.push_back(std::move(user));
  }
}

/// One [[poll]] key other than `user` and the user options; false when unknown.
bool read_poll_key(Checker& check, const Member& m, Poll& poll, Seen& seen) {
  const std::string& k = m.key;
  if (k == "server") {
    if (auto v = check.string(m)) poll.server = *v;
    seen.server = &m;
  } else if (k == "protocol") {
    if (auto v = check.choice(m, {"pop3", "imap"})) poll.protocol = static_cast<Protocol>(*v);
  } else if (k == "port") {
    if (auto v = check.integer(m, 1, 65535)) poll.port = static_cast<uint16_t>(*v);
  } else if (k == "tls") {
    if (auto v = check.choice(m, {"implicit", "starttls", "none"})) poll.tls = static_cast<TlsMode>(*v);
    seen.tls = &m;
  } else if (k == "allow_plaintext") {
    if (auto v = check.boolean(m)) poll.allow_plaintext = *v;
  } else if (k == "ca_file") {
    if (auto v = check.string(m)) poll.ca_file = *v;
  } else if (k == "fingerprint") {
    auto v = check.string(m);
    if (v && !is_sha256_fingerprint(*v)) {
      check.error(m.value.where, "fingerprint must be \"SHA256:\" followed by 32 colon-separated hex pairs "
                                 "(\"SHA256:AB:CD:...\"), got " + quoted(*v));
    } else if (v) {
      poll.fingerprint = *v;
    }
  } else if (k == "min_tls") {
    if (auto v = check.choice(m, {"1.2", "1.3"})) poll.min_tls = *v == 0 ? "1.2" : "1.3";
  } else if (k == "auth") {
    auto v = check.choice(m, {"auto", "password", "plain", "login", "apop", "oauth2"});
    if (v) poll.auth = static_cast<Poll::Auth>(*v);
    seen.auth = &m;
  } else {
    return false;
  }
  return true;
}

/// A bearer token is as good as a password to whoever sees it: OAuth2 is refused without TLS,
/// allow_plaintext or not.
void check_oauth_tls(Checker& check, const Node& table, const Poll& poll, const Seen& seen) {
  if (poll.tls != TlsMode::none) return;
  for (const User& user : poll.users) {
    if (!user.oauth && poll.auth != Poll::Auth::oauth2) continue;
    check.error(seen.tls ? seen.tls->value.where : table.where,
                "user " + quoted(user.username) + " logs in with OAuth2, which is refused without TLS: "
                "use tls = \"implicit\" or \"starttls\"");
    return;
  }
}

Poll read_poll(Checker& check, const Node& table, const User& defaults) {
  Poll poll;
  User inherited = defaults;
  Seen seen;
  for (const Member& m : table.members) {
    if (m.key == "user") {
      seen.users = &m;
    } else if (!read_poll_key(check, m, poll, seen) && !read_user_option(check, m, inherited)) {
      check.unknown(m, "[[poll]]", kPollKeys);
    }
  }
  if (!seen.server || poll.server.empty()) {
    check.error(seen.server ? seen.server->value.where : table.where, "[[poll]] has no server");
  }
  if (seen.tls && poll.tls == TlsMode::none && !poll.allow_plaintext) {
    check.error(seen.tls->value.where, "tls = \"none\" sends the password in clear text: "
                                       "it needs allow_plaintext = true in the same [[poll]]");
  }
  if (seen.auth && poll.auth == Poll::Auth::apop && poll.protocol == Protocol::imap) {
    check.error(seen.auth->value.where, "auth = \"apop\" is for POP3 only: with protocol = \"imap\" "
                                        "use \"auto\", \"password\", \"login\" or \"plain\"");
  }
  if (seen.users) {
    read_users(check, *seen.users, inherited, poll);
  } else {
    check.error(table.where, "poll " + quoted(poll.server) + " has no users: add a [[poll.user]]");
  }
  check_oauth_tls(check, table, poll, seen);
  return poll;
}

/// Where each [[poll.user]] of a [[poll]] table starts, by username.
std::map<std::string, Where> user_positions(const Node& table) {
  std::map<std::string, Where> out;
  for (const Member& m : table.members) {
    if (m.key != "user" || m.value.type != Node::Type::array) continue;
    for (const Node& item : m.value.items) {
      for (const Member& field : item.members) {
        if (field.key == "username" && field.value.type == Node::Type::string) {
          out.emplace(field.value.text, item.where);
        }
      }
    }
  }
  return out;
}

/// A user already seen in an earlier poll of the same server and protocol.
struct Account {
  unsigned line = 0;
  uint16_t port = 0;
};

/// The UID store is named by protocol, user and server, not the port (so that a port change
/// keeps what was delivered): two polls of one account on two ports would share one store
/// and race on its temp file. Refused, naming both entries.
void check_shared_accounts(Checker& check, const Node& table, const Poll& poll, uint16_t port,
                           std::map<std::tuple<std::string, Protocol, std::string>, Account>& seen) {
  auto where = user_positions(table);
  for (const User& user : poll.users) {
    auto at = where.find(user.username);
    Where here = at != where.end() ? at->second : table.where;
    auto [it, fresh] = seen.emplace(std::make_tuple(poll.server, poll.protocol, user.username),
                                    Account{here.line, port});
    if (fresh) continue;
    check.error(here, "user " + quoted(user.username) + " of server " + quoted(poll.server) + " (" +
                          protocol_name(poll.protocol) + ", port " + std::to_string(port) +
                          ") is already polled at line " + std::to_string(it->second.line) + " (port " +
                          std::to_string(it->second.port) + "): both would share one record of " +
                          "delivered mail; poll each account once");
  }
}

}  // namespace

void read_polls(Checker& check, const Node& array, const User& defaults, std::vector<Poll>& polls) {
  if (array.type != Node::Type::array || !array.array_of_tables) {
    check.error(array.where, std::string("poll must be an array of tables ([[poll]]), got ") +
                                 type_name(array.type));
    return;
  }
  std::map<std::tuple<std::string, Protocol, uint16_t>, unsigned> first_line;
  std::map<std::tuple<std::string, Protocol, std::string>, Account> accounts;
  for (const Node& table : array.items) {
    Poll poll = read_poll(check, table, defaults);
    uint16_t port = poll.port ? poll.port : default_port(poll.protocol, poll.tls);
    auto [it, fresh] = first_line.emplace(std::make_tuple(poll.server, poll.protocol, port), table.where.line);
    if (!fresh) {
      check.error(table.where, "duplicate poll: server " + quoted(poll.server) + ", protocol " +
                                   protocol_name(poll.protocol) + ", port " + std::to_string(port) +
                                   " is already at line " + std::to_string(it->second));
      continue;
    }
    check_shared_accounts(check, table, poll, port, accounts);
    polls.push_back(std::move(poll));
  }
}

}  // namespace clamfetch::rc::detail
