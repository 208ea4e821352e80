// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Reliability (issue 7): libclamav failing. An unreadable signature database (on_fail defer
// and accept, and the lazy load with an empty mailbox), and a poison message that crashes the
// in-process scanner (the scanner's test-only switch CLAMFETCH_TEST_ABORT_MARKER): after one
// crash, the next runs deliver everything else and on_fail decides the poison one's fate.
// Real Dovecot, Postfix and libclamav; every seeded Message-ID is accounted for.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <map>
#include <regex>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string with_scan_settings(std::string rc, const std::string& database, const std::string& on_fail) {
  const std::string key = "database = \"";
  auto start = rc.find(key) + key.size();
  rc.replace(start, rc.find('"', start) - start, database);
  return rc.replace(rc.find("[scan]\n") + 7, 0, "on_fail = \"" + on_fail + "\"\n");
}

// A copy of the test signatures that the clamfetch user cannot read.
std::string unreadable_database(const MailServers& servers) {
  std::string dir = servers.dir() + "/unreadable-db";
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(CLAMFETCH_SOURCE_DIR "/tests/data/signatures")) {
    fs::copy_file(e.path(), dir + "/" + e.path().filename().string());
    chmod((dir + "/" + e.path().filename().string()).c_str(), 0);
  }
  return dir;
}

RunResult clamfetch_env(const MailServers& servers, const ClamfetchUser& user,
                        const std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> all = env;
  all["CLAMFETCH_HOME"] = user.home();
  return run({clamfetch_binary(), "-v", "-f", user.rc_path()}, servers.env("TEST_USER"), all);
}

std::string poison_marker() { return std::string("CLAMFETCH-POISON-") + "PILL-7"; }

}  // namespace

TEST_CASE("unreadable signature database: defer keeps everything, accept delivers it Unscanned") {
  MailServers servers;
  ClamfetchUser user(servers);
  std::string db = unreadable_database(servers);

  // An empty mailbox never touches the database: exit 1, no error.
  user.write_rc(with_scan_settings(user.standard_rc(), db, "defer"));
  auto empty = user.clamfetch({"-v"});
  INFO(empty.err);
  CHECK(empty.exit_code == 1);
  CHECK_FALSE(contains(empty.err, "signature database"));

  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back("unreadable" + std::to_string(i) + "@faults");
    servers.seed("pop3userid1", make_message(ids.back(), 2000));
  }
  auto deferred = user.clamfetch({"-v"});
  INFO(deferred.err);
  CHECK(deferred.exit_code == 23);
  CHECK(contains(deferred.err, "cannot load signature database " + db));
  CHECK(servers.remote_messages("pop3userid1").size() == 4);
  servers.wait_queue_empty();
  CHECK(servers.delivered("virtualuser1").empty());

  user.write_rc(with_scan_settings(user.standard_rc(), db, "accept"));
  auto accepted = user.clamfetch({"-v"});
  INFO(accepted.err);
  CHECK(accepted.exit_code == 0);
  servers.wait_queue_empty();
  auto delivered = servers.delivered("virtualuser1");
  REQUIRE(delivered.size() == 4);
  for (const auto& m : delivered) CHECK(contains(m, "X-Virus-Status: Unscanned"));
  auto counts = count_message_ids(delivered);
  for (const auto& id : ids) CHECK(counts[id] == 1);
  CHECK(servers.remote_messages("pop3userid1").empty());
}

TEST_CASE("libclamav itself is loaded only when a message needs a scan") {
  // The library, not only the engine: an empty poll (the cron case) must not pay for mapping
  // and relocating libclamav and ICU/libxml2/pcre2 behind it. The dynamic loader's own trace
  // (LD_DEBUG=files) names every object it opens, at start and by dlopen().
  MailServers servers;
  ClamfetchUser user(servers);
  user.write_rc(user.standard_rc());
  auto empty = clamfetch_env(servers, user, {{"LD_DEBUG", "files"}});
  INFO(empty.err);
  CHECK(empty.exit_code == 1);
  REQUIRE(contains(empty.err, "file=libssl.so"));  // the trace is there: the check means something
  CHECK_FALSE(contains(empty.err, "libclamav"));

  servers.seed("pop3userid1", make_message("lazy-library@faults", 2000));
  auto one = clamfetch_env(servers, user, {{"LD_DEBUG", "files"}});
  INFO(one.err);
  CHECK(one.exit_code == 0);
  CHECK(contains(one.err, "file=libclamav.so"));
  servers.wait_queue_empty();
  auto delivered = servers.delivered("virtualuser1");
  REQUIRE(delivered.size() == 1);
  CHECK(contains(delivered[0], "X-Virus-Status: Clean"));
}

TEST_CASE("a poison message crashes the scanner once, then stays deferred and the rest flows") {
  MailServers servers;
  ClamfetchUser user(servers);
  std::vector<std::string> ids, messages;
  for (int i = 1; i <= 10; ++i) {
    ids.push_back("poison" + std::to_string(i) + "@faults");
    std::string m = make_message(ids.back(), 4000);
    if (i == 5) m += "Innocent looking text " + poison_marker() + "\r\n";
    messages.push_back(m);
  }
  servers.seed("pop3userid1", messages);
  user.write_rc(user.standard_rc());
  std::map<std::string, std::string> env{{"CLAMFETCH_TEST_ABORT_MARKER", poison_marker()}};

  auto crashed = clamfetch_env(servers, user, env);
  INFO(crashed.err);
  CHECK(crashed.exit_code == 128 + 6);  // SIGABRT inside the scan

  auto second = clamfetch_env(servers, user, env);
  INFO(second.err);
  CHECK(second.exit_code == 0);
  CHECK(contains(second.err, "the scanner crashed on message"));
  CHECK(contains(read_file(user.home() + "/scan-suspects"), "poison "));
  CHECK(contains(second.err, "scanner crashed on this message in an earlier run"));
  CHECK(contains(second.err, "deferred 1 time, next attempt at"));
  // It waits on the server (on_fail = defer), backing off: the next run leaves it alone
  // (issue 15, defect 7) instead of failing on it again.
  auto third = clamfetch_env(servers, user, env);
  INFO(third.err);
  CHECK(third.exit_code == 1);
  servers.wait_queue_empty();

  auto counts = count_message_ids(servers.delivered("virtualuser1"));
  CHECK(counts.size() == 9);
  CHECK(counts.count("poison5@faults") == 0);
  for (const auto& id : ids) {
    if (id != "poison5@faults") CHECK(counts[id] >= 1);
  }
  auto remote = servers.remote_messages("pop3userid1");
  REQUIRE(remote.size() == 1);
  CHECK(contains(remote[0], "poison5@faults"));

  // on_fail = accept: delivered without being scanned again (the switch is still armed),
  // marked Unscanned; then it is forgotten. The rc change lifts the back-off (it is written in
  // a later second than the failure).
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  std::string rc = user.standard_rc();
  user.write_rc(rc.replace(rc.find("[scan]\n") + 7, 0, "on_fail = \"accept\"\n"));
  auto accepted = clamfetch_env(servers, user, env);
  INFO(accepted.err);
  CHECK(accepted.exit_code == 0);
  servers.wait_queue_empty();
  auto poison = count_message_ids(servers.delivered("virtualuser1"));
  CHECK(poison["poison5@faults"] == 1);
  for (const auto& m : servers.delivered("virtualuser1")) {
    if (contains(m, "poison5@faults")) CHECK(contains(m, "X-Virus-Status: Unscanned"));
  }
  CHECK(servers.remote_messages("pop3userid1").empty());
  // The next run folds the journal: nothing is held against any message any more.
  CHECK(clamfetch_env(servers, user, env).exit_code == 1);
  CHECK(!contains(read_file(user.home() + "/scan-suspects"), "poison "));
}
