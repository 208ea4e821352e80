// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// An IMAP server whose UIDNEXT does not advance (or rewinds) while mail arrives: the delta
// poll (fetch/imap_sync.cpp) must not skip the new message for ever. A scripted server
// (tests/fake/transcript_server.hpp), since Dovecot always advances UIDNEXT; providers have
// been seen doing otherwise (GMX rewinding it, Yahoo inflating it).
#include <catch2/catch.hpp>
#include <string>

#include "fake/transcript_server.hpp"
#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using clamfetch::test::ClamfetchUser;
using clamfetch::test::MailServers;
using clamfetch::test::RunResult;
using clamfetch::test::Step;
using clamfetch::test::TranscriptServer;

namespace {

std::string message(const std::string& id) {
  return "Return-Path: <sender@example.net>\r\nFrom: sender@example.net\r\nTo: virtualuser1@example.com\r\n"
         "Subject: " + id + "\r\nMessage-ID: <" + id + "@example.net>\r\n\r\nbody of " + id + "\r\n";
}

std::string fetched(int seq, int uid, const std::string& bytes) {
  return "* " + std::to_string(seq) + " FETCH (UID " + std::to_string(uid) + " BODY[] {" +
         std::to_string(bytes.size()) + "}\r\n" + bytes + ")\r\n";
}

std::string listed(int seq, int uid, const std::string& bytes) {
  return "* " + std::to_string(seq) + " FETCH (UID " + std::to_string(uid) + " RFC822.SIZE " +
         std::to_string(bytes.size()) + " FLAGS ())\r\n";
}

}  // namespace

TEST_CASE("IMAP delta poll: a message that arrives without UIDNEXT advancing is listed and delivered") {
  MailServers servers;
  ClamfetchUser user(servers);
  const std::string first = message("sync-first"), late = message("sync-late");
  const std::string greeting = "* OK [CAPABILITY IMAP4rev1 UIDPLUS] fake ready\r\n";
  const std::string login = "1 OK [CAPABILITY IMAP4rev1 UIDPLUS] logged in\r\n";
  // Run 1: one message, UID 7, kept; the folder's state (UIDNEXT 8, 1 message) is remembered.
  uint16_t port_used = 0;
  {
  TranscriptServer one({
      Step::start_tls(servers.env("SERVER_CERT"), servers.env("SERVER_KEY")), Step::send(greeting),
      Step::expect("1 LOGIN"), Step::send(login),
      Step::expect("2 SELECT INBOX"),
      Step::send("* 1 EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n* OK [UIDNEXT 8] ok\r\n2 OK [READ-WRITE] ok\r\n"),
      Step::expect("3 UID FETCH 1:* "), Step::send(listed(1, 7, first) + "3 OK done\r\n"),
      Step::expect("4 UID FETCH 7 "), Step::send(fetched(1, 7, first) + "4 OK done\r\n"),
      Step::expect("5 UID STORE 7 +FLAGS.SILENT (\\Seen)"), Step::send("5 OK stored\r\n"),
      Step::expect("6 LOGOUT"), Step::send("* BYE bye\r\n6 OK done\r\n")});
  std::string rc = user.standard_rc("imap", "implicit", "  keep = true\n");
  const std::string port = "port = " + servers.env("IMAPS_PORT");
  rc.replace(rc.find(port), port.size(), "port = " + std::to_string(one.port()));
  user.write_rc(rc);
  RunResult r1 = user.clamfetch({});
  INFO(r1.err);
  REQUIRE(one.wait_done(20));
  CHECK(one.failure() == "");
  CHECK(r1.exit_code == 0);
  port_used = one.port();
  }  // the same port again for the second run: the first server is gone

  // Run 2: two messages, UIDNEXT still 8; the new one has UID 6. The count (2 where 1 + 0 new
  // were expected) must send the client back to a full listing.
  TranscriptServer two({
      Step::start_tls(servers.env("SERVER_CERT"), servers.env("SERVER_KEY")), Step::send(greeting),
      Step::expect("1 LOGIN"), Step::send(login),
      Step::expect("2 SELECT INBOX"),
      Step::send("* 2 EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n* OK [UIDNEXT 8] ok\r\n2 OK [READ-WRITE] ok\r\n"),
      Step::expect("3 UID FETCH 1:* "),
      Step::send(listed(1, 6, late) + listed(2, 7, first) + "3 OK done\r\n"),
      Step::expect("4 UID FETCH 6 "), Step::send(fetched(1, 6, late) + "4 OK done\r\n"),
      Step::expect("5 UID STORE 6 +FLAGS.SILENT (\\Seen)"), Step::send("5 OK stored\r\n"),
      Step::expect("6 LOGOUT"), Step::send("* BYE bye\r\n6 OK done\r\n")},
      port_used);
  RunResult r2 = user.clamfetch({});
  INFO(r2.err);
  REQUIRE(two.wait_done(20));
  CHECK(two.failure() == "");
  CHECK(r2.exit_code == 0);
  servers.wait_queue_empty();
  auto delivered = servers.delivered("virtualuser1");
  CHECK(delivered.size() == 2);
}
