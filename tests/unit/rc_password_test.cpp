// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// password_command runs real programs: without a shell, through /bin/sh for shell syntax,
// with a timeout that kills the whole process group; its output never reaches an error.

#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>

#include "rc/rc.hpp"

using namespace clamfetch;
using namespace clamfetch::rc;

namespace {

User with_command(const std::string& command) {
  User user;
  user.username = "u";
  user.password_command = command;
  return user;
}

}  // namespace

TEST_CASE("a literal password is returned as it is", "[rc][password]") {
  User user;
  user.password = "literal pass";
  auto password = resolve_password(user, "u@pop.example.com", 5);
  REQUIRE(password.ok());
  CHECK(*password == "literal pass");
}

TEST_CASE("a plain command runs without a shell", "[rc][password]") {
  // A shell would drop "#not-a-comment" as a comment ('#' is not shell syntax that asks for
  // a shell here): echo printing it proves it ran without one.
  auto plain = resolve_password(with_command("/bin/echo  s3cret   #not-a-comment"), "u@pop.example.com", 5);
  REQUIRE(plain.ok());
  CHECK(*plain == "s3cret #not-a-comment");
  auto path_lookup = resolve_password(with_command("echo only-the-first-line"), "a", 5);
  REQUIRE(path_lookup.ok());
  CHECK(*path_lookup == "only-the-first-line");
}

TEST_CASE("shell syntax runs through /bin/sh", "[rc][password]") {
  auto piped = resolve_password(with_command("printf 'line1\\nline2\\n' | tail -n 1 | tr a-z A-Z"), "a", 5);
  REQUIRE(piped.ok());
  CHECK(*piped == "LINE2");
  auto first_line = resolve_password(with_command("printf 'pw\\r\\nrest\\n'"), "a", 5);
  REQUIRE(first_line.ok());
  CHECK(*first_line == "pw");
  ::setenv("CLAMFETCH_TEST_PW", "from-env", 1);
  auto expanded = resolve_password(with_command("echo $CLAMFETCH_TEST_PW"), "a", 5);
  REQUIRE(expanded.ok());
  CHECK(*expanded == "from-env");
}

TEST_CASE("a failing command is an auth error naming the account, without its output", "[rc][password]") {
  auto failed = resolve_password(with_command("sh -c 'echo leaked-secret; exit 3'"), "u@pop.example.com", 5);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().text == "password_command for u@pop.example.com failed (exit 3)");
  CHECK(failed.error().kind == Kind::auth);
  CHECK(exit_code(failed.error().kind) == 3);
  CHECK(failed.error().text.find("leaked-secret") == std::string::npos);

  auto missing = resolve_password(with_command("/nonexistent/password-helper"), "u@pop.example.com", 5);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().text == "password_command for u@pop.example.com failed (exit 127)");

  auto empty = resolve_password(with_command("/bin/true"), "u@pop.example.com", 5);
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().text == "password_command for u@pop.example.com printed no password");

  auto killed = resolve_password(with_command("kill -9 $$"), "u@pop.example.com", 5);
  REQUIRE_FALSE(killed.ok());
  CHECK(killed.error().text == "password_command for u@pop.example.com failed (signal 9)");
}

TEST_CASE("a hanging command is killed with its children after the timeout", "[rc][password]") {
  char dir_pattern[] = "/tmp/rc_password_XXXXXX";
  REQUIRE(::mkdtemp(dir_pattern) != nullptr);
  std::string pidfile = std::string(dir_pattern) + "/child.pid";
  // The shell starts a background sleeper that keeps stdout open: the kill must reach it too.
  auto start = std::chrono::steady_clock::now();
  auto result = resolve_password(
      with_command("sleep 30 & echo $! > " + pidfile + "; wait"), "u@pop.example.com", 1);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().text == "password_command for u@pop.example.com timed out after 1s");
  CHECK(result.error().kind == Kind::auth);
  CHECK(seconds >= 0.9);
  CHECK(seconds < 3.0);
  std::ifstream in(pidfile);
  pid_t sleeper = 0;
  in >> sleeper;
  REQUIRE(sleeper > 0);
  // Killed and reaped by init (its parent, the shell, is gone): give it a moment.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = ::kill(sleeper, 0) != 0;
    if (!gone) ::usleep(20000);
  }
  CHECK(gone);
  std::system(("rm -rf '" + std::string(dir_pattern) + "'").c_str());
}
