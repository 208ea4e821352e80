// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Issue 16, points 3 and 4, through the real binary, the fixture's real Dovecot (POP3S and
// IMAPS) and the real Postfix, which writes the envelope sender it was given into the
// delivered message's Return-Path: line. A message with only a From: header must arrive with
// that sender, not as a bounce; a real bounce (Return-Path: <>) and a message with a bare
// name only keep "<>". clamfetch's Received: line names the server as the rc file does
// (localhost) and the address of the connection used (127.0.0.1).

#include <catch2/catch.hpp>

#include <fstream>
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

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Changes the fixture's Postfix configuration and reloads it.
void postconf(const MailServers& servers, const std::vector<std::string>& settings) {
  std::vector<std::string> argv{"postconf", "-c", servers.env("POSTFIX_DIR"), "-e"};
  argv.insert(argv.end(), settings.begin(), settings.end());
  REQUIRE(clamfetch::test::run(argv).exit_code == 0);
  REQUIRE(clamfetch::test::run({"postfix", "-c", servers.env("POSTFIX_DIR"), "reload"}).exit_code == 0);
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

// A sender taken from From: is anyone's to write, so it must never make things worse than the
// "<>" such messages were sent from before: refused at MAIL FROM (Postfix's sender
// restrictions, here an access table answering 554 and 450), the message goes again from <>.
TEST_CASE("Envelope sender: a header sender the MTA refuses at MAIL FROM goes again from <>", "[envelope]") {
  MailServers servers;
  ClamfetchUser user(servers);
  std::string pf = servers.env("POSTFIX_DIR");
  std::ofstream(pf + "/senders") << "blocked@example.net REJECT no such sender\n"
                                    "later@example.net 450 4.7.1 try later\n";
  REQUIRE(clamfetch::test::run({"postmap", "-c", pf, "hash:" + pf + "/senders"}).exit_code == 0);
  postconf(servers, {"smtpd_delay_reject = no",
                     "smtpd_sender_restrictions = check_sender_access hash:" + pf + "/senders"});
  servers.seed("pop3userid1", {message("blocked", "From: blocked@example.net\r\n"),
                               message("later", "From: Later <later@example.net>\r\n")});
  user.write_rc(user.standard_rc("pop3", "implicit"));
  RunResult r = user.clamfetch({"-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "MAIL FROM <blocked@example.net> (taken from its headers) answered 554"));
  CHECK(contains(r.err, "MAIL FROM <later@example.net> (taken from its headers) answered 450"));
  servers.wait_queue_empty();
  auto files = servers.delivered("virtualuser1");
  REQUIRE(files.size() == 2);
  CHECK(return_path(delivered_with(files, "blocked")) == "<>");
  CHECK(return_path(delivered_with(files, "later")) == "<>");
  CHECK(servers.delivered("postmaster").empty());
  CHECK(servers.remote_messages("pop3userid1").empty());
}

// clamfetch's own bounce (a recipient the MTA refuses for good) goes to a Return-Path only: a
// From: may be forged, and a bounce past its size limit carries the header only, while the
// postmaster path keeps the original in the quarantine. virtualuser2 plays the sender.
TEST_CASE("Envelope sender: a refusal bounces to a Return-Path, never to a sender from From", "[envelope]") {
  MailServers servers;
  ClamfetchUser user(servers);
  servers.seed("pop3userid1",
               {message("from-header", "From: virtualuser2@example.com\r\n"),
                message("return-path", "Return-Path: <virtualuser2@example.com>\r\nFrom: virtualuser2@example.com\r\n")});
  std::string rc = user.standard_rc("pop3", "implicit");
  const std::string is = "is = \"virtualuser1@example.com\"";
  rc.replace(rc.find(is), is.size(), "is = \"nobody@example.com\"");
  user.write_rc(rc);
  RunResult r = user.clamfetch({"-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  servers.wait_queue_empty();
  auto bounces = servers.delivered("virtualuser2");
  REQUIRE(bounces.size() == 1);
  CHECK(contains(bounces[0], "Subject: envelope return-path"));
  CHECK_FALSE(contains(bounces[0], "Subject: envelope from-header"));
  auto notices = servers.delivered("postmaster");
  REQUIRE(notices.size() == 1);
  CHECK(contains(notices[0], "Subject: envelope from-header"));
  CHECK(servers.remote_messages("pop3userid1").empty());
}

// The allowlist skips scanning for a sender: a From: header, which made the envelope sender
// when there is no Return-Path, must not open that door to anyone who writes one.
TEST_CASE("Envelope sender: the allowlist trusts a Return-Path, not a From header", "[envelope]") {
  MailServers servers;
  ClamfetchUser user(servers);
  servers.seed("pop3userid1", {clamfetch::test::infected_message("forged@allow"),
                               "Return-Path: <sender@example.org>\r\n" +
                                   clamfetch::test::infected_message("trusted@allow")});
  std::string rc = user.standard_rc("pop3", "implicit");
  rc.insert(rc.find("\n[[poll]]"), "\nallowlist = [\"From:^sender@example\\\\.org$\"]");
  user.write_rc(rc);
  RunResult r = user.clamfetch({"-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  servers.wait_queue_empty();
  auto delivered = clamfetch::test::count_message_ids(servers.delivered("virtualuser1"));
  CHECK(delivered["trusted@allow"] == 1);
  CHECK(delivered["forged@allow"] == 0);
  auto reports = servers.delivered("postmaster");
  REQUIRE(reports.size() == 1);
  CHECK(contains(reports[0], "forged@allow"));
}
