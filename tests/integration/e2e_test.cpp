// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// End-to-end: the clamfetch binary, run as an unprivileged user, against a real Dovecot,
// a real Postfix with virtual mailboxes and the real libclamav with the test signatures.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The delivered Maildir files of `localpart` that carry `message_id`.
std::vector<std::string> with_id(const MailServers& s, const std::string& localpart, const std::string& message_id) {
  std::vector<std::string> out;
  for (auto& m : s.delivered(localpart)) {
    if (contains(m, "Message-ID: <" + message_id + ">")) out.push_back(m);
  }
  return out;
}

}  // namespace

TEST_CASE("thin slice: POP3S -> libclamav -> Postfix virtual mailbox, infected mail to the postmaster") {
  MailServers servers;
  ClamfetchUser user(servers);
  std::string clean1 = make_message("clean1@e2e", 3000);
  std::string clean2 = make_message("clean2@e2e", 70000, "Return-Path: <sender@remote.example>");
  servers.seed("pop3userid1", clean1);
  servers.seed("pop3userid1", clean2);
  servers.seed("pop3userid1", infected_message("virus1@e2e"));
  user.write_rc(user.standard_rc());

  auto r = user.clamfetch({"-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "3 messages for pop3userid1 at localhost"));
  CHECK(contains(r.err, "INFECTED Clamfetch.Test.EICAR"));
  servers.wait_queue_empty();

  // Clean mail: in the user's Maildir, body byte for byte, with our headers on top.
  auto got1 = with_id(servers, "virtualuser1", "clean1@e2e");
  auto got2 = with_id(servers, "virtualuser1", "clean2@e2e");
  REQUIRE(got1.size() == 1);
  REQUIRE(got2.size() == 1);
  CHECK(body_of(lf_to_crlf(got1[0])) == body_of(clean1));
  CHECK(body_of(lf_to_crlf(got2[0])) == body_of(clean2));
  CHECK(contains(got1[0], "X-Virus-Status: Clean"));
  CHECK(contains(got1[0], "Received: from localhost"));
  // The infected one never reaches the user; the postmaster has the report.
  CHECK(with_id(servers, "virtualuser1", "virus1@e2e").empty());
  auto reports = servers.delivered("postmaster");
  REQUIRE(reports.size() == 1);
  CHECK(contains(reports[0], "Clamfetch.Test.EICAR"));
  CHECK(contains(reports[0], "virus1@e2e"));
  CHECK(contains(reports[0], "message/rfc822"));
  // nokeep (the default): the server is empty; and nothing is left to fetch.
  CHECK(servers.remote_messages("pop3userid1").empty());
  CHECK(user.clamfetch({}).exit_code == 1);
}

TEST_CASE("keep: -a -k retrieves everything and keeps it - the next run without -a finds nothing") {
  MailServers servers;
  ClamfetchUser user(servers);
  for (int i = 0; i < 5; ++i) servers.seed("pop3userid1", make_message("keep" + std::to_string(i) + "@e2e", 2000));
  user.write_rc(user.standard_rc());

  auto first = user.clamfetch({"-v", "-a", "-k"});
  INFO(first.err);
  CHECK(first.exit_code == 0);
  CHECK(std::count(first.err.begin(), first.err.end(), '\n') >= 5);
  CHECK(contains(first.err, "clean, not flushed"));
  CHECK(servers.remote_messages("pop3userid1").size() == 5);
  auto second = user.clamfetch({"-v", "-k"});
  INFO(second.err);
  CHECK(second.exit_code == 1);
  servers.wait_queue_empty();
  CHECK(servers.delivered("virtualuser1").size() == 5);
}

TEST_CASE("Postfix down: exit 10 and every message stays on the server") {
  MailServers servers;
  ClamfetchUser user(servers);
  servers.seed("pop3userid1", make_message("down1@e2e", 1000));
  servers.seed("pop3userid1", make_message("down2@e2e", 1000));
  user.write_rc(user.standard_rc());
  servers.stop_postfix();
  auto r = user.clamfetch({});
  INFO(r.err);
  CHECK(r.exit_code == 10);
  CHECK(servers.remote_messages("pop3userid1").size() == 2);
  // Once Postfix is back the next run delivers both.
  servers.start_postfix();
  CHECK(user.clamfetch({}).exit_code == 0);
  servers.wait_queue_empty();
  CHECK(servers.delivered("virtualuser1").size() == 2);
  CHECK(servers.remote_messages("pop3userid1").empty());
}

TEST_CASE("an rc file readable by others is refused with exit 6 and nothing is fetched") {
  MailServers servers;
  ClamfetchUser user(servers);
  servers.seed("pop3userid1", make_message("perm@e2e", 1000));
  user.write_rc(user.standard_rc(), 0644);
  auto r = user.clamfetch({});
  CHECK(r.exit_code == 6);
  CHECK(contains(r.err, user.rc_path()));
  CHECK(servers.remote_messages("pop3userid1").size() == 1);
}

TEST_CASE("wrong password exits 3 - server down exits 2") {
  MailServers servers;
  ClamfetchUser user(servers);
  std::string rc = user.standard_rc();
  auto pos = rc.find("pop3password1");
  user.write_rc(rc.substr(0, pos) + "wrong-password" + rc.substr(pos + 13));
  auto r = user.clamfetch({});
  INFO(r.err);
  CHECK(r.exit_code == 3);
  CHECK_FALSE(contains(r.err, "wrong-password"));

  std::string down = user.standard_rc();
  auto port = servers.env("POP3S_PORT");
  down.replace(down.find("port = " + port), 7 + port.size(), "port = 1");
  user.write_rc(down);
  auto d = user.clamfetch({});
  INFO(d.err);
  CHECK(d.exit_code == 2);
}

TEST_CASE("daemon: polls, a second instance exits 8 naming it, -q stops it") {
  MailServers servers;
  ClamfetchUser user(servers);
  for (int i = 0; i < 3; ++i) servers.seed("pop3userid1", make_message("daemon" + std::to_string(i) + "@e2e", 2000));
  user.write_rc(user.standard_rc());
  // The daemon stays in the foreground (-N) of a shell that leaves it running.
  auto started = run({"/bin/sh", "-c", "CLAMFETCH_HOME=" + user.home() + " " + clamfetch_binary() +
                      " -N -d 1 -f " + user.rc_path() + " </dev/null >/dev/null 2>&1 & echo $!"},
                     servers.env("TEST_USER"));
  long pid = std::stol(started.out);
  servers.wait_queue_empty();
  for (int i = 0; i < 100 && servers.delivered("virtualuser1").size() < 3; ++i) usleep(100000);
  CHECK(servers.delivered("virtualuser1").size() == 3);

  auto second = user.clamfetch({});
  CHECK(second.exit_code == 8);
  CHECK(contains(second.err, "another clamfetch (pid " + std::to_string(pid) + ") is running"));

  // New mail while it runs is picked up by the next poll.
  servers.seed("pop3userid1", make_message("daemon-late@e2e", 2000));
  for (int i = 0; i < 100 && servers.delivered("virtualuser1").size() < 4; ++i) usleep(100000);
  servers.wait_queue_empty();
  CHECK(servers.delivered("virtualuser1").size() == 4);

  auto quit = user.clamfetch({"-q"});
  INFO(quit.err);
  CHECK(quit.exit_code == 0);
  CHECK(kill(static_cast<pid_t>(pid), 0) != 0);
}
