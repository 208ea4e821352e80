// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Reliability (issue 7): clamfetch killed exactly in the windows a random kill only hits by
// luck, with the test-only hook CLAMFETCH_TEST_KILL_AT (tests/hooks/fault_injection.hpp): between the MTA's
// 2xx and the UID record, right after the record, after the acknowledge (POP3 DELE / IMAP
// \Deleted sent, no QUIT / EXPUNGE yet), and before the UID store is saved. Then one clean
// run; every seeded Message-ID is accounted for. Real Dovecot and Postfix, POP3 and IMAP.
#include <catch2/catch.hpp>

#include <map>
#include <regex>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;

namespace {

constexpr int kMessages = 12;

RunResult clamfetch_with(const MailServers& servers, const ClamfetchUser& user,
                         const std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> all = env;
  all["CLAMFETCH_HOME"] = user.home();
  return run({clamfetch_binary(), "-v", "-f", user.rc_path()}, servers.env("TEST_USER"), all);
}

struct Window {
  std::string kill_at;       // CLAMFETCH_TEST_KILL_AT
  int duplicates;            // exactly this many messages arrive twice
  int clean_exit;            // the clean run's: 0 delivered the rest, 1 nothing was left
};

// Seeds a fresh batch, kills the run at the window, runs clean, accounts for every message.
void kill_in_window(const MailServers& servers, ClamfetchUser& user, const std::string& protocol,
                    bool keep, const Window& w, int batch) {
  std::vector<std::string> ids, messages;
  for (int i = 0; i < kMessages; ++i) {
    ids.push_back("w" + std::to_string(batch) + "." + std::to_string(i) + "@faults");
    messages.push_back(make_message(ids.back(), 3000));
  }
  servers.seed("pop3userid1", messages);
  // smtp_sessions = 4 (the default) on purpose: parallel workers must still leave at most one
  // message per account between the 2xx and its record.
  user.write_rc(user.standard_rc(protocol, "implicit", keep ? "  keep = true\n" : "  keep = false\n"));

  auto killed = clamfetch_with(servers, user, {{"CLAMFETCH_TEST_KILL_AT", w.kill_at}});
  INFO(protocol << (keep ? " keep " : " nokeep ") << w.kill_at << "\n" << killed.err);
  CHECK(killed.exit_code == 128 + 9);
  auto clean = clamfetch_with(servers, user, {});
  INFO(clean.err);
  CHECK(clean.exit_code == w.clean_exit);
  CHECK(clamfetch_with(servers, user, {}).exit_code == 1);  // the UID store is whole
  servers.wait_queue_empty(60);

  auto after = count_message_ids(servers.delivered("virtualuser1"));
  int duplicates = 0;
  for (const auto& id : ids) {
    INFO(id);
    CHECK(after[id] >= 1);
    duplicates += after[id] > 1 ? after[id] - 1 : 0;
  }
  CHECK(duplicates == w.duplicates);
  auto remote = servers.remote_messages("pop3userid1");
  std::size_t expected_remote = keep ? static_cast<std::size_t>(kMessages * batch) : 0u;
  CHECK(remote.size() == expected_remote);
}

void all_windows(const std::string& protocol, bool keep) {
  MailServers servers;
  ClamfetchUser user(servers);
  const Window windows[] = {
      {"after_2xx:5", 1, 0},          // delivered, not recorded: the one duplicate DESIGN allows
      {"after_record:5", 0, 0},       // recorded, not acknowledged: never delivered again
      {"after_acknowledge:1", 0, 1},  // DELE / \Deleted sent, not committed: the next run deletes
      {"before_save:1", 0, 1},        // committed, the store's journal not folded into its file
  };
  int batch = 1;
  for (const auto& w : windows) {
    // POP3 with keep acknowledges nothing (no DELE, no flags): that window does not exist.
    if (protocol == "pop3" && keep && w.kill_at.starts_with("after_acknowledge")) continue;
    kill_in_window(servers, user, protocol, keep, w, batch++);
  }
}

}  // namespace

TEST_CASE("kill windows: POP3 nokeep") { all_windows("pop3", false); }
TEST_CASE("kill windows: POP3 keep") { all_windows("pop3", true); }
TEST_CASE("kill windows: IMAP nokeep") { all_windows("imap", false); }
TEST_CASE("kill windows: IMAP keep") { all_windows("imap", true); }
