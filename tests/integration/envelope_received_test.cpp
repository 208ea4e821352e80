// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Issue 16, points 3 and 4, through the real binary, the fixture's real Dovecot (POP3S and
// IMAPS) and the real Postfix, which writes the envelope sender it was given into the
// delivered message's Return-Path: line. A message with only a From: header must arrive with
// that sender, not as a bounce; a real bounce (Return-Path: <>) and a message with a bare
// name only keep "<>". clamfetch's Received: line names the server as the rc file does
// (localhost) and the address of the connection used (127.0.0.1).

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using clamfetch::test::ClamfetchUser;
using clamfetch::test::MailServers;
using clamfetch::test::RunResult;

namespace {

std::string message(const std::string& id, const std::string& head) {
  return head + "To: virtualuser1@example.com\r\nSubject: envelope " + id +
         "\r\nMessage-ID: <" + id + "@example.net>\r\n\r\nbody of " + id + "\r\n";
}

// The delivered file (Postfix's LF line ends) whose Message-ID is <id@example.net>.
std::string delivered_with(const std::vector<std::string>& files, const std::string& id) {
  for (const auto& f : files) {
    if (f.find("Message-ID: <" + id + "@example.net>") != std::string::npos) return f;
  }
  FAIL("message " << id << " was not delivered");
  return {};
}

// The value of the first "Return-Path:" line: Postfix's, from the envelope sender it got.
std::string return_path(const std::string& file) {
  std::size_t at = file.find("Return-Path: ");
  REQUIRE(at != std::string::npos);
  return file.substr(at + 13, file.find('\n', at) - at - 13);
}

}  // namespace

TEST_CASE("Envelope sender: From only is the sender, a bounce and a bare name keep <>", "[envelope]") {
  MailServers servers;
  ClamfetchUser user(servers);
  servers.seed("pop3userid1",
               {message("from-only", "From: \"Doe, Joe\" (the sender) <joe.doe@example.net>\r\n"),
                message("sender-first", "From: list-member@example.org\r\nSender: list-owner@example.org\r\n"),
                message("bounce", "Return-Path: <>\r\nFrom: Mail Delivery <postmaster@example.net>\r\n"),
                message("bare-name", "From: joe\r\n")});
  user.write_rc(user.standard_rc("pop3", "implicit"));
  RunResult r = user.clamfetch({});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  servers.wait_queue_empty();
  auto files = servers.delivered("virtualuser1");
  REQUIRE(files.size() == 4);
  CHECK(return_path(delivered_with(files, "from-only")) == "<joe.doe@example.net>");
  CHECK(return_path(delivered_with(files, "sender-first")) == "<list-owner@example.org>");
  CHECK(return_path(delivered_with(files, "bounce")) == "<>");
  CHECK(return_path(delivered_with(files, "bare-name")) == "<>");
}

TEST_CASE("Received line names the server by rc name and connection address", "[envelope]") {
  MailServers servers;
  ClamfetchUser user(servers);
  for (const std::string protocol : {"pop3", "imap"}) {
    INFO(protocol);
    std::string id = "received-" + protocol;
    servers.seed("pop3userid1", message(id, "From: joe@example.net\r\n"));
    user.write_rc(user.standard_rc(protocol, "implicit"));
    RunResult r = user.clamfetch({});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    servers.wait_queue_empty();
    std::string file = delivered_with(servers.delivered("virtualuser1"), id);
    std::string upper = protocol == "imap" ? "IMAP" : "POP3";
    CHECK(file.find("\nReceived: from localhost [127.0.0.1]\n\tby ") != std::string::npos);
    CHECK(file.find(" with " + upper + " (clamfetch ") != std::string::npos);
  }
}
