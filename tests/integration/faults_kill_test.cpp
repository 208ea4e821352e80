// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Reliability (issue 7): clamfetch killed with SIGKILL at random moments, over and over, on a
// 200-message mailbox — POP3 and IMAP, keep and nokeep — then one clean run. Every seeded
// Message-ID must have arrived at least once, duplicates at most one per kill, and the UID
// store must still be readable (the clean run and the one after it work).
//
// A run that finishes before its kill (it got through the whole mailbox) is followed by 20
// more messages, so that later kills land on work too.
// Long: 4 combinations x 25 kills. The seed is printed; FAULTS_SEED=<n> repeats a
// run, FAULTS_KILLS=<n> changes the number of kills per combination.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <regex>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;

namespace {

constexpr int kMessages = 200;
constexpr int kDefaultKills = 25;
constexpr int kRefill = 20;

// Message-ID -> how many copies the Maildir holds.
unsigned env_number(const char* name, unsigned fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? static_cast<unsigned>(std::strtoul(v, nullptr, 10)) : fallback;
}

// Starts clamfetch as the test user and SIGKILLs it after `delay_ms` (if still running).
// Returns the shell's report: 137 when the kill hit, else clamfetch's own exit code.
RunResult run_and_kill(const MailServers& servers, const ClamfetchUser& user, unsigned delay_ms) {
  char delay[32];
  std::snprintf(delay, sizeof delay, "%u.%03u", delay_ms / 1000, delay_ms % 1000);
  std::string script = "CLAMFETCH_HOME=" + user.home() + " " + clamfetch_binary() + " -f " + user.rc_path() +
                       " & pid=$!; sleep " + delay + "; kill -9 $pid 2>/dev/null; wait $pid; echo $?";
  return run({"/bin/sh", "-c", script}, servers.env("TEST_USER"));
}

struct Trial {
  std::string protocol;
  bool keep;
};

void kill_trial(const Trial& t, unsigned seed) {
  MailServers servers;
  ClamfetchUser user(servers);
  std::vector<std::string> ids;
  auto seed_more = [&](int n) {
    std::vector<std::string> seeded;
    for (int i = 0; i < n; ++i) {
      std::size_t k = ids.size();
      ids.push_back("kill" + std::to_string(k) + "." + t.protocol + (t.keep ? ".keep" : ".nokeep") + "@faults");
      seeded.push_back(make_message(ids.back(), 1000 + 37 * (k % 200)));
    }
    servers.seed("pop3userid1", seeded);
  };
  seed_more(kMessages);
  user.write_rc(user.standard_rc(t.protocol, "implicit", t.keep ? "  keep = true\n" : "  keep = false\n"));

  std::mt19937 rng(seed);
  // Kills land anywhere from before the login to well into the batch: a whole run of this
  // mailbox takes about a second here (some 150 ms to log in and list, then ~5 ms a message),
  // so a killed run gets a few messages further on average and 25 kills cover the mailbox.
  std::uniform_int_distribution<unsigned> delay(0, 300);
  unsigned kills = 0, finished = 0;
  unsigned planned = env_number("FAULTS_KILLS", kDefaultKills);
  std::string outputs;
  for (unsigned k = 0; k < planned; ++k) {
    auto r = run_and_kill(servers, user, delay(rng));
    outputs += r.err;
    std::string status = r.out.empty() ? "?" : r.out.substr(0, r.out.find('\n'));
    if (status == "137") {
      ++kills;
    } else {
      // That run got through everything: new mail, so that the next kills land on work too.
      ++finished;
      seed_more(kRefill);
    }
  }
  // The clean run, then one more: the UID store is readable and complete.
  auto clean = user.clamfetch({"-v"});
  INFO(outputs + clean.err);
  CHECK((clean.exit_code == 0 || clean.exit_code == 1));
  auto after = user.clamfetch({});
  INFO(after.err);
  CHECK(after.exit_code == 1);
  CHECK(outputs.find("corrupt") == std::string::npos);
  servers.wait_queue_empty(120);

  auto counts = count_message_ids(servers.delivered("virtualuser1"));
  int duplicates = 0, missing = 0;
  for (const auto& id : ids) {
    int n = counts.count(id) ? counts[id] : 0;
    if (n == 0) ++missing;
    if (n > 1) duplicates += n - 1;
  }
  std::printf("faults_kill %s %s seed=%u: %zu messages, %u kills hit, %u runs finished first, "
              "%d duplicates, %d missing\n", t.protocol.c_str(), t.keep ? "keep" : "nokeep", seed,
              ids.size(), kills, finished, duplicates, missing);
  std::fflush(stdout);
  CHECK(missing == 0);
  CHECK(counts.size() == ids.size());
  CHECK(duplicates <= static_cast<int>(kills));
  CHECK(servers.remote_messages("pop3userid1").size() == (t.keep ? ids.size() : 0u));
}

unsigned trial_seed() {
  unsigned seed = env_number("FAULTS_SEED", 0);
  if (seed == 0) seed = std::random_device{}();
  std::printf("faults_kill: seed %u (FAULTS_SEED=%u repeats it)\n", seed, seed);
  return seed;
}

}  // namespace

TEST_CASE("SIGKILL at random moments: POP3 nokeep", "[long]") {
  unsigned seed = trial_seed();
  INFO("seed " << seed);
  kill_trial({"pop3", false}, seed);
}

TEST_CASE("SIGKILL at random moments: POP3 keep", "[long]") {
  unsigned seed = trial_seed();
  INFO("seed " << seed);
  kill_trial({"pop3", true}, seed);
}

TEST_CASE("SIGKILL at random moments: IMAP nokeep", "[long]") {
  unsigned seed = trial_seed();
  INFO("seed " << seed);
  kill_trial({"imap", false}, seed);
}

TEST_CASE("SIGKILL at random moments: IMAP keep", "[long]") {
  unsigned seed = trial_seed();
  INFO("seed " << seed);
  kill_trial({"imap", true}, seed);
}
