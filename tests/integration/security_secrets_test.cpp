// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Secrets (issue 7): the passwords never appear in what clamfetch prints or writes, its state
// is private to its user, and a running clamfetch cannot be read by other processes of that
// user (PR_SET_DUMPABLE 0 in main: no core dump, no ptrace, /proc/PID/mem owned by root).
// Everything runs the real binary as the unprivileged test user against the fixture's real
// Dovecot and Postfix: POP3S with the password in the rc file, IMAP+STARTTLS with a
// password_command, each at -v -v (the protocol trace) with -L logfile, and --check-config.
// The rc file readable by others (exit 6) is tested in e2e_test.cpp.

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;
namespace fs = std::filesystem;

namespace {

// The fixture's passwords of the two accounts polled here.
const std::vector<std::string> kPasswords = {"pop3password1", "pop3password2"};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

void check_no_password(const std::string& what, const std::string& text) {
  INFO(what);
  for (const std::string& password : kPasswords) CHECK_FALSE(contains(text, password));
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// POP3S with an inline password for pop3userid1, IMAP+STARTTLS with a password_command for
/// pop3userid2; both deliver to virtualuser1 through the fixture's Postfix.
std::string two_accounts_rc(const MailServers& servers, const ClamfetchUser& user,
                            const std::string& secret_file) {
  std::string ca = user.home() + "/ca.pem";
  return "[global]\npostmaster = \"postmaster@example.com\"\n"
         "\n[defaults]\nsmtphost = \"127.0.0.1:" + servers.env("SMTP_PORT") + "\"\ntimeout = 20\n"
         "\n[scan]\ndatabase = \"" CLAMFETCH_SOURCE_DIR "/tests/data/signatures\"\n"
         "\n[[poll]]\nserver = \"localhost\"\nprotocol = \"pop3\"\nport = " +
         servers.env("POP3S_PORT") + "\ntls = \"implicit\"\nca_file = \"" + ca + "\"\n"
         "\n  [[poll.user]]\n  username = \"pop3userid1\"\n  password = \"pop3password1\"\n"
         "  is = \"virtualuser1@example.com\"\n"
         "\n[[poll]]\nserver = \"localhost\"\nprotocol = \"imap\"\nport = " +
         servers.env("IMAP_PORT") + "\ntls = \"starttls\"\nca_file = \"" + ca + "\"\n"
         "\n  [[poll.user]]\n  username = \"pop3userid2\"\n  password_command = \"cat " +
         secret_file + "\"\n  is = \"virtualuser1@example.com\"\n";
}

/// Every path under `dir` (itself included) whose permission bits are not `dir_mode` for a
/// directory or `file_mode` for anything else, with its mode.
std::vector<std::string> wrong_modes(const std::string& dir, mode_t dir_mode, mode_t file_mode) {
  std::vector<std::string> wrong;
  auto check = [&](const fs::path& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    mode_t want = S_ISDIR(st.st_mode) ? dir_mode : file_mode;
    if ((st.st_mode & 07777) != want) {
      std::ostringstream line;
      line << p.string() << " has mode " << std::oct << (st.st_mode & 07777);
      wrong.push_back(line.str());
    }
  };
  check(dir);
  for (const auto& entry : fs::recursive_directory_iterator(dir)) check(entry.path());
  return wrong;
}

}  // namespace

TEST_CASE("passwords appear in no output, trace, log file or --check-config - state is private") {
  MailServers servers;
  ClamfetchUser user(servers);
  // The password_command reads a file only the test user can read.
  std::string secret = user.home() + "/imap-secret";
  std::ofstream(secret) << "pop3password2\n";
  struct stat home_st {};
  REQUIRE(::stat(user.home().c_str(), &home_st) == 0);
  REQUIRE(::chown(secret.c_str(), home_st.st_uid, home_st.st_gid) == 0);
  REQUIRE(::chmod(secret.c_str(), 0600) == 0);
  user.write_rc(two_accounts_rc(servers, user, secret));
  servers.seed("pop3userid1", make_message("secret-pop3@security", 2000));
  servers.seed("pop3userid2", make_message("secret-imap@security", 2000));
  servers.seed("pop3userid1", infected_message("secret-virus@security"));

  // A state directory clamfetch creates itself, so its mode is clamfetch's doing.
  std::string state = user.home() + "/state";
  std::string logfile = user.home() + "/clamfetch.log";
  std::vector<std::string> run_args = {clamfetch_binary(), "-v", "-v", "-L", logfile,
                                       "-f", user.rc_path()};
  RunResult r = run(run_args, servers.env("TEST_USER"), {{"CLAMFETCH_HOME", state}});
  INFO(r.err);
  std::string log = slurp(logfile);
  INFO(log.substr(0, 4000));
  REQUIRE(r.exit_code == 0);
  servers.wait_queue_empty();
  CHECK(servers.delivered("virtualuser1").size() == 2);

  // The trace really ran, with the login lines masked: the greps below mean something.
  std::string all = r.out + r.err + log;
  CHECK(contains(all, "POP3> AUTH PLAIN ********"));
  CHECK(contains(all, "LOGIN ********"));
  CHECK(contains(all, "IMAP> "));
  check_no_password("stdout", r.out);
  check_no_password("stderr", r.err);
  check_no_password("log file", log);

  RunResult config = run({clamfetch_binary(), "--check-config", "-f", user.rc_path()},
                         servers.env("TEST_USER"), {{"CLAMFETCH_HOME", state}});
  CHECK(config.exit_code == 0);
  CHECK(contains(config.out, "password_command = "));
  check_no_password("--check-config", config.out + config.err);

  // State: directories 0700 and files 0600 (UID store, journal, lock, quarantine); the log
  // file 0600.
  CHECK(wrong_modes(state, 0700, 0600) == std::vector<std::string>{});
  CHECK(fs::exists(state + "/uids"));
  struct stat log_st {};
  REQUIRE(::stat(logfile.c_str(), &log_st) == 0);
  CHECK((log_st.st_mode & 07777) == 0600);
  // Nothing anywhere in the state directory holds a password either.
  for (const auto& entry : fs::recursive_directory_iterator(state)) {
    if (entry.is_regular_file()) check_no_password(entry.path().string(), slurp(entry.path()));
  }
}

TEST_CASE("a running daemon is not dumpable and shows no password in its title or environment") {
  MailServers servers;
  ClamfetchUser user(servers);
  user.write_rc(user.standard_rc());
  auto started = run({"/bin/sh", "-c", "CLAMFETCH_HOME=" + user.home() + " " + clamfetch_binary() +
                      " -N -d 60 -f " + user.rc_path() + " </dev/null >/dev/null 2>&1 & echo $!"},
                     servers.env("TEST_USER"));
  long pid = std::stol(started.out);
  std::string proc = "/proc/" + std::to_string(pid);
  // Wait until it holds the lock: by then main() has long run prctl().
  for (int i = 0; i < 100 && !fs::exists(user.home() + "/clamfetch.pid"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  REQUIRE(::kill(static_cast<pid_t>(pid), 0) == 0);

  // It runs as the test user, yet its /proc files belong to root: the kernel's mark of a
  // non-dumpable process (no core file; other processes of the user cannot ptrace it or
  // read its memory).
  std::string status = slurp(proc + "/status");
  struct stat home_st {};
  REQUIRE(::stat(user.home().c_str(), &home_st) == 0);
  CHECK(contains(status, "Uid:\t" + std::to_string(home_st.st_uid) + "\t"));
  struct stat mem_st {};
  REQUIRE(::stat((proc + "/mem").c_str(), &mem_st) == 0);
  CHECK(mem_st.st_uid == 0);
  struct stat environ_st {};
  REQUIRE(::stat((proc + "/environ").c_str(), &environ_st) == 0);
  CHECK(environ_st.st_uid == 0);
  check_no_password("process title", slurp(proc + "/cmdline"));
  check_no_password("environment", slurp(proc + "/environ"));

  auto quit = user.clamfetch({"-q"});
  INFO(quit.err);
  CHECK(quit.exit_code == 0);
  for (int i = 0; i < 100 && ::kill(static_cast<pid_t>(pid), 0) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(::kill(static_cast<pid_t>(pid), 0) != 0);
}
