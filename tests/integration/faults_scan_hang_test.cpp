// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Reliability (issue 7): a poison message that HANGS the in-process scanner (the scanner's
// test-only switch CLAMFETCH_TEST_HANG_MARKER makes libclamav's scan of it sleep forever).
// The watchdog must end the run within scan_timeout plus a few seconds (exit 23, one log line
// naming the message), deliver nothing twice and lose nothing; from the next run on every
// other message flows and on_fail decides the hung one's fate. Real Dovecot, Postfix and
// libclamav, POP3S and IMAPS; every seeded Message-ID is accounted for. Each clamfetch run is
// bounded by timeout(1), so that without the watchdog the test fails in 30 s instead of hanging.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;

namespace {

constexpr int kTimeoutSeconds = 2;    // scan_timeout in these tests
constexpr int kRunLimitSeconds = 30;  // timeout(1) around every run

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string hang_marker() { return std::string("CLAMFETCH-HANG-") + "PILL-7"; }

std::string with_scan(std::string rc, const std::string& on_fail) {
  return rc.replace(rc.find("[scan]\n") + 7, 0,
                    "scan_timeout = \"" + std::to_string(kTimeoutSeconds) + "s\"\non_fail = \"" +
                        on_fail + "\"\n");
}

struct TimedRun {
  RunResult result;
  double seconds;
};

// clamfetch as the test user, with the hang switch armed, killed after kRunLimitSeconds.
TimedRun run_armed(const MailServers& servers, const ClamfetchUser& user,
                   const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv{"timeout", "-s", "KILL", std::to_string(kRunLimitSeconds),
                                clamfetch_binary(), "-v", "-f", user.rc_path()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto start = std::chrono::steady_clock::now();
  auto result = run(argv, servers.env("TEST_USER"),
                    {{"CLAMFETCH_HOME", user.home()}, {"CLAMFETCH_TEST_HANG_MARKER", hang_marker()}});
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  return {result, took.count()};
}

struct Mailbox {
  std::vector<std::string> ids;
  std::string hung_id;
};

// Six messages; the third carries the marker.
Mailbox seed_mailbox(const MailServers& servers, const std::string& tag) {
  Mailbox box;
  std::vector<std::string> messages;
  for (int i = 1; i <= 6; ++i) {
    box.ids.push_back("hang" + std::to_string(i) + "-" + tag + "@faults");
    std::string m = make_message(box.ids.back(), 3000);
    if (i == 3) {
      m += "Innocent looking text " + hang_marker() + "\r\n";
      box.hung_id = box.ids.back();
    }
    messages.push_back(m);
  }
  servers.seed("pop3userid1", messages);
  return box;
}

// The first run: ended by the watchdog, the hung message untouched, nothing twice.
void check_hung_run(const MailServers& servers, const Mailbox& box, const TimedRun& first) {
  INFO(first.result.err);
  std::printf("hung run ended after %.2f s (scan_timeout %d s)\n", first.seconds, kTimeoutSeconds);
  CHECK(first.result.exit_code == 23);
  CHECK(first.seconds < kTimeoutSeconds + 8);
  CHECK(contains(first.result.err, "still running after " + std::to_string(kTimeoutSeconds) +
                                       " s (scan_timeout): ending this run; from the next run "
                                       "the message is handled by on_fail"));
  CHECK(contains(first.result.err, "account pop3userid1@localhost, folder INBOX, UID "));
  servers.wait_queue_empty();
  auto counts = count_message_ids(servers.delivered("virtualuser1"));
  CHECK(counts.count(box.hung_id) == 0);
  for (const auto& [id, n] : counts) CHECK(n == 1);
  bool still_there = false;
  for (const auto& m : servers.remote_messages("pop3userid1")) still_there |= contains(m, box.hung_id);
  CHECK(still_there);
}

void hang_trial(const std::string& protocol) {
  MailServers servers;
  ClamfetchUser user(servers);
  Mailbox box = seed_mailbox(servers, protocol);
  user.write_rc(with_scan(user.standard_rc(protocol), "defer"));

  check_hung_run(servers, box, run_armed(servers, user));

  // The next run blames the hung message (on_fail = defer: it stays, logged) and delivers the
  // rest; no run may hang again.
  auto second = run_armed(servers, user);
  INFO(second.result.err);
  CHECK((second.result.exit_code == 0 || second.result.exit_code == 23));
  CHECK(contains(second.result.err, "hung in an earlier run (longer than scan_timeout)"));
  CHECK(contains(second.result.err, "scan hung on this message in an earlier run"));
  CHECK(contains(second.result.err, "deferred 1 time, next attempt at"));
  // The failure is the message's own: it is not fetched again at once (back-off, issue 15
  // defect 7), so the third run finds nothing to do.
  auto third = run_armed(servers, user);
  INFO(third.result.err);
  CHECK(third.result.exit_code == 1);
  servers.wait_queue_empty();
  auto counts = count_message_ids(servers.delivered("virtualuser1"));
  CHECK(counts.size() == 5);
  CHECK(counts.count(box.hung_id) == 0);
  for (const auto& id : box.ids) {
    if (id != box.hung_id) CHECK(counts[id] == 1);
  }
  auto remote = servers.remote_messages("pop3userid1");
  REQUIRE(remote.size() == 1);
  CHECK(contains(remote[0], box.hung_id));

  // on_fail = accept: delivered once, unscanned (the switch is still armed) and marked so.
  // The rc change lifts the back-off (it is written in a later second than the failure).
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  user.write_rc(with_scan(user.standard_rc(protocol), "accept"));
  auto accepted = run_armed(servers, user);
  INFO(accepted.result.err);
  CHECK(accepted.result.exit_code == 0);
  servers.wait_queue_empty();
  auto delivered = servers.delivered("virtualuser1");
  counts = count_message_ids(delivered);
  CHECK(counts.size() == 6);
  for (const auto& id : box.ids) CHECK(counts[id] == 1);
  for (const auto& m : delivered) {
    if (contains(m, box.hung_id)) CHECK(contains(m, "X-Virus-Status: Unscanned"));
  }
  CHECK(servers.remote_messages("pop3userid1").empty());
}

}  // namespace

TEST_CASE("a scan that hangs ends the run once, then the rest flows and on_fail decides (POP3S)") {
  hang_trial("pop3");
}

TEST_CASE("a scan that hangs ends the run once, then the rest flows and on_fail decides (IMAPS)") {
  hang_trial("imap");
}

TEST_CASE("a scan that hangs ends the daemon too (exit 23, for systemd's Restart=on-failure)") {
  MailServers servers;
  ClamfetchUser user(servers);
  Mailbox box = seed_mailbox(servers, "daemon");
  user.write_rc(with_scan(user.standard_rc(), "defer"));
  check_hung_run(servers, box, run_armed(servers, user, {"--nodetach", "--daemon", "300"}));
}

TEST_CASE("a signature database load that hangs ends the run too, and blames no message") {
  // A database on a dead network file system: here a FIFO among the signature files, which
  // libclamav opens and waits on forever. The load is watched like a scan; ending the run
  // must not brand the message that happened to need the engine.
  MailServers servers;
  ClamfetchUser user(servers);
  std::string db = servers.dir() + "/fifo-db";
  std::filesystem::create_directories(db);
  for (const auto& e : std::filesystem::directory_iterator(CLAMFETCH_SOURCE_DIR "/tests/data/signatures")) {
    std::filesystem::copy_file(e.path(), db + "/" + e.path().filename().string());
  }
  REQUIRE(::mkfifo((db + "/stuck.ndb").c_str(), 0644) == 0);
  std::string rc = with_scan(user.standard_rc(), "defer");
  const std::string key = "database = \"";
  auto at = rc.find(key) + key.size();
  rc.replace(at, rc.find('"', at) - at, db);
  user.write_rc(rc);
  std::string id = "load-hang@faults";
  servers.seed("pop3userid1", make_message(id, 2000));

  auto hung = run_armed(servers, user);
  INFO(hung.result.err);
  std::printf("hung database load ended after %.2f s (scan_timeout %d s)\n", hung.seconds, kTimeoutSeconds);
  CHECK(hung.result.exit_code == 23);
  CHECK(hung.seconds < kTimeoutSeconds + 8);
  CHECK(contains(hung.result.err, "loading the signature database " + db + " still running after " +
                                      std::to_string(kTimeoutSeconds) +
                                      " s (scan_timeout): ending this run; no message is blamed"));
  CHECK(servers.remote_messages("pop3userid1").size() == 1);

  // The database mended: the same message is scanned and delivered, not treated as poison.
  std::filesystem::remove(db + "/stuck.ndb");
  auto mended = run_armed(servers, user);
  INFO(mended.result.err);
  CHECK(mended.result.exit_code == 0);
  CHECK_FALSE(contains(mended.result.err, "earlier run"));
  servers.wait_queue_empty();
  auto delivered = servers.delivered("virtualuser1");
  REQUIRE(delivered.size() == 1);
  CHECK(contains(delivered[0], "X-Virus-Status: Clean"));
  CHECK(servers.remote_messages("pop3userid1").empty());
}
