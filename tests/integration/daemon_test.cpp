// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Daemon mode end to end: the clamfetch binary started in the background (-N) as the
// unprivileged test user against the fixture's real Dovecot and Postfix, driven by signals
// the way an administrator (or systemd) drives it: SIGHUP with a broken and then a fixed rc
// file, SIGUSR1, SIGTERM, -q; and --idle, where only IMAP IDLE can explain a fast delivery.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;
using Clock = std::chrono::steady_clock;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The whole file, or "" while it does not exist.
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Polls `done` every 100 ms for up to `seconds` (generous: the machine is shared).
bool eventually(const std::function<bool()>& done, int seconds = 60) {
  auto until = Clock::now() + std::chrono::seconds(seconds);
  while (!done()) {
    if (Clock::now() > until) return false;
    usleep(100000);
  }
  return true;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// True while `pid` runs (a zombie waiting for its parent counts as gone).
bool alive(long pid) {
  if (kill(static_cast<pid_t>(pid), 0) != 0) return false;
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

// A clamfetch daemon in the foreground (-N) of a subshell of the test user that waits for it
// and writes its exit status, so the test can see how it ended. Killed if the test fails.
class Daemon {
 public:
  Daemon(const MailServers& servers, const ClamfetchUser& user, const std::string& args) {
    const std::string base = user.home() + "/daemon";
    status_path_ = base + ".status";
    const std::string command = "(CLAMFETCH_HOME=" + user.home() + " " + clamfetch_binary() + " " + args +
                                " </dev/null >" + base + ".out 2>&1 & echo $! >" + base + ".pid.tmp; mv " + base +
                                ".pid.tmp " + base + ".pid; wait $!; echo $? >" + base + ".status.tmp; mv " +
                                base + ".status.tmp " + status_path_ + ") </dev/null >/dev/null 2>&1 &";
    run({"/bin/sh", "-c", command}, servers.env("TEST_USER"));
    REQUIRE(eventually([&] { return !slurp(base + ".pid").empty(); }, 10));
    pid_ = std::stol(slurp(base + ".pid"));
  }
  ~Daemon() {
    if (alive(pid_)) kill(static_cast<pid_t>(pid_), SIGKILL);
    eventually([&] { return !alive(pid_); }, 10);
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  long pid() const { return pid_; }
  void signal(int sig) const { REQUIRE(kill(static_cast<pid_t>(pid_), sig) == 0); }
  /// The exit status once the daemon ended (waits for it), or -1 if it still runs.
  int exit_status(int seconds = 60) const {
    if (!eventually([&] { return !slurp(status_path_).empty(); }, seconds)) return -1;
    return std::stoi(slurp(status_path_));
  }

 private:
  long pid_ = 0;
  std::string status_path_;
};

// A second account, pop3userid2 -> virtualuser2, appended to the last [[poll]] of an rc.
const std::string kSecondUser =
    "\n  [[poll.user]]\n  username = \"pop3userid2\"\n  password = \"pop3password2\"\n"
    "  is = \"virtualuser2@example.com\"\n";

}  // namespace

TEST_CASE("daemon -d 2 delivers and survives SIGHUP with a broken rc then picks up a fixed rc and -q stops it") {
  MailServers servers;
  ClamfetchUser user(servers);
  const std::string log = user.home() + "/clamfetch.log";
  servers.seed("pop3userid1", make_message("d1@daemon", 2000));
  servers.seed("pop3userid1", make_message("d2@daemon", 2000));
  user.write_rc(user.standard_rc());
  Daemon daemon(servers, user, "-N -d 2 -L " + log + " -f " + user.rc_path());

  // The first poll, then a later one for mail that arrived while it ran.
  CHECK(eventually([&] { return servers.delivered("virtualuser1").size() == 2; }));
  servers.seed("pop3userid1", make_message("d3@daemon", 2000));
  CHECK(eventually([&] { return servers.delivered("virtualuser1").size() == 3; }));

  // A broken rc file: logged, the running configuration stays, the daemon keeps polling.
  user.write_rc(user.standard_rc() + "\n[[[ this is not TOML\n");
  daemon.signal(SIGHUP);
  CHECK(eventually([&] { return contains(slurp(log), "rc file not reloaded"); }));
  CHECK(alive(daemon.pid()));
  servers.seed("pop3userid1", make_message("d4@daemon", 2000));
  CHECK(eventually([&] { return servers.delivered("virtualuser1").size() == 4; }));

  // A fixed rc file with a second account: the next polls serve it too.
  user.write_rc(user.standard_rc() + kSecondUser);
  daemon.signal(SIGHUP);
  CHECK(eventually([&] { return contains(slurp(log), "rc file " + user.rc_path() + " reloaded"); }));
  servers.seed("pop3userid2", make_message("e1@daemon", 2000));
  CHECK(eventually([&] { return servers.delivered("virtualuser2").size() == 1; }));
  servers.wait_queue_empty();
  CHECK(servers.delivered("virtualuser1").size() == 4);
  CHECK(contains(servers.delivered("virtualuser2")[0], "Message-ID: <e1@daemon>"));

  auto quit = user.clamfetch({"-q"});
  INFO(quit.err << slurp(log));
  CHECK(quit.exit_code == 0);
  CHECK(eventually([&] { return !alive(daemon.pid()); }, 10));
  int status = daemon.exit_status();
  CHECK((status == 0 || status == 1));  // the last poll's code: it ended by itself, not killed
  CHECK(servers.remote_messages("pop3userid1").empty());
  CHECK(servers.remote_messages("pop3userid2").empty());
}

TEST_CASE("daemon -d 60: SIGUSR1 polls at once and SIGTERM ends it cleanly") {
  MailServers servers;
  ClamfetchUser user(servers);
  const std::string log = user.home() + "/clamfetch.log";
  servers.seed("pop3userid1", make_message("u1@daemon", 2000));
  user.write_rc(user.standard_rc());
  Daemon daemon(servers, user, "-N -d 60 -L " + log + " -f " + user.rc_path());
  REQUIRE(eventually([&] { return servers.delivered("virtualuser1").size() == 1; }));

  // The first poll listed the mailbox before it delivered: this one waits for the next poll,
  // 60 s away, unless SIGUSR1 brings it forward. (Sent while the first poll may still be
  // closing, the signal waits for sigtimedwait: no race.)
  servers.seed("pop3userid1", make_message("u2@daemon", 2000));
  auto start = Clock::now();
  daemon.signal(SIGUSR1);
  REQUIRE(eventually([&] { return servers.delivered("virtualuser1").size() == 2; }, 50));
  double waited = seconds_since(start);
  std::fprintf(stderr, "SIGUSR1 -> delivered in %.2f s\n", waited);
  CHECK(waited < 15.0);

  daemon.signal(SIGTERM);
  int status = daemon.exit_status();
  INFO(slurp(log));
  CHECK(status == 0);  // the last poll retrieved mail; a signal death would read 143
  CHECK_FALSE(alive(daemon.pid()));
  CHECK(contains(slurp(log), "terminated by signal, exiting"));
  // The lock went with it: a one-shot run is not refused (exit 1: no mail).
  CHECK(user.clamfetch({}).exit_code == 1);
}

TEST_CASE("daemon --idle -d 300: IMAP IDLE delivers new mail within 5 s while POP3 accounts still poll") {
  MailServers servers;
  ClamfetchUser user(servers);
  const std::string log = user.home() + "/clamfetch.log";
  // pop3userid1 over IMAPS (IDLE), pop3userid2 over POP3S (the main loop's interval polls).
  std::string rc = user.standard_rc("imap", "implicit") +
                   "\n[[poll]]\nserver = \"localhost\"\nprotocol = \"pop3\"\nport = " +
                   servers.env("POP3S_PORT") + "\ntls = \"implicit\"\nca_file = \"" + user.home() +
                   "/ca.pem\"\n" + kSecondUser;
  user.write_rc(rc);
  servers.seed("pop3userid1", make_message("i0@idle", 2000));
  servers.seed("pop3userid2", make_message("p0@idle", 2000));
  Daemon daemon(servers, user, "-N -v -d 300 --idle -L " + log + " -f " + user.rc_path());
  const std::string idling = "pop3userid1@localhost: idling on INBOX";

  // Both accounts' waiting mail goes at start; then the IMAP account waits in IDLE.
  CHECK(eventually([&] { return servers.delivered("virtualuser1").size() == 1; }));
  CHECK(eventually([&] { return servers.delivered("virtualuser2").size() == 1; }));
  REQUIRE(eventually([&] { return contains(slurp(log), idling); }));

  // In IDLE again after its last delivery (and after log offset `from`): the watcher logs
  // "idling" each time it enters IDLE, always after the poll that delivered.
  auto in_idle_after = [&](std::size_t from) {
    std::string text = slurp(log);
    auto last = text.rfind("reading message pop3userid1@localhost:");
    return text.find(idling, std::max(from, last == std::string::npos ? 0 : last)) != std::string::npos;
  };

  // Three rounds: the first IDLE, IDLE re-entered after a poll, and after SIGHUP restarted
  // the watchers. With -d 300 only IDLE can deliver this fast.
  for (int round = 1; round <= 3; ++round) {
    std::size_t from = 0;
    if (round == 3) {
      from = slurp(log).size();
      daemon.signal(SIGHUP);
      REQUIRE(eventually([&] { return contains(slurp(log), "rc file " + user.rc_path() + " reloaded"); }));
    }
    REQUIRE(eventually([&] { return in_idle_after(from); }));
    auto start = Clock::now();
    servers.seed("pop3userid1", make_message("i" + std::to_string(round) + "@idle", 2000));
    REQUIRE(eventually([&] { return servers.delivered("virtualuser1").size() == 1u + round; }));
    double waited = seconds_since(start);
    std::fprintf(stderr, "IDLE round %d: seeded and delivered in %.2f s\n", round, waited);
    CHECK(waited <= 5.0);
  }
  // Back in IDLE means the deletions were expunged first: the server is empty (nokeep).
  CHECK(eventually([&] { return in_idle_after(0); }));
  CHECK(servers.remote_messages("pop3userid1").empty());
  CHECK(servers.remote_messages("pop3userid2").empty());

  auto quit = user.clamfetch({"-q"});
  INFO(quit.err << slurp(log));
  CHECK(quit.exit_code == 0);
  CHECK(eventually([&] { return !alive(daemon.pid()); }, 10));
  CHECK(daemon.exit_status() != -1);
  servers.wait_queue_empty();
  CHECK(servers.delivered("virtualuser1").size() == 4);
}
