// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Cron use end to end: the clamfetch binary run again and again as the unprivileged test
// user against the fixture's real Dovecot and Postfix, as a crontab line runs it; and two runs
// overlapping, as a slow run and the next cron tick do. Every message must arrive exactly
// once and leave the server (nokeep, the default).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool eventually(const std::function<bool()>& done, int seconds) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    usleep(20000);
  }
  return true;
}

// How many delivered messages of `localpart` carry each Message-ID.
std::map<std::string, int> ids_delivered(const MailServers& servers, const std::string& localpart) {
  std::map<std::string, int> count;
  for (const auto& m : servers.delivered(localpart)) {
    auto start = m.find("Message-ID: <");
    if (start == std::string::npos) continue;
    start += 13;
    ++count[m.substr(start, m.find('>', start) - start)];
  }
  return count;
}

std::vector<std::string> batch(const std::string& prefix, int count) {
  std::vector<std::string> messages;
  for (int i = 0; i < count; ++i) messages.push_back(make_message(prefix + std::to_string(i) + "@cron", 1500));
  return messages;
}

}  // namespace

TEST_CASE("cron: three runs with new mail in between deliver everything once and empty the server") {
  MailServers servers;
  ClamfetchUser user(servers);
  user.write_rc(user.standard_rc());
  std::map<std::string, int> expected;
  for (const auto& [prefix, count] : std::vector<std::pair<std::string, int>>{{"a", 3}, {"b", 2}, {"c", 4}}) {
    servers.seed("pop3userid1", batch(prefix, count));
    for (int i = 0; i < count; ++i) expected[prefix + std::to_string(i) + "@cron"] = 1;
    auto r = user.clamfetch({"--syslog"});  // the crontab line's options; no syslog here
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(servers.remote_messages("pop3userid1").empty());
  }
  // A fourth tick finds nothing.
  CHECK(user.clamfetch({}).exit_code == 1);
  servers.wait_queue_empty();
  CHECK(ids_delivered(servers, "virtualuser1") == expected);
}

TEST_CASE("cron overlap: a run started while another holds the lock exits 8 and all mail arrives once") {
  MailServers servers;
  ClamfetchUser user(servers);
  user.write_rc(user.standard_rc());
  servers.seed("pop3userid1", batch("o", 200));

  // The first run in the background (its subshell writes its exit status)...
  const std::string status = user.home() + "/first.status";
  const std::string lock = user.home() + "/clamfetch.pid";
  run({"/bin/sh", "-c",
       "(CLAMFETCH_HOME=" + user.home() + " " + clamfetch_binary() + " -f " + user.rc_path() +
           " </dev/null >/dev/null 2>" + user.home() + "/first.err & echo $! >" + user.home() +
           "/first.pid; wait $!; echo $? >" + status + ".tmp; mv " + status + ".tmp " + status +
           ") </dev/null >/dev/null 2>&1 &"},
      servers.env("TEST_USER"));
  REQUIRE(eventually([&] { return !slurp(user.home() + "/first.pid").empty(); }, 10));
  const std::string first_pid = std::to_string(std::stol(slurp(user.home() + "/first.pid")));
  // ...and the second the moment the lock file names the first: it surely holds the lock
  // then, with 200 messages still to fetch, scan and deliver.
  REQUIRE(eventually([&] { return slurp(lock) == first_pid + "\n"; }, 30));
  auto second = user.clamfetch({});
  INFO(second.err);
  CHECK(second.exit_code == 8);
  CHECK(contains(second.err, "another clamfetch (pid " + first_pid + ") is running"));
  CHECK(slurp(status).empty());  // the first was still running when the second gave up

  auto gave_up = std::chrono::steady_clock::now();
  REQUIRE(eventually([&] { return !slurp(status).empty(); }, 120));
  std::fprintf(stderr, "the first run ended %.2f s after the second exited 8\n",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - gave_up).count());
  INFO(slurp(user.home() + "/first.err"));
  CHECK(std::stoi(slurp(status)) == 0);
  servers.wait_queue_empty();
  auto got = ids_delivered(servers, "virtualuser1");
  CHECK(got.size() == 200);
  for (const auto& [id, count] : got) {
    INFO(id);
    CHECK(count == 1);
  }
  CHECK(servers.remote_messages("pop3userid1").empty());
  // The next tick finds nothing, and the lock is free again.
  CHECK(user.clamfetch({}).exit_code == 1);
}
