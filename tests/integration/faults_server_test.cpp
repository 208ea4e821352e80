// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Issue 15, defects 5 and 6, through the real binary and the real Postfix of the fixture:
// a server that sends an empty or short body (the message must stay on the server, exit 4),
// and a server that trickles bytes (the run must end within its deadlines, exit 7). Real
// Dovecot never sends a body other than the one it announced, nor trickles a reply, so these
// cases are played by a scripted fake server (tests/fake); a last case checks that what real
// Dovecot sends for awkward messages (bare LF, no final newline, no body) still all arrives.

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "fake/transcript_server.hpp"
#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using clamfetch::test::ClamfetchUser;
using clamfetch::test::count_message_ids;
using clamfetch::test::MailServers;
using clamfetch::test::RunResult;
using clamfetch::test::Step;
using clamfetch::test::TranscriptServer;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// An rc with one account on the fake server (plaintext, loopback), delivering to the real
/// Postfix with the test signatures.
std::string fake_rc(const MailServers& servers, const std::string& protocol, uint16_t port,
                    int timeout, const std::string& global = "") {
  return "[global]\npostmaster = \"postmaster@example.com\"\n" + global +
         "\n[defaults]\nsmtphost = \"127.0.0.1:" + servers.env("SMTP_PORT") +
         "\"\ntimeout = " + std::to_string(timeout) +
         "\n\n[scan]\ndatabase = \"" CLAMFETCH_SOURCE_DIR "/tests/data/signatures\"\n"
         "\n[[poll]]\nserver = \"127.0.0.1\"\nprotocol = \"" + protocol +
         "\"\nport = " + std::to_string(port) + "\ntls = \"none\"\nallow_plaintext = true\n"
         "\n  [[poll.user]]\n  username = \"fakeuser\"\n  password = \"fake-secret-pw\"\n"
         "  is = \"virtualuser1@example.com\"\n";
}

/// POP3 up to the LIST and UIDL answers (no PIPELINING: one command at a time).
std::vector<Step> pop3_until_listed(const std::string& list, const std::string& uidl) {
  return {Step::send("+OK fake\r\n"), Step::expect("CAPA"), Step::send("+OK\r\nUIDL\r\n.\r\n"),
          Step::expect("USER"), Step::send("+OK\r\n"), Step::expect("PASS"),
          Step::send("+OK\r\n"), Step::expect("LIST"), Step::send(list),
          Step::expect("UIDL"), Step::send(uidl)};
}

/// IMAP up to the listing of one message, UID 7 of `size` octets. The listing command is
/// matched by its start only: what it asks for besides UID and size is not the point here.
std::vector<Step> imap_until_listed(uint64_t size) {
  return {Step::send("* OK [CAPABILITY IMAP4rev1 UIDPLUS] fake\r\n"),
          Step::expect("1 LOGIN fakeuser"),
          Step::send("1 OK [CAPABILITY IMAP4rev1 UIDPLUS] in\r\n"),
          Step::expect("2 SELECT INBOX"),
          Step::send("* 1 EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n2 OK [READ-WRITE] selected\r\n"),
          Step::expect("3 UID FETCH 1:*"),
          Step::send("* 1 FETCH (UID 7 RFC822.SIZE " + std::to_string(size) + " FLAGS ())\r\n"
                     "3 OK done\r\n")};
}

int seconds_since(std::chrono::steady_clock::time_point start) {
  return static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::steady_clock::now() - start)
                              .count());
}

/// Nothing reached Postfix (checked after its queue settled).
void check_nothing_delivered(const MailServers& servers) {
  servers.wait_queue_empty();
  CHECK(servers.delivered("virtualuser1").empty());
  CHECK(servers.delivered("postmaster").empty());
}

}  // namespace

// ---------------------------------------------------------------- defect 5: short bodies

TEST_CASE("POP3: an empty or grossly short body is not delivered, not deleted, exit 4") {
  MailServers servers;
  ClamfetchUser user(servers);
  struct Case { std::string name, body, line; };
  std::string cut = "Subject: cut short\r\n\r\nthe first line, and no more\r\n";
  const std::vector<Case> cases = {
      {"+OK then a lone dot", "", "announced 2000 octets (LIST) but sent an empty body"},
      {"a fortieth of the LIST size", cut,
       "announced 2000 octets (LIST) but sent only " + std::to_string(cut.size())},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    std::vector<Step> script = pop3_until_listed("+OK\r\n1 2000\r\n.\r\n", "+OK\r\n1 uid-a\r\n.\r\n");
    // After the refusal the client must go straight to QUIT: a DELE 1 breaks the script.
    script.insert(script.end(), {Step::expect("RETR 1"), Step::send("+OK\r\n" + c.body + ".\r\n"),
                                 Step::expect("QUIT"), Step::send("+OK bye\r\n")});
    TranscriptServer fake(script);
    user.write_rc(fake_rc(servers, "pop3", fake.port(), 10));
    RunResult r = user.clamfetch({});
    INFO(r.err);
    CHECK(r.exit_code == 4);
    CHECK(contains(r.err, "fakeuser@127.0.0.1: message UID uid-a of INBOX: server " + c.line +
                              ": not delivered, left on the server"));
    REQUIRE(fake.wait_done(10));
    CHECK(fake.failure().empty());
    CHECK_FALSE(fake.received_line_starting("DELE"));
  }
  check_nothing_delivered(servers);
}

TEST_CASE("POP3: a body a little off its LIST size is delivered, and an empty one next to it stays") {
  // LIST sizes are loose on real servers (LF counted for CRLF, dot-stuffing): 5 % off passes.
  MailServers servers;
  ClamfetchUser user(servers);
  std::string good = clamfetch::test::make_message("loose@example.com", 900);
  std::string list = "+OK\r\n1 500\r\n2 " + std::to_string(good.size() * 105 / 100) + "\r\n.\r\n";
  std::vector<Step> script = pop3_until_listed(list, "+OK\r\n1 uid-empty\r\n2 uid-good\r\n.\r\n");
  script.insert(script.end(),
                {Step::expect("RETR 1"), Step::send("+OK\r\n.\r\n"), Step::expect("RETR 2"),
                 Step::send("+OK\r\n" + good + ".\r\n"), Step::expect("DELE 2"),
                 Step::send("+OK\r\n"), Step::expect("QUIT"), Step::send("+OK bye\r\n")});
  TranscriptServer fake(script);
  user.write_rc(fake_rc(servers, "pop3", fake.port(), 10));
  RunResult r = user.clamfetch({});
  INFO(r.err);
  CHECK(r.exit_code == 0);  // other mail was retrieved
  CHECK(contains(r.err, "message UID uid-empty of INBOX: server announced 500 octets (LIST) but "
                        "sent an empty body: not delivered, left on the server"));
  REQUIRE(fake.wait_done(10));
  CHECK(fake.failure().empty());
  CHECK_FALSE(fake.received_line_starting("DELE 1"));
  servers.wait_queue_empty();
  CHECK(count_message_ids(servers.delivered("virtualuser1"))["loose@example.com"] == 1);
  CHECK(servers.delivered("virtualuser1").size() == 1);
}

TEST_CASE("IMAP: BODY[] NIL, {0} or a size other than RFC822.SIZE is not delivered, exit 4") {
  MailServers servers;
  ClamfetchUser user(servers);
  struct Case { std::string name, body, line; };
  std::string message = clamfetch::test::make_message("imapshort@example.com", 300);
  std::string size = std::to_string(message.size());
  const std::vector<Case> cases = {
      {"NIL", "NIL", "announced RFC822.SIZE " + size + " but sent an empty BODY[] (NIL or {0})"},
      {"{0}", "{0}\r\n", "announced RFC822.SIZE " + size + " but sent an empty BODY[] (NIL or {0})"},
      {"short literal", "{100}\r\n" + message.substr(0, 100),
       "announced RFC822.SIZE " + size + " but sent a BODY[] of 100 octets"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    std::vector<Step> script = imap_until_listed(message.size());
    // After the refusal the client must log out: a UID STORE (\Seen or \Deleted) breaks it.
    script.insert(script.end(),
                  {Step::expect("4 UID FETCH 7"),
                   Step::send("* 1 FETCH (UID 7 BODY[] " + c.body + ")\r\n4 OK done\r\n"),
                   Step::expect("5 LOGOUT"), Step::send("* BYE bye\r\n5 OK done\r\n")});
    TranscriptServer fake(script);
    user.write_rc(fake_rc(servers, "imap", fake.port(), 10));
    RunResult r = user.clamfetch({});
    INFO(r.err);
    CHECK(r.exit_code == 4);
    CHECK(contains(r.err, "fakeuser@127.0.0.1: message UID 7 of INBOX: server " + c.line +
                              ": not delivered, left on the server"));
    REQUIRE(fake.wait_done(10));
    CHECK(fake.failure().empty());
    CHECK_FALSE(fake.received_line_starting("5 UID STORE"));
  }
  check_nothing_delivered(servers);
}

TEST_CASE("Dovecot: CRLF, bare LF, no final newline and an empty body all arrive (POP3 and IMAP)") {
  // The size checks must refuse no real message: Dovecot keeps bare-LF files as they are
  // and announces (LIST, RFC822.SIZE) and sends them with CRLF.
  std::string protocol = GENERATE(std::string("pop3"), std::string("imap"));
  INFO(protocol);
  MailServers servers;
  ClamfetchUser user(servers);
  std::string crlf = clamfetch::test::make_message("crlf@example.com", 700);
  std::string lf = clamfetch::test::make_message("lf@example.com", 700);
  for (std::size_t at = lf.find("\r\n"); at != std::string::npos; at = lf.find("\r\n", at)) {
    lf.erase(at, 1);
  }
  std::string unterminated = clamfetch::test::make_message("unterminated@example.com", 300);
  unterminated.resize(unterminated.size() - 2);  // no CRLF after the last line
  std::string headers_only = clamfetch::test::make_message("nobody@example.com", 0);
  servers.seed("pop3userid1", {crlf, lf, unterminated, headers_only});
  user.write_rc(user.standard_rc(protocol));
  RunResult r = user.clamfetch({});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_FALSE(contains(r.err, "not delivered"));
  servers.wait_queue_empty();
  auto ids = count_message_ids(servers.delivered("virtualuser1"));
  for (const char* id : {"crlf@example.com", "lf@example.com", "unterminated@example.com",
                         "nobody@example.com"}) {
    INFO(id);
    CHECK(ids[id] == 1);
  }
  CHECK(servers.remote_messages("pop3userid1").empty());
}

// ---------------------------------------------------------------- defect 6: trickling servers

// Exit 7, not 2: the connection works, the server is too slow. fetchmail's 7 is "server
// reported an error or timed out" (Kind::timeout); 2 is a socket that could not be used.

TEST_CASE("POP3: a message trickled a byte at a time ends at its deadline, exit 7") {
  MailServers servers;
  ClamfetchUser user(servers);
  // 600 octets at 5 per second would take two minutes; the message's deadline is
  // timeout + ceil(600 / 10 KiB/s) = 3 s. Each byte comes well within the 2 s timeout.
  std::string message = clamfetch::test::make_message("trickle@example.com", 300);
  message.resize(600, 'x');
  std::vector<Step> script = pop3_until_listed("+OK\r\n1 " + std::to_string(message.size()) +
                                                   "\r\n.\r\n",
                                               "+OK\r\n1 uid-slow\r\n.\r\n");
  script.insert(script.end(), {Step::expect("RETR 1"), Step::send("+OK\r\n"),
                               Step::trickle(message + "\r\n.\r\n", 200), Step::hang()});
  TranscriptServer fake(script);
  user.write_rc(fake_rc(servers, "pop3", fake.port(), 2));
  auto start = std::chrono::steady_clock::now();
  RunResult r = user.clamfetch({});
  int took = seconds_since(start);
  INFO(r.err);
  CHECK(r.exit_code == 7);
  CHECK(contains(r.err, "message UID uid-slow (" + std::to_string(message.size()) +
                            " octets) not retrieved within 3 s"));
  CHECK(took < 12);
  // The session was dropped mid-message (no DELE, no QUIT: the fake was still trickling).
  REQUIRE(fake.wait_done(5));
  CHECK(fake.failure() == "client went away while we trickled");
  check_nothing_delivered(servers);
}

TEST_CASE("IMAP: a body trickled a byte at a time ends at its deadline, exit 7") {
  MailServers servers;
  ClamfetchUser user(servers);
  std::string message = clamfetch::test::make_message("imaptrickle@example.com", 300);
  std::vector<Step> script = imap_until_listed(message.size());
  script.insert(script.end(),
                {Step::expect("4 UID FETCH 7"),
                 Step::send("* 1 FETCH (UID 7 BODY[] {" + std::to_string(message.size()) + "}\r\n"),
                 Step::trickle(message + ")\r\n4 OK done\r\n", 200), Step::hang()});
  TranscriptServer fake(script);
  user.write_rc(fake_rc(servers, "imap", fake.port(), 2));
  auto start = std::chrono::steady_clock::now();
  RunResult r = user.clamfetch({});
  int took = seconds_since(start);
  INFO(r.err);
  CHECK(r.exit_code == 7);
  CHECK(contains(r.err, "message UID 7 (" + std::to_string(message.size()) +
                            " octets) not retrieved within 3 s"));
  CHECK(took < 12);
  // The session was dropped mid-message (no STORE, no LOGOUT: the fake was still trickling).
  REQUIRE(fake.wait_done(5));
  CHECK(fake.failure() == "client went away while we trickled");
  check_nothing_delivered(servers);
}

TEST_CASE("POP3: global.run_timeout ends a poll whose listing never ends, exit 7") {
  // Each listing line comes within the timeout and there is no message to put a deadline
  // on: only run_timeout bounds this poll.
  MailServers servers;
  ClamfetchUser user(servers);
  std::string endless;
  for (int i = 1; i <= 400; ++i) endless += std::to_string(i) + " 100\r\n";
  TranscriptServer fake({Step::send("+OK fake\r\n"), Step::expect("CAPA"),
                         Step::send("+OK\r\nUIDL\r\n.\r\n"), Step::expect("USER"),
                         Step::send("+OK\r\n"), Step::expect("PASS"), Step::send("+OK\r\n"),
                         Step::expect("LIST"), Step::send("+OK\r\n"),
                         Step::trickle(endless, 200), Step::hang()});
  user.write_rc(fake_rc(servers, "pop3", fake.port(), 2, "run_timeout = 4\n"));
  auto start = std::chrono::steady_clock::now();
  RunResult r = user.clamfetch({});
  int took = seconds_since(start);
  INFO(r.err);
  CHECK(r.exit_code == 7);
  CHECK(contains(r.err, "poll ended by run_timeout"));
  CHECK(took >= 4);
  CHECK(took < 12);
  REQUIRE(fake.wait_done(5));
  CHECK(fake.failure() == "client went away while we trickled");
  check_nothing_delivered(servers);
}

TEST_CASE("IMAP: global.run_timeout ends a poll whose SELECT never ends, exit 7") {
  MailServers servers;
  ClamfetchUser user(servers);
  std::string endless;
  for (int i = 1; i <= 400; ++i) endless += "* " + std::to_string(i) + " EXISTS\r\n";
  TranscriptServer fake({Step::send("* OK [CAPABILITY IMAP4rev1 UIDPLUS] fake\r\n"),
                         Step::expect("1 LOGIN fakeuser"),
                         Step::send("1 OK [CAPABILITY IMAP4rev1 UIDPLUS] in\r\n"),
                         Step::expect("2 SELECT INBOX"), Step::trickle(endless, 200),
                         Step::hang()});
  user.write_rc(fake_rc(servers, "imap", fake.port(), 2, "run_timeout = 4\n"));
  auto start = std::chrono::steady_clock::now();
  RunResult r = user.clamfetch({});
  int took = seconds_since(start);
  INFO(r.err);
  CHECK(r.exit_code == 7);
  CHECK(contains(r.err, "fakeuser@127.0.0.1: poll ended by run_timeout (SELECT INBOX)"));
  CHECK(took >= 4);
  CHECK(took < 12);
  REQUIRE(fake.wait_done(5));
  CHECK(fake.failure() == "client went away while we trickled");
  check_nothing_delivered(servers);
}
