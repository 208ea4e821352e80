// The commands clamfetch starts (password_command, virus_action) get default signal
// dispositions and an empty signal mask, as any program expects after exec: not the daemon's
// blocked SIGHUP/SIGINT/SIGUSR1/SIGTERM, not the ignored SIGPIPE. Each command is a script
// that copies its shell's SigBlk/SigIgn lines from /proc into a file; real Dovecot, Postfix,
// libclamav, the real binary as the unprivileged test user.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool eventually_exists(const std::string& path, int seconds) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!fs::exists(path)) {
    if (std::chrono::steady_clock::now() > until) return false;
    usleep(100000);
  }
  return true;
}

// A script that records its own signal state in `out` (renamed into place: the test never
// reads half a file), then prints `print`.
std::string write_probe(const std::string& path, const std::string& out, const std::string& print) {
  std::ofstream(path, std::ios::trunc) << "#!/bin/sh\n"
                                       << "grep -E '^Sig(Blk|Ign):' /proc/$$/status >" << out << ".tmp\n"
                                       << "mv " << out << ".tmp " << out << "\n"
                                       << (print.empty() ? "" : "echo " + print + "\n") << "exit 0\n";
  chmod(path.c_str(), 0755);
  return path;
}

// Both lines present and all zero: nothing blocked, nothing ignored.
void check_defaults(const std::string& status) {
  INFO(status);
  CHECK(contains(status, "SigBlk:\t0000000000000000\n"));
  CHECK(contains(status, "SigIgn:\t0000000000000000\n"));
}

}  // namespace

TEST_CASE("password_command and virus_action start with default signals, under -d and in a one-shot run") {
  MailServers servers;
  ClamfetchUser user(servers);
  const std::string pw_status = user.home() + "/pw.status";
  const std::string va_status = user.home() + "/va.status";
  std::string pw = write_probe(user.home() + "/pw.sh", pw_status, "pop3password1");
  std::string va = write_probe(user.home() + "/va.sh", va_status, "");
  std::string rc = user.standard_rc();
  const std::string literal = "  password = \"pop3password1\"\n";
  REQUIRE(contains(rc, literal));
  rc.replace(rc.find(literal), literal.size(), "  password_command = \"" + pw + "\"\n");
  rc.replace(rc.find("[scan]\n"), 7, "[scan]\nvirus_action = \"" + va + "\"\n");
  user.write_rc(rc);
  const std::string log = user.home() + "/clamfetch.log";

  // The daemon (detached) blocks its four signals and ignores SIGPIPE.
  servers.seed("pop3userid1", infected_message("sig1@children"));
  auto started = user.clamfetch({"-d", "300", "-L", log});
  REQUIRE(started.exit_code == 0);
  bool ran = eventually_exists(pw_status, 60) && eventually_exists(va_status, 60);
  auto quit = user.clamfetch({"-q"});
  INFO(slurp(log) << quit.err);
  REQUIRE(ran);
  CHECK(quit.exit_code == 0);
  check_defaults(slurp(pw_status));
  check_defaults(slurp(va_status));

  // A one-shot run ignores SIGPIPE only.
  fs::remove(pw_status);
  fs::remove(va_status);
  servers.seed("pop3userid1", infected_message("sig2@children"));
  auto once = user.clamfetch({});
  INFO(once.err);
  CHECK(once.exit_code == 0);
  REQUIRE(fs::exists(pw_status));
  REQUIRE(fs::exists(va_status));
  check_defaults(slurp(pw_status));
  check_defaults(slurp(va_status));
}
