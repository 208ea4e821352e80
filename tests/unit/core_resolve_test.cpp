// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// resolve(): name lookups bounded by the deadline. The dead DNS server is simulated - a real
// resolver cannot be made to hang on demand: this process moves into its own mount namespace
// and bind-mounts a resolv.conf naming 127.0.0.2:53, where a UDP socket of the test receives
// every query and answers none. Needs root (CI and tools/test run as root); without it the
// hanging case is reported and skipped.

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "core/resolve.hpp"

using clamfetch::Deadline;
using clamfetch::resolve;

namespace {

addrinfo stream_hints() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  return hints;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A UDP socket on 127.0.0.2:53 that never answers; -1 if it cannot be had.
int silent_dns_server() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(53);
  addr.sin_addr.s_addr = htonl(0x7f000002);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Points this process's /etc/resolv.conf at the silent server, with a resolver timeout far
// longer than the deadline under test. False when not permitted.
bool use_dead_dns(const std::string& dir) {
  std::string conf = dir + "/resolv.conf";
  std::ofstream(conf) << "nameserver 127.0.0.2\noptions timeout:20 attempts:1\n";
  if (::unshare(CLONE_NEWNS) != 0) return false;
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
  return ::mount(conf.c_str(), "/etc/resolv.conf", nullptr, MS_BIND, nullptr) == 0;
}

}  // namespace

TEST_CASE("resolve finds a name and reports one that does not exist", "[core][resolve]") {
  auto found = resolve("localhost", "25", stream_hints(), Deadline::after(10));
  REQUIRE(found.list);
  CHECK(found.error.empty());
  CHECK((found.list->ai_family == AF_INET || found.list->ai_family == AF_INET6));

  addrinfo numeric = stream_hints();
  numeric.ai_flags = AI_NUMERICHOST;
  auto bad = resolve("not-a-number", "25", numeric, Deadline::after(10));
  CHECK_FALSE(bad.list);
  CHECK_FALSE(bad.error.empty());
}

TEST_CASE("a DNS server that never answers costs the deadline, not the resolver's timeout",
          "[core][resolve]") {
  char dir_template[] = "/tmp/cf-resolve-XXXXXX";
  REQUIRE(::mkdtemp(dir_template) != nullptr);
  std::string dir = dir_template;
  int server = silent_dns_server();
  if (server < 0 || !use_dead_dns(dir)) {
    WARN("not root (or 127.0.0.2:53 busy): the dead-DNS case is skipped");
    if (server >= 0) ::close(server);
    return;
  }
  auto start = std::chrono::steady_clock::now();
  auto result = resolve("mail.clamfetch-test.example", "995", stream_hints(), Deadline::after(2));
  double took = seconds_since(start);
  std::printf("resolve with a dead DNS server and a 2 s deadline gave up after %.2f s\n", took);
  CHECK_FALSE(result.list);
  CHECK(result.error == "no answer from the name service in time");
  CHECK(took >= 1.9);
  CHECK(took < 5.0);  // getaddrinfo alone would wait 20 s (resolv.conf above)

  // The abandoned lookup still holds its thread; a second lookup is not disturbed by it.
  auto again = resolve("localhost", "25", stream_hints(), Deadline::after(10));
  CHECK(again.list);
  ::close(server);
  std::remove((dir + "/resolv.conf").c_str());
  ::rmdir(dir.c_str());
}
