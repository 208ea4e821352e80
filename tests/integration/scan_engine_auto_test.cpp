// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// engine = auto through the real binary: with neither database nor clamd set, a run uses the
// local clamd when its socket answers PING (a real clamd, Debian's clamav-daemon binary,
// started by the test with its own config on a private socket, found through
// [scan] clamd_conf), and libclamav in-process once that clamd is stopped; -v and --version
// say which and why.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A clamd of our own on a private socket the test user may connect to, with the test
// signatures. Stopped and removed on destruction.
class Clamd {
 public:
  Clamd() {
    char pattern[] = "/tmp/cfauto-XXXXXX";
    dir_ = mkdtemp(pattern);
    chmod(dir_.c_str(), 0755);  // the test user reaches the socket and reads clamd.conf
    fs::copy(CLAMFETCH_SOURCE_DIR "/tests/data/signatures", dir_ + "/db");
    std::ofstream(conf()) << "LocalSocket " << socket_path() << "\nLocalSocketMode 666\n"
                          << "DatabaseDirectory " << dir_ << "/db\nForeground yes\nLogFile " << dir_
                          << "/clamd.log\nTemporaryDirectory " << dir_ << "\nPidFile " << dir_
                          << "/clamd.pid\n";
    pid_ = fork();
    if (pid_ == 0) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      execl("/usr/sbin/clamd", "clamd", "-c", conf().c_str(), nullptr);
      _exit(127);
    }
    REQUIRE(pid_ > 0);
    for (int i = 0; i < 300 && !ping(); ++i) {  // up to 30 s
      REQUIRE(waitpid(pid_, nullptr, WNOHANG) == 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    REQUIRE(ping());
  }
  ~Clamd() {
    stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Clamd(const Clamd&) = delete;
  Clamd& operator=(const Clamd&) = delete;

  std::string socket_path() const { return dir_ + "/clamd.sock"; }
  std::string conf() const { return dir_ + "/clamd.conf"; }

  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100 && waitpid(pid_, nullptr, WNOHANG) != pid_; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (waitpid(pid_, nullptr, WNOHANG) == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }

 private:
  bool ping() const {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path().c_str(), sizeof addr.sun_path - 1);
    bool ok = false;
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && write(fd, "zPING", 6) == 6) {
      char buf[16] = {};
      ok = read(fd, buf, sizeof buf - 1) > 0 && std::string(buf) == "PONG";
    }
    close(fd);
    return ok;
  }

  std::string dir_;
  pid_t pid_ = -1;
};

}  // namespace

TEST_CASE("engine = auto uses the local clamd while it answers PING and libclamav once it is stopped") {
  MailServers servers;
  ClamfetchUser user(servers);
  Clamd clamd;
  // No database, no clamd: engine = auto (the default) decides; clamd_conf points it at ours.
  std::string rc = std::regex_replace(user.standard_rc(), std::regex("database = \"[^\"]*\"\n"),
                                      "clamd_conf = \"" + clamd.conf() + "\"\nmax_file_size = \"1K\"\n");
  user.write_rc(rc);

  const std::string via_clamd =
      "engine: clamd at unix:" + clamd.socket_path() + " (engine = auto: the local clamd answered PING)";
  auto version = user.clamfetch({"--version"});
  INFO(version.out << version.err);
  CHECK(contains(version.out, via_clamd));

  // A run with mail scans through clamd (it holds the signatures; nothing is loaded here).
  servers.seed("pop3userid1", infected_message("virus@auto"));
  servers.seed("pop3userid1", make_message("clean@auto", 500));
  auto run = user.clamfetch({"-v"});
  INFO(run.err);
  CHECK(contains(run.err, "scan: " + via_clamd));
  CHECK(contains(run.err, "INFECTED Clamfetch.Test.EICAR.UNOFFICIAL"));
  CHECK(contains(run.err, "verdict=clean"));
  CHECK(servers.remote_messages("pop3userid1").empty());

  clamd.stop();
  const std::string in_process = "libclamav in-process, database /var/lib/clamav (engine = auto: no local clamd "
                                 "answered PING on unix:" + clamd.socket_path() + ")";
  version = user.clamfetch({"--version"});
  CHECK(contains(version.out, "engine: " + in_process));
  // The choice at -v: a file over max_file_size is not scanned, so the default database
  // (absent here, a full one on a real host) is never loaded.
  std::ofstream(user.home() + "/big.eml") << make_message("big@auto", 4000);
  auto scan = user.clamfetch({"-v", "--scan", user.home() + "/big.eml"});
  INFO(scan.out << scan.err);
  CHECK(contains(scan.err, "scan: engine: " + in_process));
  CHECK(contains(scan.out, "not scanned: larger than max_file_size"));
}
