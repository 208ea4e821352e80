// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// import_fetchids(): see fetchids_import.hpp.

#include "app/fetchids_import.hpp"

#include <strings.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <vector>

#include "app/lock.hpp"
#include "app/settings.hpp"
#include "fetch/fetch.hpp"
#include "rc/rc.hpp"

namespace clamfetch::app {
namespace {

int fail(const std::string& text, Kind kind) {
  std::fprintf(stderr, "clamfetch: %s\n", text.c_str());
  return exit_code(kind);
}

// fetchmail compares both user and host without regard to case (uid.c).
bool same(const std::string& a, const std::string& b) { return strcasecmp(a.c_str(), b.c_str()) == 0; }

// Adds the account's UIDs the store does not hold yet; prints the account's line.
Status import_account(const rc::Poll& poll, const rc::User& user, const std::vector<const rc::FetchidsEntry*>& entries,
                      const std::string& state_dir) {
  auto store = fetch::UidStore::open(state_dir, account_key(poll, user));
  if (!store) return store.error();
  std::vector<fetch::MessageRef> refs;
  std::size_t already = 0;
  for (const auto* e : entries) {
    if (store->has_uid("INBOX", e->uid)) {
      ++already;
      continue;
    }
    fetch::MessageRef ref;
    ref.folder = "INBOX";
    ref.uid = e->uid;
    ref.size = 0;  // fetchmail keeps no sizes: 0 is "any size" to the store
    refs.push_back(std::move(ref));
  }
  if (auto noted = store->record_known(refs); !noted) return noted.error();
  if (auto saved = store->save(); !saved) return saved.error();
  std::string line = "imported " + std::to_string(refs.size()) + " UID" + (refs.size() == 1 ? "" : "s") +
                     " for " + account_name(poll, user);
  if (already != 0) {
    line += " (" + std::to_string(already) + " already in clamfetch's UID store, left as they were)";
  }
  std::fprintf(stderr, "clamfetch: %s\n", line.c_str());
  return {};
}

}  // namespace

int import_fetchids(const std::string& toml, const std::string& toml_name, const std::string& fetchids,
                    bool explicit_path, const std::string& state_dir) {
  std::ifstream in(fetchids, std::ios::binary);
  if (!in) {
    if (!explicit_path && errno == ENOENT) {
      std::fprintf(stderr, "clamfetch: no fetchmail UID file %s: no UIDs imported\n", fetchids.c_str());
      return 0;
    }
    return fail("cannot read " + fetchids + ": " + std::strerror(errno), Kind::config);
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> warnings;
  auto entries = rc::parse_fetchids(text, fetchids, warnings);
  for (const auto& w : warnings) std::fprintf(stderr, "clamfetch: warning: %s\n", w.c_str());
  // The accounts as the poller will key them: from the TOML the user is about to install.
  auto config = rc::parse(toml, toml_name);
  if (!config) {
    return fail("the converted rc file does not parse, no UIDs imported: " + config.error().text, Kind::config);
  }
  auto lock = InstanceLock::acquire(state_dir);
  if (!lock) return fail(lock.error().text, lock.error().kind);

  std::vector<bool> matched(entries.size(), false);
  for (const auto& poll : config->polls) {
    // fetchmail 6 keeps UIDs for POP3 only; an IMAP account's first run has its own rule.
    if (poll.protocol != rc::Protocol::pop3) continue;
    for (const auto& user : poll.users) {
      std::vector<const rc::FetchidsEntry*> mine;
      for (std::size_t i = 0; i < entries.size(); ++i) {
        if (same(entries[i].user, user.username) && same(entries[i].host, poll.server)) {
          mine.push_back(&entries[i]);
          matched[i] = true;
        }
      }
      if (auto done = import_account(poll, user, mine, state_dir); !done) {
        return fail(done.error().text, done.error().kind);
      }
    }
  }
  // What matched no POP3 account: said once per user@host, so that a renamed server shows.
  std::map<std::string, std::size_t> ignored;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (!matched[i]) ++ignored[entries[i].user + "@" + entries[i].host];
  }
  for (const auto& [account, count] : ignored) {
    std::fprintf(stderr, "clamfetch: ignored %zu UID%s of %s: no POP3 account for it in %s\n", count,
                 count == 1 ? "" : "s", account.c_str(), toml_name.c_str());
  }
  return 0;
}

}  // namespace clamfetch::app
