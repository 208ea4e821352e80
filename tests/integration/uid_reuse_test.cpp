// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Issue 15, defect 4: a POP3 UIDL that comes back on another message. The binary against a
// scripted POP3 server (a real Dovecot cannot reuse a UIDL: its UIDLs are unique per
// mailbox, and it cannot list one twice) and the fixture's real Postfix. The fake stands on
// one fixed port for both sessions, since the UID store is kept per server and port.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "fake/transcript_server.hpp"
#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;

namespace {

std::string message(const std::string& id, const std::string& body) {
  return "From: sender@example.org\r\nTo: virtualuser1@example.com\r\nSubject: " + id +
         "\r\nMessage-ID: <" + id + "@fake>\r\n\r\n" + body + "\r\n";
}

/// A POP3 session up to the listing: `messages` numbered from 1, all under the UIDL `uidl`.
std::vector<Step> listing(const std::vector<std::string>& messages, const std::string& uidl) {
  std::string list = "+OK\r\n", uidls = "+OK\r\n";
  for (std::size_t i = 0; i < messages.size(); ++i) {
    list += std::to_string(i + 1) + " " + std::to_string(messages[i].size()) + "\r\n";
    uidls += std::to_string(i + 1) + " " + uidl + "\r\n";
  }
  return {Step::send("+OK fake\r\n"), Step::expect("CAPA"), Step::send("+OK\r\nUIDL\r\n.\r\n"),
          Step::expect("USER"), Step::send("+OK\r\n"), Step::expect("PASS"), Step::send("+OK\r\n"),
          Step::expect("LIST"), Step::send(list + ".\r\n"), Step::expect("UIDL"),
          Step::send(uidls + ".\r\n")};
}

void add(std::vector<Step>& script, std::vector<Step> more) {
  script.insert(script.end(), more.begin(), more.end());
}

/// RETR n answered with `m`.
std::vector<Step> retr(int n, const std::string& m) {
  return {Step::expect("RETR " + std::to_string(n)), Step::send("+OK\r\n" + m + ".\r\n")};
}

std::string rc_for(const MailServers& servers, uint16_t port) {
  return "[global]\npostmaster = \"postmaster@example.com\"\n"
         "\n[defaults]\nsmtphost = \"127.0.0.1:" + servers.env("SMTP_PORT") +
         "\"\ntimeout = 10\n"
         "\n[scan]\ndatabase = \"" CLAMFETCH_SOURCE_DIR "/tests/data/signatures\"\n"
         "\n[[poll]]\nserver = \"127.0.0.1\"\nprotocol = \"pop3\"\nport = " +
         std::to_string(port) + "\ntls = \"none\"\nallow_plaintext = true\n"
         "\n  [[poll.user]]\n  username = \"fakeuser\"\n  password = \"fake-secret-pw\"\n"
         "  is = \"virtualuser1@example.com\"\n";
}

}  // namespace

TEST_CASE("a UIDL reused by a new message after its DELE was committed: the new one is retrieved") {
  MailServers servers;
  ClamfetchUser user(servers);
  std::string first = message("reuse-first", "the first message, deleted by the first run");
  std::string second = message("reuse-second", "a new message that got the old UIDL back, longer");
  REQUIRE(first.size() != second.size());

  std::vector<Step> one = listing({first}, "hash-aaaa");
  add(one, retr(1, first));
  add(one, {Step::expect("DELE 1"), Step::send("+OK\r\n"), Step::expect("QUIT"),
            Step::send("+OK bye\r\n"), Step::close()});
  uint16_t port = 0;
  {
    TranscriptServer fake(one);
    port = fake.port();
    user.write_rc(rc_for(servers, port));
    auto r = user.clamfetch({"-v"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    REQUIRE(fake.wait_done(10));
    CHECK(fake.failure().empty());
  }

  // The second run: same UIDL, another size. Before the fix the "delete pending" mark of the
  // first message outlived the committed DELE and this one was DELEted without RETR.
  std::vector<Step> two = listing({second}, "hash-aaaa");
  add(two, retr(1, second));
  add(two, {Step::expect("DELE 1"), Step::send("+OK\r\n"), Step::expect("QUIT"),
            Step::send("+OK bye\r\n"), Step::close()});
  TranscriptServer fake(two, port);
  auto r = user.clamfetch({"-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  REQUIRE(fake.wait_done(10));
  CHECK(fake.failure().empty());
  CHECK(fake.received_line_starting("RETR 1"));
  servers.wait_queue_empty();
  auto counts = count_message_ids(servers.delivered("virtualuser1"));
  CHECK(counts["reuse-first@fake"] == 1);
  CHECK(counts["reuse-second@fake"] == 1);
}

TEST_CASE("a UIDL listed twice: the copy left for later is delivered, not deleted on the other's mark") {
  MailServers servers;
  ClamfetchUser user(servers);
  std::string a = message("dup-a", "copy A of a duplicated UIDL");
  std::string b = message("dup-b", "copy B of a duplicated UIDL");  // the same size as A
  REQUIRE(a.size() == b.size());

  // First run: both listed under one UIDL. The session takes the first and leaves the second
  // on the server (fetch/pop3.cpp: "UID listed twice"); A is delivered, DELEted, committed.
  std::vector<Step> one = listing({a, b}, "dup-uidl");
  add(one, retr(1, a));
  add(one, {Step::expect("DELE 1"), Step::send("+OK\r\n"), Step::expect("QUIT"),
            Step::send("+OK bye\r\n"), Step::close()});
  uint16_t port = 0;
  {
    TranscriptServer fake(one);
    port = fake.port();
    user.write_rc(rc_for(servers, port));
    auto r = user.clamfetch({"-v"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    REQUIRE(fake.wait_done(10));
    CHECK(fake.failure().empty());
    CHECK(r.err.find("UID listed twice") != std::string::npos);
  }

  // Second run: B alone, same UIDL and same size, so no size check can tell it from A: only
  // forgetting A's mark once its DELE was committed keeps B from being DELEted blind, which
  // is what happened before the fix.
  std::vector<Step> two = listing({b}, "dup-uidl");
  add(two, retr(1, b));
  add(two, {Step::expect("DELE 1"), Step::send("+OK\r\n"), Step::expect("QUIT"),
            Step::send("+OK bye\r\n"), Step::close()});
  TranscriptServer fake(two, port);
  auto r = user.clamfetch({"-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  REQUIRE(fake.wait_done(10));
  CHECK(fake.failure().empty());
  servers.wait_queue_empty();
  auto counts = count_message_ids(servers.delivered("virtualuser1"));
  CHECK(counts["dup-a@fake"] == 1);
  CHECK(counts["dup-b@fake"] == 1);
}
