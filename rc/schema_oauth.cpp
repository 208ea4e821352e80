// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The [poll.user.oauth] table: where an OAuth2 account's access token comes from, checked
// here so that a mistake is one line at --check-config time, not a failed login at 3 a.m.

#include "rc/checker.hpp"

namespace clamfetch::rc::detail {
namespace {

const std::vector<std::string_view> kOAuthKeys = {
    "provider", "client_id", "client_secret", "client_secret_command", "tenant", "flow",
    "token_endpoint", "device_endpoint", "authorization_endpoint", "scope", "ca_file",
    "token_command"};

/// Where the keys that need a second look were.
struct OAuthSeen {
  const Member* provider = nullptr;
  const Member* client_secret = nullptr;
  const Member* client_secret_command = nullptr;
  const Member* token_command = nullptr;
  const Member* flow = nullptr;
  bool client_id = false;
  bool token_endpoint = false;
};

/// A plain string key of the table into its field; false when `m` is none of them.
bool read_string_key(Checker& check, const Member& m, OAuth& oauth) {
  std::string OAuth::*field = m.key == "client_id"               ? &OAuth::client_id
                              : m.key == "client_secret"         ? &OAuth::client_secret
                              : m.key == "client_secret_command" ? &OAuth::client_secret_command
                              : m.key == "tenant"                ? &OAuth::tenant
                              : m.key == "token_endpoint"        ? &OAuth::token_endpoint
                              : m.key == "device_endpoint"       ? &OAuth::device_endpoint
                              : m.key == "authorization_endpoint" ? &OAuth::authorization_endpoint
                              : m.key == "scope"                 ? &OAuth::scope
                              : m.key == "ca_file"               ? &OAuth::ca_file
                              : m.key == "token_command"         ? &OAuth::token_command
                                                                 : nullptr;
  if (field == nullptr) return false;
  auto v = check.string(m);
  if (v && v->empty()) {
    check.error(m.value.where, m.key + " must not be empty");
  } else if (v) {
    oauth.*field = *v;
  }
  return true;
}

void note(const Member& m, OAuthSeen& seen) {
  if (m.key == "client_secret") seen.client_secret = &m;
  if (m.key == "client_secret_command") seen.client_secret_command = &m;
  if (m.key == "token_command") seen.token_command = &m;
  if (m.key == "client_id") seen.client_id = true;
  if (m.key == "token_endpoint") seen.token_endpoint = true;
}

/// The checks across keys, one error each.
void check_combination(Checker& check, const Member& table, const OAuth& oauth, const OAuthSeen& seen) {
  Where where = table.value.where;
  if (seen.client_secret && seen.client_secret_command) {
    check.error(seen.client_secret_command->where,
                "[poll.user.oauth] has both client_secret and client_secret_command: give only one");
  }
  if (seen.token_command) {
    if (seen.provider) {
      check.error(seen.token_command->where,
                  "[poll.user.oauth] has both token_command and provider: token_command takes the "
                  "token from a program, provider has clamfetch get it; give only one");
    }
    return;
  }
  if (!seen.provider) {
    check.error(where, "[poll.user.oauth] needs provider = \"microsoft\", \"google\" or \"custom\", "
                       "or token_command");
    return;
  }
  if (!seen.client_id) check.error(where, "[poll.user.oauth] has no client_id");
  if (oauth.has_provider && oauth.provider == OAuth::Provider::custom && !seen.token_endpoint) {
    check.error(seen.provider->value.where, "provider = \"custom\" needs a token_endpoint");
  }
  if (oauth.flow == OAuth::Flow::client_credentials && !seen.client_secret && !seen.client_secret_command) {
    check.error(seen.flow->value.where,
                "flow = \"client_credentials\" needs client_secret or client_secret_command");
  }
}

}  // namespace

std::optional<OAuth> read_oauth(Checker& check, const Member& table) {
  if (check.not_table(table)) return std::nullopt;
  OAuth oauth;
  OAuthSeen seen;
  for (const Member& m : table.value.members) {
    if (m.key == "provider") {
      auto v = check.choice(m, {"microsoft", "google", "custom"});
      if (v) oauth.provider = static_cast<OAuth::Provider>(*v);
      oauth.has_provider = v.has_value();
      seen.provider = &m;
    } else if (m.key == "flow") {
      auto v = check.choice(m, {"device", "client_credentials", "authorization_code"});
      if (v) oauth.flow = static_cast<OAuth::Flow>(*v);
      seen.flow = &m;
    } else if (read_string_key(check, m, oauth)) {
      note(m, seen);
    } else {
      check.unknown(m, "[poll.user.oauth]", kOAuthKeys);
    }
  }
  check_combination(check, table, oauth, seen);
  return oauth;
}

}  // namespace clamfetch::rc::detail
