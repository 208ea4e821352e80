// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Signatures that stay current in a daemon ([scan] self_check, reload, SIGUSR2), through the
// real binary against the fixture's Dovecot and Postfix: the test swaps a new test-only
// signature into the database the daemon uses, as freshclam would (a file written aside and
// renamed in), and sends messages while the reload runs. The database carries enough filler
// body signatures for a load of about a second, so that polls fall inside the reload.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

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

// A clamfetch daemon of the test user in the foreground (-N); killed at the end of the test.
class Daemon {
 public:
  Daemon(const MailServers& servers, const ClamfetchUser& user, const std::string& args) {
    const std::string base = user.home() + "/daemon";
    const std::string command = "(CLAMFETCH_HOME=" + user.home() + " " + clamfetch_binary() + " " + args +
                                " </dev/null >" + base + ".out 2>&1 & echo $! >" + base + ".pid.tmp; mv " +
                                base + ".pid.tmp " + base + ".pid; wait $!) </dev/null >/dev/null 2>&1 &";
    run({"/bin/sh", "-c", command}, servers.env("TEST_USER"));
    REQUIRE(eventually([&] { return !slurp(base + ".pid").empty(); }, 10));
    pid_ = static_cast<pid_t>(std::stol(slurp(base + ".pid")));
  }
  ~Daemon() {
    kill(pid_, SIGTERM);
    if (!eventually([&] { return kill(pid_, 0) != 0; }, 10)) kill(pid_, SIGKILL);
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  void signal(int sig) const { REQUIRE(kill(pid_, sig) == 0); }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = 0;
};

// The test-only signature's body marker, built in two parts so that no file of the
// repository matches it.
std::string reload_marker() { return std::string("CLAMFETCH-RELOAD-") + "TEST-MARKER"; }
const std::string kReloadVirus = "Clamfetch.Test.Reload.UNOFFICIAL";

std::string hex(const std::string& text) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// The daemon's database: the test signatures, optionally `filler` random body signatures
// (they make the load last), in the test user's home (readable by the daemon).
class Database {
 public:
  Database(const ClamfetchUser& user, int filler) : dir_(user.home() + "/db") {
    fs::create_directories(dir_);
    for (const auto& entry : fs::directory_iterator(CLAMFETCH_SOURCE_DIR "/tests/data/signatures")) {
      fs::copy(entry.path(), dir_ + "/" + entry.path().filename().string());
    }
    if (filler == 0) return;
    std::mt19937 random(19);
    std::ofstream out(dir_ + "/filler.ndb");
    for (int i = 0; i < filler; ++i) {
      std::string bytes;
      for (int j = 0; j < 16; ++j) bytes += static_cast<char>(random() & 0xff);
      out << "Clamfetch.Test.Filler" << i << ":0:*:" << hex(bytes) << "\n";
    }
  }
  const std::string& dir() const { return dir_; }
  // Written aside and renamed in, as freshclam does.
  void add(const std::string& name, const std::string& content) const {
    std::ofstream(dir_ + "/../" + name + ".tmp") << content;
    fs::rename(dir_ + "/../" + name + ".tmp", dir_ + "/" + name);
  }
  void add_reload_signature() const {
    add("reload.ndb", "Clamfetch.Test.Reload:0:*:" + hex(reload_marker()) + "\n");
  }

 private:
  std::string dir_;
};

std::string marked_message(const std::string& id) {
  return make_message(id, 1000) + "\r\n" + reload_marker() + "\r\n";
}

// The standard rc on `db` with these [scan] keys.
std::string reload_rc(const ClamfetchUser& user, const Database& db, const std::string& protocol,
                      const std::string& scan_keys) {
  std::string rc = user.standard_rc(protocol);
  std::regex database("database = \"[^\"]*\"\n");
  return std::regex_replace(rc, database, "database = \"" + db.dir() + "\"\n" + scan_keys);
}

// Seeds a clean message every 300 ms (on a thread of its own) until the log says the reload
// is over; returns how many, and in `reloaded_after` how long after `swapped` the log said so.
// With `poll_now` (a polling daemon's pid), once the log says the blocking reload freed the
// old engine, one more message and SIGUSR1 make a poll land inside the reload for certain.
int seed_during_reload(const MailServers& servers, const std::string& log, const std::string& tag,
                       Clock::time_point swapped, double& reloaded_after, pid_t poll_now = 0) {
  std::atomic<bool> over{false};
  std::atomic<int> seeded{0};
  std::thread seeder([&] {
    try {
      bool poked = false;
      auto seed = [&] {
        servers.seed("pop3userid1", make_message(tag + std::to_string(seeded) + "@reload", 1000));
        ++seeded;
      };
      auto last_seed = Clock::now() - std::chrono::seconds(1);
      while (!over) {
        if (poll_now != 0 && !poked && contains(slurp(log), "scans wait for the new one")) {
          poked = true;
          seed();
          kill(poll_now, SIGUSR1);
        }
        if (Clock::now() - last_seed >= std::chrono::milliseconds(300)) {
          seed();
          last_seed = Clock::now();
        }
        usleep(20000);
      }
    } catch (const std::exception& e) {  // no Catch2 assertion off the main thread
      std::fprintf(stderr, "seeding failed: %s\n", e.what());
    }
  });
  eventually([&] { return contains(slurp(log), "signatures reloaded in"); }, 40);
  reloaded_after = seconds_since(swapped);
  over = true;
  seeder.join();
  return seeded;
}

// How many messages the log shows caught by the test-only signature (their delivery lines).
std::size_t caught(const std::string& log) {
  std::istringstream text(slurp(log));
  std::size_t n = 0;
  for (std::string line; std::getline(text, line);) {
    n += contains(line, "delivery account=") && contains(line, "verdict=INFECTED " + kReloadVirus);
  }
  return n;
}

// Every delivered message went through the scanner: none unscanned, none lost.
void check_all_scanned(const MailServers& servers, std::size_t expected) {
  REQUIRE(eventually([&] { return servers.delivered("virtualuser1").size() == expected; }));
  for (const auto& m : servers.delivered("virtualuser1")) {
    INFO(m.substr(0, 400));
    CHECK(contains(m, "X-Virus-Status: Clean"));
  }
}

// How many scans the reload line says came in meanwhile ("N scans waited" / "N scans
// meanwhile on the old engine"), and its load seconds; -1 without one.
std::pair<int, double> reload_facts(const std::string& log, const std::string& mode) {
  std::smatch m;
  std::regex line("signatures reloaded in ([0-9.]+) s \\(" + mode + ", ([0-9]+) scans");
  if (!std::regex_search(log, m, line)) return {-1, 0};
  return {std::stoi(m[2]), std::stod(m[1])};
}

}  // namespace

TEST_CASE("daemon -d 1 reload = blocking: a new signature is caught within self_check plus load, mail during the reload waits and is scanned") {
  MailServers servers;
  ClamfetchUser user(servers);
  Database db(user, 200000);
  const std::string log = user.home() + "/clamfetch.log";
  user.write_rc(reload_rc(user, db, "pop3", "self_check = 1\nreload = \"blocking\"\n"));
  servers.seed("pop3userid1", make_message("first@reload", 1000));
  Daemon daemon(servers, user, "-N -v -d 1 -L " + log + " -f " + user.rc_path());
  REQUIRE(eventually([&] { return servers.delivered("virtualuser1").size() == 1; }));

  auto swapped = Clock::now();
  db.add_reload_signature();
  double reloaded_after = 0;
  int seeded = seed_during_reload(servers, log, "w", swapped, reloaded_after, daemon.pid());
  std::string text = slurp(log);
  INFO(text);
  auto [waited, load_seconds] = reload_facts(text, "blocking");
  std::fprintf(stderr, "blocking: reloaded %.2f s after the swap (load %.2f s), %d scans waited\n",
               reloaded_after, load_seconds, waited);
  REQUIRE(waited >= 1);  // mail came while there was no engine: it waited
  CHECK(reloaded_after <= 1 + load_seconds + 2.0);  // self_check + load (+ the test's own polling)
  check_all_scanned(servers, 1u + seeded);

  // The next message carrying the new signature is caught.
  servers.seed("pop3userid1", marked_message("marked@reload"));
  CHECK(eventually([&] { return caught(log) == 1; }, 20));
  CHECK(servers.remote_messages("pop3userid1").empty());
  CHECK(servers.delivered("virtualuser1").size() == 1u + seeded);
}

TEST_CASE("daemon --idle reload = concurrent: mail during the reload is scanned by the old engine and a broken update keeps it") {
  MailServers servers;
  ClamfetchUser user(servers);
  Database db(user, 200000);
  const std::string log = user.home() + "/clamfetch.log";
  user.write_rc(reload_rc(user, db, "imap", "self_check = 1\nreload = \"concurrent\"\n"));
  servers.seed("pop3userid1", make_message("first@reload", 1000));
  Daemon daemon(servers, user, "-N -v -d 300 --idle -L " + log + " -f " + user.rc_path());
  REQUIRE(eventually([&] { return servers.delivered("virtualuser1").size() == 1; }));

  auto swapped = Clock::now();
  db.add_reload_signature();
  double reloaded_after = 0;
  int seeded = seed_during_reload(servers, log, "c", swapped, reloaded_after);
  {
    std::string text = slurp(log);
    INFO(text);
    auto [meanwhile, load_seconds] = reload_facts(text, "concurrent");
    std::fprintf(stderr, "concurrent: reloaded %.2f s after the swap (load %.2f s), %d scans meanwhile\n",
                 reloaded_after, load_seconds, meanwhile);
    REQUIRE(meanwhile >= 1);
    CHECK(reloaded_after <= 1 + load_seconds + 2.0);
  }
  check_all_scanned(servers, 1u + seeded);
  servers.seed("pop3userid1", marked_message("marked1@reload"));
  CHECK(eventually([&] { return caught(log) == 1; }, 20));

  // A broken update: logged, and the old engine (with the new signature) scans on.
  db.add("broken.ndb", "this is not a signature\n");
  REQUIRE(eventually([&] { return contains(slurp(log), "signature reload failed, still scanning with the old signatures"); }, 20));
  servers.seed("pop3userid1", marked_message("marked2@reload"));
  servers.seed("pop3userid1", make_message("after-broken@reload", 1000));
  CHECK(eventually([&] { return servers.delivered("virtualuser1").size() == 2u + seeded; }, 20));
  CHECK(eventually([&] { return caught(log) == 2; }, 20));
  // IMAP commits the deletions when the watcher goes back into IDLE.
  CHECK(eventually([&] { return servers.remote_messages("pop3userid1").empty(); }, 20));
}

TEST_CASE("daemon self_check = 1h: SIGUSR2 checks the database at once") {
  MailServers servers;
  ClamfetchUser user(servers);
  Database db(user, 0);
  const std::string log = user.home() + "/clamfetch.log";
  user.write_rc(reload_rc(user, db, "pop3", "self_check = \"1h\"\n"));
  servers.seed("pop3userid1", make_message("first@usr2", 1000));
  Daemon daemon(servers, user, "-N -v -d 1 -L " + log + " -f " + user.rc_path());
  REQUIRE(eventually([&] { return servers.delivered("virtualuser1").size() == 1; }));

  db.add_reload_signature();
  auto start = Clock::now();
  daemon.signal(SIGUSR2);
  REQUIRE(eventually([&] { return contains(slurp(log), "signatures reloaded in"); }, 20));
  std::fprintf(stderr, "SIGUSR2 -> reloaded in %.2f s\n", seconds_since(start));
  CHECK(seconds_since(start) < 10);
  INFO(slurp(log));
  servers.seed("pop3userid1", marked_message("marked@usr2"));
  CHECK(eventually([&] { return caught(log) == 1; }, 20));
  CHECK(servers.delivered("virtualuser1").size() == 1);
}
