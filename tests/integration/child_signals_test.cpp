// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The commands clamfetch starts (password_command, virus_action) get default signal
// dispositions and an empty signal mask, as any program expects after exec: not the daemon's
// blocked SIGHUP/SIGINT/SIGUSR1/SIGTERM, not the ignored SIGPIPE. Each command is a script
// that copies its SigBlk/SigIgn lines from /proc into a file; real Dovecot, Postfix,
// libclamav, the real binary as the unprivileged test user.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
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
// reads half a file), then prints `print`. Perl, not sh: dash clears its signal mask when it
// starts, so a shell script would never see a mask it inherited.
std::string write_probe(const std::string& path, const std::string& out, const std::string& print) {
  std::ofstream(path, std::ios::trunc)
      << "#!/usr/bin/perl\n"
      << "open(my $in, '<', '/proc/self/status') or die;\n"
      << "open(my $out, '>', '" << out << ".tmp') or die;\n"
      << "print $out grep { /^Sig(Blk|Ign):/ } <$in>;\n"
      << "close($out) or die;\n"
      << "rename('" << out << ".tmp', '" << out << "') or die;\n"
      << "print \"" << print << "\\n\";\n";
  chmod(path.c_str(), 0755);
  return path;
}

// A /proc status mask ("SigBlk", "SigIgn") as bits, signal N at bit N-1; all ones if absent.
uint64_t mask(const std::string& status, const std::string& name) {
  auto at = status.find(name + ":\t");
  if (at == std::string::npos) return ~uint64_t{0};
  return std::stoull(status.substr(at + name.size() + 2, 16), nullptr, 16);
}

uint64_t bit(int sig) { return uint64_t{1} << (sig - 1); }

// Nothing blocked, nothing ignored but SIGFPE (perl itself ignores that one at start-up).
void check_defaults(const std::string& status) {
  INFO(status);
  CHECK(mask(status, "SigBlk") == 0);
  CHECK((mask(status, "SigIgn") & bit(SIGPIPE)) == 0);
  CHECK((mask(status, "SigIgn") & ~bit(SIGFPE)) == 0);
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
