// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Issue 21, point 4: many accounts in one process need many file descriptors (a server and
// an MTA connection, the UID store and its journal per account; IDLE adds an eventfd per
// watched account). The binary raises its open-file soft limit to the hard limit at start,
// and names a hard limit too low for the rc file's accounts. Run under prlimit(1), against
// the fixture's real Dovecot and Postfix.

#include <catch2/catch.hpp>

#include <string>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// clamfetch as the test user, under prlimit --nofile=SOFT:HARD.
RunResult limited(const MailServers& servers, const ClamfetchUser& user, const std::string& nofile,
                  const std::vector<std::string>& args) {
  std::vector<std::string> argv{"prlimit", "--nofile=" + nofile, clamfetch_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, servers.env("TEST_USER"), {{"CLAMFETCH_HOME", user.home()}});
}

}  // namespace

TEST_CASE("the open file soft limit is raised to the hard limit, a hard limit too low is named") {
  MailServers servers;
  ClamfetchUser user(servers);
  servers.seed("pop3userid1", make_message("fd-limit@scale", 400));
  user.write_rc(user.standard_rc("imap", "implicit"));
  auto r = limited(servers, user, "40:4096", {"-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "file descriptors: soft limit raised from 40 to 4096"));
  servers.wait_queue_empty();
  CHECK(count_message_ids(servers.delivered("virtualuser1"))["fd-limit@scale"] == 1);

  // 30 accounts and a hard limit of 100: said at start, before anything runs out.
  std::string rc = user.standard_rc("imap", "implicit");
  for (int i = 0; i < 29; ++i) {
    rc += "\n  [[poll.user]]\n  username = \"user" + std::to_string(i) +
          "\"\n  password = \"x\"\n  is = \"virtualuser1@example.com\"\n";
  }
  user.write_rc(rc);
  auto low = limited(servers, user, "100:100", {"--quarantine"});
  INFO(low.err);
  CHECK(contains(low.err, "the open file limit is 100, 30 accounts may need 184"));
}
