// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Issue 16, point 1: every command the real clamfetch binary sends follows the protocol
// grammar byte for byte (RFC 9051/3501 IMAP, RFC 1939/2449/5034 POP3, RFC 5321/2033 SMTP and
// LMTP). Real servers cannot show this: Dovecot and Postfix forgive a trailing space, a stray
// space after "FROM:" and the like (Dovecot accepted "2 CAPABILITY " that Cyrus refuses with
// BAD). So the peer is the scripted fake (tests/fake) with the strict checker of
// tests/fake/grammar.hpp on every line: a full session of each protocol, where any deviation
// stops the script and names the bytes. The first cases check the checker itself.

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "fake/grammar.hpp"
#include "fake/transcript_server.hpp"
#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using clamfetch::test::ClamfetchUser;
using clamfetch::test::MailServers;
using clamfetch::test::RunResult;
using clamfetch::test::Step;
using clamfetch::test::TranscriptServer;
namespace grammar = clamfetch::test::grammar;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Replaces the first `from` in `text` (which must be there).
std::string replace(std::string text, const std::string& from, const std::string& to) {
  std::size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

// Checks lines in order with one checker (state carries over, as in a session).
std::vector<std::string> verdicts(const grammar::Checker& check, const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  for (const auto& line : lines) out.push_back(check(line));
  return out;
}

const std::string kMessage =
    "Return-Path: <sender@example.net>\r\nFrom: Sender <sender@example.net>\r\n"
    "To: virtualuser1@example.com\r\nSubject: strict peer\r\nMessage-ID: <strict-1@example.net>\r\n"
    "\r\n.a line starting with a dot\r\nbody \xe9 8-bit\r\n";

}  // namespace

// ---------------------------------------------------------------- the checker itself

TEST_CASE("Strict IMAP grammar: what is accepted and what is refused", "[grammar]") {
  auto ok = [](const std::string& line) { return grammar::imap_checker()(line); };
  CHECK(ok("1 CAPABILITY\r\n").empty());
  CHECK(ok("a.1 LOGIN joe \"se cret\\\"q\\\\x\"\r\n").empty());
  CHECK(ok("7 UID FETCH 1:* (UID RFC822.SIZE FLAGS)\r\n").empty());
  CHECK(ok("8 UID STORE 3:5,9 +FLAGS.SILENT (\\Deleted)\r\n").empty());
  CHECK(ok("9 UID EXPUNGE 3:5\r\n").empty());
  CHECK(ok("4 AUTHENTICATE PLAIN AGpvZQBzZWNyZXQ=\r\n").empty());
  CHECK(ok("4 SELECT \"Sent Items\"\r\n").empty());
  CHECK(ok("4 SELECT INBOX (CONDSTORE)\r\n").empty());  // RFC 7162
  CHECK(ok("4 SELECT INBOX (QRESYNC (67890007 20050715194045000))\r\n").empty());
  CHECK(ok("4 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541))\r\n").empty());
  CHECK(ok("5 ENABLE QRESYNC\r\n").empty());
  CHECK(ok("6 UID SEARCH ALL\r\n").empty());
  CHECK(ok("7 UID FETCH 1:40 (UID) (CHANGEDSINCE 12 VANISHED)\r\n").empty());
  CHECK(contains(ok("7 FETCH 1:40 (UID) (CHANGEDSINCE 12 VANISHED)\r\n"), "not an IMAP command"));
  CHECK(contains(ok("7 UID FETCH 1:40 (UID) (CHANGEDSINCE 0)\r\n"), "not an IMAP command"));
  CHECK(contains(ok("4 SELECT INBOX (QRESYNC (0 5))\r\n"), "not an IMAP command"));
  CHECK(contains(ok("4 SELECT INBOX ()\r\n"), "not an IMAP command"));
  CHECK(contains(ok("5 ENABLE\r\n"), "not an IMAP command"));
  CHECK(contains(ok("2 CAPABILITY \r\n"), "trailing space"));
  CHECK(contains(ok("2 CAPABILITY\n"), "CRLF"));
  CHECK(contains(ok("2  NOOP\r\n"), "exactly one SP"));
  CHECK(contains(ok("+1 NOOP\r\n"), "no tag"));
  CHECK(contains(ok("3 LOGIN joe \"p\xc3\xa9\"\r\n"), "not an IMAP command"));  // 8-bit in quoted
  CHECK(contains(ok("3 LOGIN joe pass word\r\n"), "extra octets"));
  CHECK(contains(ok("3 AUTHENTICATE PLAIN not-base64\r\n"), "not an IMAP command"));
  CHECK(contains(ok("3 FETCH 0:1 (UID)\r\n"), "not an IMAP command"));
  // A literal: the command is checked once its octets have come.
  auto check = grammar::imap_checker();
  CHECK(verdicts(check, {"3 LOGIN joe {4}\r\n", "p\xc3\xa9w\r\n", "4 IDLE\r\n", "DONE\r\n"}) ==
        std::vector<std::string>{"", "", "", ""});
  CHECK(check("5 IDLE\r\n").empty());
  CHECK(contains(check("5 NOOP\r\n"), "DONE"));
  auto sasl = grammar::imap_checker();
  CHECK(verdicts(sasl, {"1 AUTHENTICATE PLAIN\r\n", "AGpvZQBzZWNyZXQ=\r\n", "2 SELECT INBOX\r\n"}) ==
        std::vector<std::string>{"", "", ""});
}

TEST_CASE("Strict SASL grammar knows the OAUTHBEARER and XOAUTH2 messages", "[grammar]") {
  // base64 of "n,a=u,^Ahost=h^Aport=993^Aauth=Bearer tok^A^A" and "user=u^Aauth=Bearer tok^A^A".
  const std::string bearer = "bixhPXUsAWhvc3Q9aAFwb3J0PTk5MwFhdXRoPUJlYXJlciB0b2sBAQ==";
  const std::string xoauth2 = "dXNlcj11AWF1dGg9QmVhcmVyIHRvawEB";
  const std::string plain = "AGpvZQBzZWNyZXQ=";  // "\0joe\0secret": no OAuth2 message
  auto imap = grammar::imap_checker();
  CHECK(verdicts(imap, {"1 AUTHENTICATE OAUTHBEARER " + bearer + "\r\n", "AQ==\r\n", "2 SELECT INBOX\r\n"}) ==
        std::vector<std::string>{"", "", ""});
  CHECK(contains(grammar::imap_checker()("1 AUTHENTICATE OAUTHBEARER " + plain + "\r\n"), "not an OAUTHBEARER"));
  CHECK(contains(grammar::imap_checker()("1 AUTHENTICATE OAUTHBEARER " + xoauth2 + "\r\n"), "not an OAUTHBEARER"));
  auto pop3 = grammar::pop3_checker();
  CHECK(verdicts(pop3, {"AUTH XOAUTH2\r\n", xoauth2 + "\r\n", "\r\n", "STAT\r\n"}) ==
        std::vector<std::string>{"", "", "", ""});
  auto wrong = grammar::pop3_checker();
  CHECK(wrong("AUTH XOAUTH2\r\n").empty());
  CHECK(contains(wrong(bearer + "\r\n"), "not an XOAUTH2 response"));
  // After a failure challenge XOAUTH2 answers with an empty line, not OAUTHBEARER's ^A.
  auto answer = grammar::pop3_checker();
  CHECK(answer("AUTH XOAUTH2 " + xoauth2 + "\r\n").empty());
  CHECK(contains(answer("AQ==\r\n"), "not a POP3 command"));
}

TEST_CASE("Strict POP3 and SMTP grammar: what is accepted and what is refused", "[grammar]") {
  auto pop3 = [](const std::string& line) { return grammar::pop3_checker()(line); };
  CHECK(pop3("USER joe\r\n").empty());
  CHECK(pop3("PASS se cret\"q\\x\r\n").empty());
  CHECK(pop3("AUTH PLAIN AGpvZQBzZWNyZXQ=\r\n").empty());
  CHECK(pop3("RETR 12\r\n").empty());
  CHECK_FALSE(pop3("RETR 0\r\n").empty());
  CHECK_FALSE(pop3("CAPA \r\n").empty());
  CHECK_FALSE(pop3("LIST\n").empty());
  CHECK_FALSE(pop3("AUTH PLAIN AGpvZQ\r\n").empty());
  CHECK_FALSE(pop3("USER jo e\r\n").empty());
  auto smtp = [](const std::string& line) { return grammar::smtp_checker(false)(line); };
  CHECK(smtp("EHLO mail.example.com\r\n").empty());
  CHECK(smtp("EHLO [127.0.0.1]\r\n").empty());
  CHECK(smtp("MAIL FROM:<> SIZE=120 BODY=8BITMIME\r\n").empty());
  CHECK(smtp("MAIL FROM:<\"a b\"@example.net>\r\n").empty());
  CHECK(smtp("RCPT TO:<virtualuser1@example.com>\r\n").empty());
  CHECK_FALSE(smtp("MAIL FROM: <a@example.net>\r\n").empty());
  CHECK_FALSE(smtp("MAIL FROM:<a@example.net> \r\n").empty());
  CHECK_FALSE(smtp("MAIL FROM:<a@example.net> SIZE=\r\n").empty());
  CHECK_FALSE(smtp("MAIL FROM:<a@example.net> BODY=9BIT\r\n").empty());
  CHECK_FALSE(smtp("MAIL FROM:<a b@example.net>\r\n").empty());
  CHECK_FALSE(smtp("EHLO 127.0.0.1.\r\n").empty());
  CHECK_FALSE(smtp("LHLO mail.example.com\r\n").empty());
  CHECK(grammar::smtp_checker(true)("LHLO mail.example.com\r\n").empty());
  CHECK(grammar::is_base64("AGpvZQBzZWNyZXQ="));
  CHECK(grammar::is_imap_tag("A001"));
  CHECK_FALSE(grammar::is_imap_tag("A+1"));
  CHECK(grammar::is_dot_string_mailbox("a.b@c.d"));
}

// ---------------------------------------------------------------- full sessions, real binary

TEST_CASE("Strict IMAP peer: a full STARTTLS session of the real binary keeps to RFC 9051", "[grammar]") {
  MailServers servers;
  ClamfetchUser user(servers);
  auto strict = [](const std::string& prefix) { return Step::strict(prefix, grammar::imap_checker()); };
  std::string size = std::to_string(kMessage.size());
  // No capabilities in the greeting: the client must ask, before and after STARTTLS.
  TranscriptServer fake({
      Step::send("* OK strict fake IMAP ready\r\n"),
      strict("1 CAPABILITY"), Step::send("* CAPABILITY IMAP4rev1 STARTTLS\r\n1 OK done\r\n"),
      strict("2 STARTTLS"), Step::send("2 OK begin TLS\r\n"),
      Step::start_tls(servers.env("SERVER_CERT"), servers.env("SERVER_KEY")),
      strict("3 CAPABILITY"), Step::send("* CAPABILITY IMAP4rev1 UIDPLUS AUTH=PLAIN\r\n3 OK done\r\n"),
      strict("4 LOGIN pop3userid1 \"se cret\\\"q\\\\x\""),
      Step::send("4 OK [CAPABILITY IMAP4rev1 UIDPLUS] logged in\r\n"),
      strict("5 SELECT INBOX"),
      Step::send("* 1 EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n* OK [UIDNEXT 8] next\r\n"
                 "5 OK [READ-WRITE] selected\r\n"),
      strict("6 UID FETCH 1:* "),
      Step::send("* 1 FETCH (UID 7 RFC822.SIZE " + size + " FLAGS ())\r\n6 OK done\r\n"),
      strict("7 UID FETCH 7 "),
      Step::send("* 1 FETCH (UID 7 BODY[] {" + size + "}\r\n" + kMessage + ")\r\n7 OK done\r\n"),
      strict("8 UID STORE 7 +FLAGS.SILENT (\\Deleted)"), Step::send("8 OK stored\r\n"),
      strict("9 UID EXPUNGE 7"), Step::send("* 1 EXPUNGE\r\n9 OK expunged\r\n"),
      strict("10 LOGOUT"), Step::send("* BYE bye\r\n10 OK done\r\n")});
  std::string rc = replace(user.standard_rc("imap", "starttls"), "port = " + servers.env("IMAP_PORT"),
                           "port = " + std::to_string(fake.port()));
  user.write_rc(replace(rc, "password = \"pop3password1\"", "password = \"se cret\\\"q\\\\x\""));
  RunResult r = user.clamfetch({});
  INFO(r.err);
  REQUIRE(fake.wait_done(20));
  CHECK(fake.failure() == "");
  CHECK(fake.tls_established());
  CHECK(r.exit_code == 0);
  servers.wait_queue_empty();
  auto delivered = servers.delivered("virtualuser1");
  REQUIRE(delivered.size() == 1);
  CHECK(clamfetch::test::lf_to_crlf(delivered[0]).find("Subject: strict peer\r\n") != std::string::npos);
}

TEST_CASE("Strict IMAP peer: an 8-bit password goes as a literal, a UTF-8 folder in modified UTF-7", "[grammar]") {
  // RFC 9051's quoted carries 7-bit TEXT-CHARs only; libetpan quoted a UTF-8 password and
  // folder name as they were.
  MailServers servers;
  ClamfetchUser user(servers);
  const std::string password = "p\xc3\xa4ss w\xc3\xb6rd";
  auto check = grammar::imap_checker();  // one checker: the literal spans two lines
  TranscriptServer fake({
      Step::start_tls(servers.env("SERVER_CERT"), servers.env("SERVER_KEY")),
      Step::send("* OK [CAPABILITY IMAP4rev1] strict fake ready\r\n"),
      Step::strict("1 LOGIN pop3userid1 {" + std::to_string(password.size()) + "}", check),
      Step::send("+ go ahead\r\n"), Step::strict(password, check),
      Step::send("1 OK [CAPABILITY IMAP4rev1 UIDPLUS] logged in\r\n"),
      Step::strict("2 SELECT \"Entw&APw-rfe\"", check),
      Step::send("* 0 EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n2 OK [READ-WRITE] selected\r\n"),
      Step::strict("3 LOGOUT", check), Step::send("* BYE bye\r\n3 OK done\r\n")});
  std::string rc = replace(user.standard_rc("imap", "implicit"), "port = " + servers.env("IMAPS_PORT"),
                           "port = " + std::to_string(fake.port()));
  rc = replace(rc, "password = \"pop3password1\"", "password = \"" + password + "\"");
  user.write_rc(rc + "  folders = [\"Entw\xc3\xbcrfe\"]\n");
  RunResult r = user.clamfetch({});
  INFO(r.err);
  REQUIRE(fake.wait_done(20));
  CHECK(fake.failure() == "");
  CHECK(r.exit_code == 1);  // logged in, no mail
}

TEST_CASE("Strict POP3 peer: a full STLS session of the real binary keeps to RFC 1939/2449", "[grammar]") {
  MailServers servers;
  ClamfetchUser user(servers);
  auto strict = [](const std::string& prefix) { return Step::strict(prefix, grammar::pop3_checker()); };
  std::string size = std::to_string(kMessage.size());
  std::string stuffed = replace(kMessage, "\r\n.a line", "\r\n..a line");
  TranscriptServer fake({
      Step::send("+OK strict fake POP3 ready\r\n"),
      strict("CAPA"), Step::send("+OK\r\nSTLS\r\nUIDL\r\nUSER\r\n.\r\n"),
      strict("STLS"), Step::send("+OK begin TLS\r\n"),
      Step::start_tls(servers.env("SERVER_CERT"), servers.env("SERVER_KEY")),
      strict("CAPA"), Step::send("+OK\r\nUIDL\r\nUSER\r\n.\r\n"),
      strict("USER pop3userid1"), Step::send("+OK\r\n"),
      strict("PASS se cret\"q\\x"), Step::send("+OK logged in\r\n"),
      strict("LIST"), Step::send("+OK\r\n1 " + size + "\r\n.\r\n"),
      strict("UIDL"), Step::send("+OK\r\n1 uid-strict-1\r\n.\r\n"),
      strict("RETR 1"), Step::send("+OK\r\n" + stuffed + ".\r\n"),
      strict("DELE 1"), Step::send("+OK deleted\r\n"),
      strict("QUIT"), Step::send("+OK bye\r\n")});
  std::string rc = replace(user.standard_rc("pop3", "starttls"), "port = " + servers.env("POP3_PORT"),
                           "port = " + std::to_string(fake.port()));
  user.write_rc(replace(rc, "password = \"pop3password1\"", "password = \"se cret\\\"q\\\\x\""));
  RunResult r = user.clamfetch({});
  INFO(r.err);
  REQUIRE(fake.wait_done(20));
  CHECK(fake.failure() == "");
  CHECK(fake.tls_established());
  CHECK(r.exit_code == 0);
  servers.wait_queue_empty();
  CHECK(servers.delivered("virtualuser1").size() == 1);
}

namespace {

// The fetch side is the real Dovecot (POP3S); the MTA is the strict fake, SMTP or LMTP.
void strict_mta_session(bool lmtp) {
  MailServers servers;
  ClamfetchUser user(servers);
  servers.seed("pop3userid1", kMessage);
  auto strict = [lmtp](const std::string& prefix) { return Step::strict(prefix, grammar::smtp_checker(lmtp)); };
  std::vector<Step> script = {
      Step::send(std::string("220 strict fake ") + (lmtp ? "LMTP" : "ESMTP") + "\r\n"),
      strict(lmtp ? "LHLO " : "EHLO "),
      Step::send("250-fake\r\n250-SIZE 10000000\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n"),
      strict("MAIL FROM:<sender@example.net> SIZE="), Step::send("250 2.1.0 ok\r\n"),
      strict("RCPT TO:<virtualuser1@example.com>"), Step::send("250 2.1.5 ok\r\n"),
      strict("DATA"), Step::send("354 go ahead\r\n"), Step::data(),
      Step::send("250 2.0.0 queued\r\n"),
      strict("QUIT"), Step::send("221 2.0.0 bye\r\n")};
  TranscriptServer fake(script);
  std::string host = std::string(lmtp ? "lmtp:" : "") + "127.0.0.1:" + std::to_string(fake.port());
  user.write_rc(replace(user.standard_rc("pop3", "implicit"), "127.0.0.1:" + servers.env("SMTP_PORT"), host));
  RunResult r = user.clamfetch({});
  INFO(r.err);
  REQUIRE(fake.wait_done(20));
  CHECK(fake.failure() == "");
  CHECK(r.exit_code == 0);
  // MAIL FROM carried BODY=8BITMIME for the 8-bit body, and the data arrived intact.
  CHECK(fake.received_line_starting("MAIL FROM:<sender@example.net> SIZE="));
  auto lines = fake.received();
  CHECK(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.rfind("MAIL FROM:", 0) == 0 && contains(l, " BODY=8BITMIME");
  }));
  auto data = fake.data();
  REQUIRE(data.size() == 1);
  CHECK(data[0].size() > kMessage.size());
  CHECK(data[0].compare(data[0].size() - kMessage.size(), kMessage.size(), kMessage) == 0);
  CHECK(servers.remote_messages("pop3userid1").empty());
}

}  // namespace

TEST_CASE("Strict SMTP peer: EHLO MAIL RCPT DATA QUIT of the real binary keep to RFC 5321", "[grammar]") {
  strict_mta_session(false);
}

TEST_CASE("Strict LMTP peer: LHLO MAIL RCPT DATA QUIT of the real binary keep to RFC 2033", "[grammar]") {
  strict_mta_session(true);
}
