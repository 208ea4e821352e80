// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Issue 20, point 4: --syslog for real. These machines run no syslog daemon, so the test
// starts an rsyslogd of its own (own configuration, pid file, work directory and imuxsock
// socket, writing to a file in a temp directory), and runs clamfetch in a private mount
// namespace whose /dev holds a `log` link to that socket: glibc's syslog() always writes to
// /dev/log, and the machine's /dev is left alone. Checked: the facility (mail), the
// priorities, the ident with the pid, and fetchmail's line formats intact.

#include <catch2/catch.hpp>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// A private rsyslogd: everything it receives on DIR/log.sock goes to DIR/syslog.out as
/// "<facility>.<severity> <tag><message>".
class Rsyslog {
 public:
  Rsyslog() {
    char tmpl[] = "/tmp/cfsyslogXXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    REQUIRE(chmod(dir_.c_str(), 0755) == 0);  // the test user connects to the socket in it
    std::ofstream(dir_ + "/rsyslog.conf")
        << "global(workDirectory=\"" << dir_ << "\")\n"
        << "module(load=\"imuxsock\" SysSock.Use=\"off\")\n"
        << "input(type=\"imuxsock\" Socket=\"" << socket() << "\" RateLimit.Interval=\"0\")\n"
        << "template(name=\"plain\" type=\"string\" "
           "string=\"%syslogfacility-text%.%syslogseverity-text% %syslogtag%%msg%\\n\")\n"
        << "*.* action(type=\"omfile\" file=\"" << output() << "\" template=\"plain\")\n";
    auto r = run({"/usr/sbin/rsyslogd", "-f", dir_ + "/rsyslog.conf", "-i", dir_ + "/rsyslogd.pid"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    for (int i = 0; i < 100 && !std::filesystem::exists(socket()); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(std::filesystem::exists(socket()));
  }
  ~Rsyslog() {
    std::ifstream in(dir_ + "/rsyslogd.pid");
    pid_t pid = 0;
    if (in >> pid && pid > 0 && kill(pid, SIGTERM) == 0) {
      for (int i = 0; i < 100 && kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string socket() const { return dir_ + "/log.sock"; }
  std::string output() const { return dir_ + "/syslog.out"; }
  const std::string& dir() const { return dir_; }

  /// What arrived, once it holds `needle` (rsyslog writes asynchronously); waits up to 10 s.
  std::string wait_for(const std::string& needle) const {
    std::string text;
    for (int i = 0; i < 200; ++i) {
      std::ifstream in(output());
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      if (contains(text, needle)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return text;
  }

 private:
  std::string dir_;
};

/// Runs clamfetch as the test user in a mount namespace of its own whose /dev is DIR/dev:
/// null, zero, random and urandom bound from the real /dev, and log -> the rsyslogd socket.
RunResult clamfetch_with_dev_log(const MailServers& servers, const ClamfetchUser& user, const Rsyslog& syslog,
                                 const std::vector<std::string>& args) {
  std::string script =
      "set -e; dev=\"$1\"; shift; mkdir -p \"$dev\"; mount --make-rprivate /; "
      "for n in null zero random urandom; do touch \"$dev/$n\"; mount --bind \"/dev/$n\" \"$dev/$n\"; done; "
      "ln -s \"$SYSLOG_SOCKET\" \"$dev/log\"; mount --rbind \"$dev\" /dev; "
      "exec setpriv --reuid=\"$TEST_USER\" --regid=\"$TEST_USER\" --init-groups --reset-env "
      "env CLAMFETCH_HOME=\"$CLAMFETCH_HOME\" \"$@\"";
  std::vector<std::string> argv{"unshare", "-m", "--", "sh", "-c", script, "sh", syslog.dir() + "/dev",
                                clamfetch_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, "",
             {{"SYSLOG_SOCKET", syslog.socket()}, {"TEST_USER", servers.env("TEST_USER")},
              {"CLAMFETCH_HOME", user.home()}});
}

}  // namespace

TEST_CASE("syslog (--syslog): facility mail, ident clamfetch[pid], priorities by level, fetchmail's lines intact") {
  MailServers servers;
  ClamfetchUser user(servers);
  Rsyslog syslog;
  servers.seed("pop3userid1", make_message("syslog-clean@test", 1000));
  servers.seed("pop3userid1", infected_message("syslog-virus@test"));
  // A second account with a wrong password: an error line.
  user.write_rc(user.standard_rc("pop3", "implicit",
                                 "\n  [[poll.user]]\n  username = \"pop3userid2\"\n  password = \"wrong-password\"\n"
                                 "  is = \"virtualuser2@example.com\"\n"));

  auto r = clamfetch_with_dev_log(servers, user, syslog, {"-v", "--syslog"});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK_FALSE(contains(r.err, "reading message"));  // the log went to syslog, not stderr
  std::string log = syslog.wait_for("pop3userid2");
  INFO("syslog:\n" << log);

  // Every line: facility mail, the ident with the pid.
  std::regex line_shape("^mail\\.(debug|info|notice|warning|err) clamfetch\\[[0-9]+\\]: .+$");
  std::istringstream lines(log);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    INFO(line);
    CHECK(std::regex_match(line, line_shape));
  }
  CHECK(count >= 4);
  // fetchmail's lines, whole (info level: LOG_NOTICE).
  CHECK(std::regex_search(log, std::regex("(^|\n)mail\\.notice clamfetch\\[[0-9]+\\]: 2 messages for pop3userid1 at "
                                          "localhost \\([0-9]+ octets\\)\\.\n")));
  // The per-message lines are -v output (LOG_INFO).
  CHECK(std::regex_search(log, std::regex("(^|\n)mail\\.info clamfetch\\[[0-9]+\\]: reading message "
                                          "pop3userid1@localhost:1 of 2 \\([0-9]+ octets\\) clean, flushed\n")));
  CHECK(std::regex_search(log, std::regex("(^|\n)mail\\.info clamfetch\\[[0-9]+\\]: reading message "
                                          "pop3userid1@localhost:2 of 2 \\([0-9]+ octets\\) INFECTED "
                                          "Clamfetch\\.Test\\.EICAR[^ ,]*, diverted to postmaster@example\\.com, "
                                          "quarantined as [0-9a-f]+, flushed\n")));
  // The failed login at LOG_ERR.
  CHECK(std::regex_search(log, std::regex("(^|\n)mail\\.err clamfetch\\[[0-9]+\\]: [^\n]*pop3userid2")));
}
