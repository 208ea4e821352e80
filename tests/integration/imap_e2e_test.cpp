// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// IMAP end to end: the clamfetch binary, run as the unprivileged test user, fetching over
// IMAPS and IMAP+STARTTLS from the fixture's real Dovecot, scanning with the real libclamav
// and the test signatures, delivering into Postfix's virtual Maildirs. At the end, the
// session call under the daemon's --idle (Session::idle) against Dovecot and the fake.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/log.hpp"
#include "fake/transcript_server.hpp"
#include "fetch/fetch.hpp"
#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;

namespace {

// A write to a server that went away must be an error, not the end of the test binary.
const bool kSigpipeIgnored = [] { return signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();

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

// Each of `sent` arrived exactly once at `localpart`, its body byte for byte.
void check_delivered(const MailServers& servers, const std::string& localpart,
                     const std::vector<std::pair<std::string, std::string>>& sent) {
  servers.wait_queue_empty();
  CHECK(servers.delivered(localpart).size() == sent.size());
  for (const auto& [id, bytes] : sent) {
    INFO(localpart << " " << id);
    auto got = with_id(servers, localpart, id);
    REQUIRE(got.size() == 1);
    CHECK(body_of(lf_to_crlf(got[0])) == body_of(bytes));
  }
}

// Seeds `count` messages of growing sizes (one of 300 KB) and returns (id, bytes) of each.
std::vector<std::pair<std::string, std::string>> seed_batch(const MailServers& servers, const std::string& user,
                                                            const std::string& tag, int count) {
  std::vector<std::pair<std::string, std::string>> sent;
  std::vector<std::string> bytes;
  for (int i = 0; i < count; ++i) {
    std::string id = tag + std::to_string(i) + "@imap";
    sent.emplace_back(id, make_message(id, i == 1 ? 300000 : 1000 + 777 * i));
    bytes.push_back(sent.back().second);
  }
  servers.seed(user, bytes);
  return sent;
}

// Maildir flags of the messages left in a Dovecot user's INBOX ("S" = \Seen).
std::vector<std::string> remote_flags(const MailServers& servers, const std::string& user) {
  std::vector<std::string> flags;
  for (const char* sub : {"/new", "/cur"}) {
    auto dir = servers.dir() + "/remote/" + user + sub;
    if (!std::filesystem::exists(dir)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      auto name = entry.path().filename().string();
      auto info = name.find(":2,");
      flags.push_back(info == std::string::npos ? "" : name.substr(info + 3));
    }
  }
  return flags;
}

}  // namespace

TEST_CASE("IMAPS: every message delivered byte for byte and the server emptied") {
  MailServers servers;
  ClamfetchUser user(servers);
  auto sent = seed_batch(servers, "pop3userid1", "s", 4);
  user.write_rc(user.standard_rc("imap", "implicit"));
  auto r = user.clamfetch({"-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "4 messages for pop3userid1 at localhost"));
  check_delivered(servers, "virtualuser1", sent);
  CHECK(servers.remote_messages("pop3userid1").empty());
  CHECK(user.clamfetch({}).exit_code == 1);
}

TEST_CASE("IMAP with STARTTLS: every message delivered byte for byte and the server emptied") {
  MailServers servers;
  ClamfetchUser user(servers);
  auto sent = seed_batch(servers, "pop3userid1", "t", 3);
  user.write_rc(user.standard_rc("imap", "starttls"));
  auto r = user.clamfetch({"-v", "-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "STARTTLS"));  // the trace shows the upgrade; the password stays masked
  CHECK_FALSE(contains(r.err, "pop3password1"));
  check_delivered(servers, "virtualuser1", sent);
  CHECK(servers.remote_messages("pop3userid1").empty());
}

TEST_CASE("IMAP keep: messages stay marked seen and the next run without -a retrieves nothing") {
  MailServers servers;
  ClamfetchUser user(servers);
  auto sent = seed_batch(servers, "pop3userid1", "k", 3);
  user.write_rc(user.standard_rc("imap", "implicit"));
  auto first = user.clamfetch({"-k", "-v"});
  INFO(first.err);
  CHECK(first.exit_code == 0);
  CHECK(contains(first.err, "clean, not flushed"));
  auto flags = remote_flags(servers, "pop3userid1");
  CHECK(flags.size() == 3);
  for (const auto& f : flags) CHECK(contains(f, "S"));
  auto second = user.clamfetch({"-k"});
  INFO(second.err);
  CHECK(second.exit_code == 1);
  check_delivered(servers, "virtualuser1", sent);
  CHECK(servers.remote_messages("pop3userid1").size() == 3);
}

TEST_CASE("IMAP virtual mailboxes: two accounts on one server and the second with its own smtphost") {
  MailServers servers;
  ClamfetchUser user(servers);
  auto sent1 = seed_batch(servers, "pop3userid1", "v1-", 3);
  auto sent2 = seed_batch(servers, "pop3userid2", "v2-", 2);
  user.write_rc(user.standard_rc("imap", "implicit") +
                "\n  [[poll.user]]\n  username = \"pop3userid2\"\n  password = \"pop3password2\"\n"
                "  is = \"virtualuser2@example.com\"\n  smtphost = \"127.0.0.1:" +
                servers.env("SMTP_PORT") + "\"\n");
  auto r = user.clamfetch({"-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  check_delivered(servers, "virtualuser1", sent1);
  check_delivered(servers, "virtualuser2", sent2);
  CHECK(servers.remote_messages("pop3userid1").empty());
  CHECK(servers.remote_messages("pop3userid2").empty());
}

TEST_CASE("IMAP EICAR: the infected message reaches only the postmaster as a report") {
  MailServers servers;
  ClamfetchUser user(servers);
  std::string clean = make_message("clean@imap", 4000);
  servers.seed("pop3userid1", std::vector<std::string>{clean, infected_message("virus@imap")});
  user.write_rc(user.standard_rc("imap", "implicit"));
  auto r = user.clamfetch({"-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "INFECTED Clamfetch.Test.EICAR"));
  check_delivered(servers, "virtualuser1", {{"clean@imap", clean}});
  CHECK(with_id(servers, "virtualuser1", "virus@imap").empty());
  auto reports = servers.delivered("postmaster");
  REQUIRE(reports.size() == 1);
  CHECK(contains(reports[0], "Clamfetch.Test.EICAR"));
  CHECK(contains(reports[0], "virus@imap"));
  CHECK(contains(reports[0], "message/rfc822"));
  CHECK(servers.remote_messages("pop3userid1").empty());
}

// ---------------------------------------------------------------- Session::idle, under --idle

namespace {

using clamfetch::Log;
using clamfetch::Result;
using clamfetch::fetch::AccountSettings;
using clamfetch::fetch::IdleEvent;
using clamfetch::fetch::TlsMode;

AccountSettings idle_settings(const std::string& server, uint16_t port, clamfetch::fetch::Protocol protocol,
                              TlsMode mode, const std::string& username, const std::string& password,
                              const std::string& ca_file) {
  AccountSettings settings;
  settings.server = server;
  settings.port = port;
  settings.protocol = protocol;
  settings.tls.mode = mode;
  settings.tls.ca_file = ca_file;
  settings.username = username;
  settings.password = [password] { return Result<std::string>(password); };
  settings.timeout_seconds = 20;
  settings.account = username + "@" + server;
  return settings;
}

double seconds_of(const std::function<void()>& work) {
  auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("Session::idle on Dovecot ends on new mail or the wake fd or the time limit and expunges first") {
  MailServers servers;
  Log log;
  auto session = clamfetch::fetch::make_session(
      idle_settings("localhost", static_cast<uint16_t>(servers.port("IMAPS_PORT")), clamfetch::fetch::Protocol::imap,
                    TlsMode::implicit, "pop3userid3", "pop3password3", servers.env("CA_FILE")),
      log);
  REQUIRE(session->open());
  CHECK(session->can_idle());
  auto listed = session->list("INBOX");
  REQUIRE(listed);
  CHECK(listed->messages.empty());

  Result<IdleEvent> event = IdleEvent::woken;
  CHECK(seconds_of([&] { event = session->idle(1, -1); }) >= 0.9);
  REQUIRE(event);
  CHECK(*event == IdleEvent::timeout);

  int wake = eventfd(1, EFD_CLOEXEC);  // already readable
  REQUIRE(wake >= 0);
  CHECK(seconds_of([&] { event = session->idle(60, wake); }) < 10);
  close(wake);
  REQUIRE(event);
  CHECK(*event == IdleEvent::woken);

  std::thread seeder([&] {
    usleep(500000);
    servers.seed("pop3userid3", make_message("idle-api@imap", 1000));
  });
  double waited = seconds_of([&] { event = session->idle(60, -1); });
  seeder.join();
  REQUIRE(event);
  CHECK(*event == IdleEvent::new_mail);
  CHECK(waited < 10);
  listed = session->list("INBOX");
  REQUIRE(listed);
  REQUIRE(listed->messages.size() == 1);

  // A deletion marked before idle() is expunged before the wait starts.
  REQUIRE(session->acknowledge(listed->messages, true));
  event = session->idle(1, -1);
  REQUIRE(event);
  CHECK(servers.remote_messages("pop3userid3").empty());
  CHECK(session->close());
}

TEST_CASE("Session::idle: POP3 has none") {
  MailServers servers;
  Log log;
  auto session = clamfetch::fetch::make_session(
      idle_settings("localhost", static_cast<uint16_t>(servers.port("POP3S_PORT")), clamfetch::fetch::Protocol::pop3,
                    TlsMode::implicit, "pop3userid3", "pop3password3", servers.env("CA_FILE")),
      log);
  REQUIRE(session->open());
  CHECK_FALSE(session->can_idle());
  auto event = session->idle(1, -1);
  REQUIRE_FALSE(event);
  CHECK(event.error().kind == clamfetch::Kind::protocol);
  CHECK(event.error().text == "IDLE not supported");
  CHECK(session->close());
}

// Dovecot says "* OK Still here" only every 2 minutes, always offers IDLE, and cannot be made
// to deliver a message exactly while a poll runs: the transcript fake plays those.
namespace {

using clamfetch::test::Step;
using clamfetch::test::TranscriptServer;

// Logged in (with these capabilities) and INBOX selected: empty, UIDNEXT 8.
std::vector<Step> selected(const std::string& capabilities, std::vector<Step> then) {
  std::vector<Step> steps{
      Step::send("* OK [CAPABILITY IMAP4rev1] fake ready\r\n"), Step::expect("1 LOGIN fakeuser"),
      Step::send("1 OK [CAPABILITY IMAP4rev1 " + capabilities + "] logged in\r\n"), Step::expect("2 SELECT INBOX"),
      Step::send("* 0 EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n* OK [UIDNEXT 8] next\r\n2 OK [READ-WRITE] selected\r\n")};
  steps.insert(steps.end(), then.begin(), then.end());
  steps.push_back(Step::hang());
  return steps;
}

// idle(30) on a session to the fake, after listing INBOX.
Result<IdleEvent> idle_on(const TranscriptServer& fake) {
  Log log;
  auto session = clamfetch::fetch::make_session(
      idle_settings("127.0.0.1", fake.port(), clamfetch::fetch::Protocol::imap, TlsMode::none, "fakeuser",
                    "fake-secret-pw", ""),
      log);
  REQUIRE(session->open());
  REQUIRE(session->list("INBOX"));
  return session->idle(30, -1);
}

}  // namespace

TEST_CASE("fake: server chatter during IDLE starts the next IDLE and EXISTS ends it") {
  // "* SEARCH 7": UID n:* always matches the highest UID, here below UIDNEXT: nothing new.
  TranscriptServer fake(selected(
      "IDLE", {Step::expect("3 UID SEARCH UID 8:*"), Step::send("* SEARCH 7\r\n3 OK searched\r\n"),
               Step::expect("4 IDLE"), Step::send("+ idling\r\n"), Step::send("* OK Still here\r\n"),
               Step::expect("DONE"), Step::send("4 OK idle done\r\n"), Step::expect("5 IDLE"),
               Step::send("+ idling\r\n"), Step::send("* 1 EXISTS\r\n"), Step::expect("DONE"),
               Step::send("5 OK idle done\r\n")}));
  auto event = idle_on(fake);
  INFO(fake.failure());
  REQUIRE(event);
  CHECK(*event == IdleEvent::new_mail);
  CHECK(fake.received_line_starting("5 IDLE"));
}

TEST_CASE("fake: mail that arrived during the poll ends idle() before any IDLE") {
  SECTION("found by UID SEARCH from UIDNEXT") {
    TranscriptServer fake(selected(
        "IDLE", {Step::expect("3 UID SEARCH UID 8:*"), Step::send("* SEARCH 8\r\n3 OK searched\r\n")}));
    auto event = idle_on(fake);
    INFO(fake.failure());
    REQUIRE(event);
    CHECK(*event == IdleEvent::new_mail);
    CHECK_FALSE(fake.received_line_starting("4 IDLE"));
  }
  SECTION("announced by EXISTS in the reply to that SEARCH") {
    TranscriptServer fake(selected(
        "IDLE", {Step::expect("3 UID SEARCH UID 8:*"), Step::send("* SEARCH 7\r\n* 1 EXISTS\r\n3 OK searched\r\n")}));
    auto event = idle_on(fake);
    INFO(fake.failure());
    REQUIRE(event);
    CHECK(*event == IdleEvent::new_mail);
    CHECK_FALSE(fake.received_line_starting("4 IDLE"));
  }
}

TEST_CASE("fake: a server without IDLE gets no IDLE command") {
  TranscriptServer fake(selected("UIDPLUS", {}));
  auto refused = idle_on(fake);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == clamfetch::Kind::protocol);
  CHECK(refused.error().text == "fakeuser@127.0.0.1: IDLE not supported by 127.0.0.1");
  CHECK(fake.received().size() == 2);  // LOGIN and SELECT only
}
