// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The clamd Scanner against a real clamd (Debian's clamav-daemon) started by the test on a
// unix socket in a temp dir with the test signature database: the same corpus gives the same
// verdicts as libclamav in-process; fail-over along scan.clamd; all down is a scan error; a
// farm of three spreads the scans and loses none when one stops mid-run.

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "scan/scan.hpp"
#include "tests/data/corpus/scan_corpus.hpp"

using namespace clamfetch;
namespace corpus = clamfetch::test::corpus;
namespace fs = std::filesystem;

namespace {

// A clamd of our own: config, database copy, socket, log and temp files in one short temp
// directory (unix socket paths must stay under 108 bytes). Stopped and removed on destruction,
// whatever the test's outcome.
class Clamd {
 public:
  explicit Clamd(const std::string& extra_config = {}) {
    char pattern[] = "/tmp/cfclamd-XXXXXX";
    dir_ = mkdtemp(pattern);
    fs::copy(corpus::signatures_dir(), dir_ + "/db");
    std::ofstream(dir_ + "/clamd.conf")
        << "LocalSocket " << socket_path() << "\nDatabaseDirectory " << dir_ << "/db\n"
        << "Foreground yes\nLogFile " << dir_ << "/clamd.log\nTemporaryDirectory " << dir_
        << "\nPidFile " << dir_ << "/clamd.pid\nAlertExceedsMax yes\n" << extra_config;
    start();
  }
  ~Clamd() {
    stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Clamd(const Clamd&) = delete;
  Clamd& operator=(const Clamd&) = delete;

  /// Stops clamd now (the destructor does it too): a farm member going away.
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  std::string socket_path() const { return dir_ + "/clamd.sock"; }
  std::string address() const { return "unix:" + socket_path(); }
  const std::string& dir() const { return dir_; }

 private:
  void start() {
    const std::string conf = dir_ + "/clamd.conf";  // built before fork: the child must not allocate
    pid_ = fork();
    if (pid_ == 0) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      execl("/usr/sbin/clamd", "clamd", "-c", conf.c_str(), nullptr);
      _exit(127);
    }
    REQUIRE(pid_ > 0);
    for (int i = 0; i < 300; ++i) {  // up to 30 s
      if (ping()) return;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL("clamd exited at start; log:\n" << corpus::read_file(dir_ + "/clamd.log"));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL("clamd did not answer PING within 30 s");
  }

  bool ping() const {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path().c_str(), sizeof addr.sun_path - 1);
    bool ok = false;
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        write(fd, "zPING", 6) == 6) {
      char buf[16] = {};
      ok = read(fd, buf, sizeof buf - 1) > 0 && std::string(buf) == "PONG";
    }
    close(fd);
    return ok;
  }

  std::string dir_;
  pid_t pid_ = -1;
};

// A unix socket that accepts connections (kernel backlog) and never answers: a hung clamd.
class SilentSocket {
 public:
  explicit SilentSocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(listen(fd_, 8) == 0);
  }
  ~SilentSocket() {
    close(fd_);
    unlink(path_.c_str());
  }
  SilentSocket(const SilentSocket&) = delete;
  SilentSocket& operator=(const SilentSocket&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
};

scan::Settings clamd_settings(std::vector<std::string> addresses) {
  scan::Settings s;
  s.clamd = std::move(addresses);
  s.timeout_seconds = 20;
  return s;
}

}  // namespace

TEST_CASE("the corpus through clamd gives the same verdicts as libclamav in-process") {
  Clamd clamd;
  Log log;
  auto remote = scan::make_scanner(clamd_settings({clamd.address()}), log);
  scan::Settings local_settings;
  local_settings.database = corpus::signatures_dir();
  local_settings.temp_dir = clamd.dir() + "/local";
  auto local = scan::make_scanner(local_settings, log);
  CHECK_FALSE(remote->loaded());

  int infected = 0;
  for (const auto& c : corpus::infected_cases()) {
    INFO(c.label);
    Verdict r = remote->scan(c.message);
    Verdict l = local->scan(c.message);
    REQUIRE(r.status == Verdict::Status::infected);
    CHECK(l.status == Verdict::Status::infected);
    CHECK(r.virus == l.virus);
    if (!c.prefix) CHECK(r.virus == c.expected);
    infected += r.status == Verdict::Status::infected;
  }
  CHECK(infected == static_cast<int>(corpus::infected_cases().size()));
  CHECK(remote->loaded());

  int clean = 0;
  for (const auto& m : corpus::clean_messages(200)) {
    Verdict r = remote->scan(m);
    INFO(describe(r));
    CHECK(r.status == local->scan(m).status);
    clean += r.status == Verdict::Status::clean;
  }
  CHECK(clean == 200);
  CHECK(remote->engine_version() == "ClamAV " + scan::library_version());  // clamd's zVERSION
}

TEST_CASE("fail-over: dead socket, refused port and a hung clamd are skipped") {
  Clamd clamd;
  Log log;
  SilentSocket hung(clamd.dir() + "/hung.sock");
  auto settings = clamd_settings({"unix:" + clamd.dir() + "/dead.sock", "tcp:127.0.0.1:1",
                                  "unix:" + clamd.dir() + "/hung.sock", clamd.address()});
  settings.timeout_seconds = 2;
  auto scanner = scan::make_scanner(settings, log);
  auto start = std::chrono::steady_clock::now();
  Verdict v = scanner->scan(corpus::eicar());
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(v.status == Verdict::Status::infected);
  CHECK(v.virus == "Clamfetch.Test.EICAR.UNOFFICIAL");
  CHECK(elapsed >= 1.5);  // the hung one cost its timeout
  CHECK(elapsed < 10);
  CHECK(scanner->scan("Subject: hi\r\n\r\nhello\r\n").status == Verdict::Status::clean);
}

TEST_CASE("all clamd addresses down: a scan error naming each, never clean") {
  char pattern[] = "/tmp/cfdown-XXXXXX";
  std::string dir = mkdtemp(pattern);
  Log log;
  auto scanner = scan::make_scanner(
      clamd_settings({"unix:" + dir + "/none.sock", "tcp:127.0.0.1:1"}), log);
  Verdict v = scanner->scan("Subject: hi\r\n\r\nhello\r\n");
  fs::remove_all(dir);
  CHECK(v.status == Verdict::Status::error);
  CHECK(v.reason.rfind("clamd unreachable: unix:" + dir + "/none.sock: ", 0) == 0);
  CHECK(v.reason.find("; tcp:127.0.0.1:1: Connection refused") != std::string::npos);
  CHECK_FALSE(scanner->loaded());
  CHECK(scanner->engine_version() == "clamd");
}

TEST_CASE("over clamd's StreamMaxLength: clamd's ERROR is a scan error, the stream is chunked") {
  Clamd clamd("StreamMaxLength 1M\n");
  Log log;
  auto scanner = scan::make_scanner(clamd_settings({clamd.address()}), log);
  // 900 KB in 64 KB chunks passes; the EICAR at its end proves the chunks were reassembled.
  std::string fits = "Subject: big\r\n\r\n" + std::string(900 * 1024, 'a') + "\r\n" + corpus::eicar() + "\r\n";
  Verdict ok = scanner->scan(fits);
  CHECK(ok.status == Verdict::Status::infected);
  std::string too_big = "Subject: bigger\r\n\r\n" + std::string(3 << 20, 'a') + "\r\n";
  Verdict v = scanner->scan(too_big);
  CHECK(v.status == Verdict::Status::error);
  CHECK(v.reason == "clamd: INSTREAM size limit exceeded. ERROR");
}

TEST_CASE("clamd scanner: over max_file_size is not sent at all - a bad address is reported") {
  Log log;
  auto settings = clamd_settings({"unix:/nonexistent/clamd.sock"});
  settings.max_file_size = 10;
  auto scanner = scan::make_scanner(settings, log);
  CHECK(scanner->scan("Subject: x\r\n\r\nlonger than ten\r\n").status == Verdict::Status::oversize);
  auto bad = scan::make_scanner(clamd_settings({"clamd.example:3310"}), log);
  Verdict v = bad->scan("x");
  CHECK(v.status == Verdict::Status::error);
  CHECK(v.reason.find("bad address 'clamd.example:3310'") != std::string::npos);
}

TEST_CASE("a clamd farm: scans spread over three, one stopped mid-run, every verdict still right") {
  Clamd a, b, c;
  char pattern[] = "/tmp/cffarm-XXXXXX";
  std::string dir = mkdtemp(pattern);
  std::vector<std::string> counts;
  std::vector<Verdict::Status> got;
  std::vector<bool> infected_sent;
  {
    Log log;
    log.set_level(Level::verbose);
    REQUIRE(log.use_file(dir + "/log").ok());
    auto scanner = scan::make_scanner(clamd_settings({a.address(), b.address(), c.address()}), log);
    std::mutex mutex;
    auto worker = [&](int id) {
      for (int i = 0; i < 20; ++i) {
        bool infected = (i + id) % 3 == 0;
        std::string message = "Subject: farm " + std::to_string(id) + "/" + std::to_string(i) +
                              "\r\n\r\n" + (infected ? corpus::eicar() : "hello") + "\r\n";
        Verdict v = scanner->scan(message);
        std::lock_guard lock(mutex);
        got.push_back(v.status);
        infected_sent.push_back(infected);
        if (got.size() == 30) b.stop();  // half-way: one member of the farm goes away
      }
    };
    std::vector<std::thread> threads;
    for (int id = 0; id < 3; ++id) threads.emplace_back(worker, id);
    for (auto& t : threads) t.join();
  }  // the scanner's end logs the per-address counts
  std::istringstream lines(corpus::read_file(dir + "/log"));
  for (std::string line; std::getline(lines, line);) {
    if (line.find("scan: clamd unix:") != std::string::npos && line.find(" scans, ") != std::string::npos) {
      counts.push_back(line);
    }
  }
  fs::remove_all(dir);
  REQUIRE(got.size() == 60);
  for (std::size_t i = 0; i < got.size(); ++i) {
    // Nothing lost to the stopped clamd (no error verdict) and nothing passed unscanned.
    CHECK(got[i] == (infected_sent[i] ? Verdict::Status::infected : Verdict::Status::clean));
  }
  REQUIRE(counts.size() == 3);
  for (const auto& line : counts) {
    INFO(line);
    std::size_t colon = line.rfind(": ");
    std::size_t scans = std::stoul(line.substr(colon + 2));
    CHECK(scans >= 5);  // every member took a share, the stopped one before it stopped
    // The stopped one was tried again, failed, and its scans went to the others.
    if (line.find(b.address() + ":") != std::string::npos) CHECK_FALSE(line.ends_with(" 0 failures"));
  }
}
