// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// POP3 sessions against the real Dovecot of the test fixture (POP3S and POP3+STLS, verified
// against the fixture's CA), driven through the Session API. One fixture for the whole file;
// each test case uses its own POP3 user so that the mailboxes do not interfere.
// Links clamfetch_fetch (and tests/fake for the one fault Dovecot cannot produce).

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "fake/transcript_server.hpp"
#include "fetch/fetch.hpp"
#include "fetch/sessions.hpp"
#include "support/servers.hpp"

using clamfetch::Channel;
using clamfetch::Kind;
using clamfetch::Log;
using clamfetch::Result;
using clamfetch::Status;
using namespace clamfetch::fetch;
using clamfetch::test::MailServers;
using clamfetch::test::Step;
using clamfetch::test::TranscriptServer;

namespace {

MailServers& servers() {
  static MailServers instance;
  return instance;
}

/// 50 messages: 45 from 300 octets to ~150 KB, then 1 to 5 MB. Bodies carry 8-bit octets,
/// lines starting with one or two dots and a line that is a lone dot (all dot-stuffed on the
/// wire), CRLF line ends throughout.
std::vector<std::string> seeded_messages(const std::string& tag) {
  std::vector<std::string> messages;
  for (int i = 0; i < 50; ++i) {
    std::size_t size = i < 45 ? 300 + static_cast<std::size_t>(i) * i * 75 : (i - 44) * 1000000;
    std::string m = "From: sender@example.net\r\nTo: virtualuser1@example.com\r\n"
                    "Subject: " + tag + " message " + std::to_string(i) + "\r\n"
                    "Message-ID: <" + tag + "." + std::to_string(i) + "@example.net>\r\n"
                    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-8859-1\r\n"
                    "Content-Transfer-Encoding: 8bit\r\n\r\n"
                    ".leading dot\r\n..two dots\r\n.\r\n";
    for (unsigned line = 0; m.size() < size; ++line) {
      std::string text = "line " + std::to_string(line) + " of " + std::to_string(i) + ": ";
      for (int k = 0; k < 60; ++k) text += static_cast<char>(0xa0 + (line + k) % 96);
      m += (line % 7 == 0 ? "." : "") + text + "\r\n";
    }
    messages.push_back(m);
  }
  return messages;
}

/// A Log writing to a file (trace on), read back by the test.
struct TraceLog {
  TraceLog() {
    path = std::filesystem::temp_directory_path() /
           ("cf-pop3-trace-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    REQUIRE(log.use_file(path.string()).ok());
    log.enable_trace(static_cast<unsigned>(Channel::net));
  }
  ~TraceLog() { std::filesystem::remove(path); }
  std::vector<std::string> lines() const {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  std::string text() const {
    std::ostringstream all;
    for (const auto& line : lines()) all << line << "\n";
    return all.str();
  }
  static inline int counter = 0;
  Log log;
  std::filesystem::path path;
};

AccountSettings account(const std::string& user, TlsMode mode) {
  AccountSettings s;
  s.server = "localhost";
  s.port = static_cast<uint16_t>(
      servers().port(mode == TlsMode::implicit ? "POP3S_PORT" : "POP3_PORT"));
  s.protocol = Protocol::pop3;
  s.tls.mode = mode;
  s.tls.ca_file = servers().env("CA_FILE");
  s.username = user;
  std::string password = "pop3password" + user.substr(user.size() - 1);
  s.password = [password] { return Result<std::string>(password); };
  s.timeout_seconds = 30;
  s.account = user + "@localhost";
  return s;
}

struct Retrieved {
  std::vector<MessageRef> refs;
  std::vector<std::string> bodies;
};

Retrieved retrieve_all(Session& session) {
  Result<FolderListing> listing = session.list("INBOX");
  INFO((listing ? "" : listing.error().text));
  REQUIRE(listing.ok());
  CHECK(listing->rejected.empty());
  Retrieved got;
  Status status = session.retrieve(listing->messages, [&](const MessageRef& ref,
                                                          Result<std::string> bytes) {
    INFO((bytes ? "" : bytes.error().text));
    REQUIRE(bytes.ok());
    got.refs.push_back(ref);
    got.bodies.push_back(std::move(bytes).value());
    return true;
  });
  INFO((status ? "" : status.error().text));
  REQUIRE(status.ok());
  return got;
}

/// The command lines of the trace ("RETR 1", ...) and "<" for each reply, in order.
std::string wire_pattern(const std::vector<std::string>& trace, const std::string& verb) {
  std::string pattern;
  bool in_retrieval = false;
  for (const std::string& line : trace) {
    bool command = line.find("POP3> " + verb) != std::string::npos;
    in_retrieval = in_retrieval || command;
    if (!in_retrieval) continue;
    if (command) pattern += "C";
    else if (line.find("POP3< ") != std::string::npos) pattern += "S";
    else if (line.find("POP3> ") != std::string::npos) break;  // the next phase
  }
  return pattern;
}

void open_ok(Session& session) {
  Status opened = session.open();
  INFO((opened ? "" : opened.error().text));
  REQUIRE(opened.ok());
}

}  // namespace

TEST_CASE("POP3S: 50 messages byte for byte and pipelined DELE + QUIT empties the mailbox") {
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> seeded = seeded_messages("pop3s");
  servers().seed("pop3userid1", seeded);
  TraceLog trace;
  auto session = make_pop3_session(account("pop3userid1", TlsMode::implicit), trace.log);
  open_ok(*session);
  Retrieved got = retrieve_all(*session);
  REQUIRE(got.bodies.size() == seeded.size());
  std::set<std::string> uids;
  for (std::size_t i = 0; i < seeded.size(); ++i) {
    INFO("message " << i);
    CHECK(got.bodies[i] == seeded[i]);
    CHECK(got.refs[i].size == seeded[i].size());
    CHECK(got.refs[i].number == i + 1);
    uids.insert(got.refs[i].uid);
  }
  CHECK(uids.size() == seeded.size());
  REQUIRE(session->acknowledge(got.refs, true).ok());
  CHECK(servers().remote_messages("pop3userid1").size() == seeded.size());  // not before QUIT
  Status closed = session->close();
  INFO((closed ? "" : closed.error().text));
  REQUIRE(closed.ok());
  CHECK(servers().remote_messages("pop3userid1").empty());

  // Pipelined: the second RETR leaves before the first reply is read, DELEs likewise.
  std::vector<std::string> lines = trace.lines();
  CHECK(wire_pattern(lines, "RETR").substr(0, 2) == "CC");
  CHECK(wire_pattern(lines, "DELE").substr(0, 2) == "CC");
  // Every line names the account; the password never appears.
  std::string text = trace.text();
  CHECK(text.find("AUTH PLAIN ********") != std::string::npos);  // auth auto under TLS
  CHECK(text.find("pop3password1") == std::string::npos);
  for (const std::string& line : lines) CHECK(line.find("pop3userid1@localhost: ") != std::string::npos);
}

TEST_CASE("POP3+STLS: byte for byte and keep leaves every message on the server") {
  std::vector<std::string> seeded = seeded_messages("stls");
  servers().seed("pop3userid2", seeded);
  TraceLog trace;
  std::vector<std::string> first_uids;
  {
    auto session = make_pop3_session(account("pop3userid2", TlsMode::starttls), trace.log);
    open_ok(*session);
    Retrieved got = retrieve_all(*session);
    REQUIRE(got.bodies == seeded);
    for (const auto& ref : got.refs) first_uids.push_back(ref.uid);
    REQUIRE(session->acknowledge(got.refs, false).ok());
    REQUIRE(session->close().ok());
  }
  CHECK(servers().remote_messages("pop3userid2").size() == seeded.size());
  // STLS was used, and CAPA read again after it.
  std::string text = trace.text();
  auto stls = text.find("POP3> STLS");
  REQUIRE(stls != std::string::npos);
  CHECK(text.find("POP3> CAPA", stls) < text.find("POP3> AUTH PLAIN"));
  // A second session sees the same messages under the same UIDs.
  auto again = make_pop3_session(account("pop3userid2", TlsMode::starttls), trace.log);
  open_ok(*again);
  Result<FolderListing> listing = again->list("INBOX");
  REQUIRE(listing.ok());
  std::vector<std::string> uids;
  for (const auto& ref : listing->messages) uids.push_back(ref.uid);
  CHECK(uids == first_uids);
  REQUIRE(again->close().ok());
}

TEST_CASE("without pipelining: the same bytes and only acknowledged messages deleted") {
  std::vector<std::string> seeded = seeded_messages("lockstep");
  servers().seed("pop3userid3", seeded);
  TraceLog trace;
  Pop3Options lockstep;
  lockstep.use_pipelining = false;
  auto session = make_pop3_session(account("pop3userid3", TlsMode::implicit), trace.log, lockstep);
  open_ok(*session);
  Retrieved got = retrieve_all(*session);
  REQUIRE(got.bodies == seeded);
  std::vector<MessageRef> odd;
  for (std::size_t i = 0; i < got.refs.size(); i += 2) odd.push_back(got.refs[i]);
  REQUIRE(session->acknowledge(odd, true).ok());
  Result<FolderListing> after = session->list("INBOX");  // DELE'd ones are gone from the list
  REQUIRE(after.ok());
  CHECK(after->messages.size() == seeded.size() - odd.size());
  CHECK(after->messages.front().number == 2);
  REQUIRE(session->close().ok());

  std::vector<std::string> lines = trace.lines();
  std::string retr = wire_pattern(lines, "RETR");
  std::string alternating;
  for (std::size_t i = 0; i < seeded.size(); ++i) alternating += "CS";
  CHECK(retr == alternating);
  std::vector<std::string> remaining = servers().remote_messages("pop3userid3");
  REQUIRE(remaining.size() == seeded.size() / 2);
  for (std::size_t i = 0; i < remaining.size(); ++i) CHECK(remaining[i] == seeded[2 * i + 1]);
}

TEST_CASE("stopping a pipelined retrieval keeps the session usable") {
  std::vector<std::string> seeded = seeded_messages("stop");
  seeded.resize(20);
  servers().seed("pop3userid4", seeded);
  Log log;
  auto session = make_pop3_session(account("pop3userid4", TlsMode::implicit), log);
  open_ok(*session);
  Result<FolderListing> listing = session->list("INBOX");
  REQUIRE(listing.ok());
  std::vector<MessageRef> taken;
  Status status = session->retrieve(listing->messages, [&](const MessageRef& ref,
                                                           Result<std::string> bytes) {
    REQUIRE(bytes.ok());
    CHECK(*bytes == seeded[ref.number - 1]);
    taken.push_back(ref);
    return taken.size() < 3;
  });
  REQUIRE(status.ok());
  REQUIRE(taken.size() == 3);
  // The replies already asked for were drained: DELE and QUIT still work in step.
  REQUIRE(session->acknowledge(taken, true).ok());
  REQUIRE(session->close().ok());
  CHECK(servers().remote_messages("pop3userid4").size() == seeded.size() - 3);
}

TEST_CASE("a wrong password is Kind::auth naming account and server") {
  AccountSettings settings = account("pop3userid5", TlsMode::implicit);
  bool asked = false;
  settings.password = [&] {
    asked = true;
    return Result<std::string>("not-the-password");
  };
  Log log;
  auto session = make_pop3_session(settings, log);
  Status opened = session->open();
  REQUIRE_FALSE(opened.ok());
  CHECK(asked);
  CHECK(opened.error().kind == Kind::auth);
  CHECK(opened.error().text.rfind("authentication failed for pop3userid5 at localhost", 0) == 0);
  CHECK(session->close().ok());
}

TEST_CASE("POP3 list of another folder is a mailbox-scoped config error") {
  Log log;
  auto session = make_pop3_session(account("pop3userid6", TlsMode::implicit), log);
  open_ok(*session);
  Result<FolderListing> listing = session->list("Archive");
  REQUIRE_FALSE(listing.ok());
  CHECK(listing.error().scope == clamfetch::Scope::mailbox);
  REQUIRE(session->close().ok());
}

// Dovecot always answers QUIT; a connection lost at QUIT needs a fake server.
TEST_CASE("a connection lost at QUIT reports that the deletions were not committed") {
  TranscriptServer fake({Step::send("+OK fake\r\n"), Step::expect("CAPA"),
                         Step::send("+OK\r\nUIDL\r\n.\r\n"), Step::expect("USER"),
                         Step::send("+OK\r\n"), Step::expect("PASS"), Step::send("+OK\r\n"),
                         Step::expect("LIST"), Step::send("+OK\r\n1 5\r\n.\r\n"),
                         Step::expect("UIDL"), Step::send("+OK\r\n1 u1\r\n.\r\n"),
                         Step::expect("DELE 1"), Step::send("+OK\r\n"), Step::expect("QUIT"),
                         Step::close()});
  AccountSettings settings = account("pop3userid7", TlsMode::none);
  settings.server = "127.0.0.1";
  settings.port = fake.port();
  Log log;
  auto session = make_pop3_session(settings, log);
  open_ok(*session);
  Result<FolderListing> listing = session->list("INBOX");
  REQUIRE(listing.ok());
  REQUIRE(listing->messages.size() == 1);
  REQUIRE(session->acknowledge(listing->messages, true).ok());
  Status closed = session->close();
  REQUIRE_FALSE(closed.ok());
  CHECK(closed.error().text.rfind("1 deletion(s) not committed: ", 0) == 0);
  CHECK(fake.failure().empty());
}

// ---------------------------------------------------------------- faults Dovecot never makes

namespace {

/// A fake's script up to a logged-in session with two messages listed; the caller appends.
std::vector<Step> logged_in(const std::string& uidl_lines, const std::string& capa = "UIDL") {
  return {Step::send("+OK fake\r\n"), Step::expect("CAPA"),
          Step::send("+OK\r\n" + capa + "\r\n.\r\n"), Step::expect("USER"), Step::send("+OK\r\n"),
          Step::expect("PASS"), Step::send("+OK\r\n"), Step::expect("LIST"),
          Step::send("+OK\r\n1 20\r\n2 20\r\n.\r\n"), Step::expect("UIDL"),
          Step::send("+OK\r\n" + uidl_lines + ".\r\n")};
}

AccountSettings fake_account(const TranscriptServer& fake) {
  AccountSettings settings = account("pop3userid7", TlsMode::none);
  settings.server = "127.0.0.1";
  settings.port = fake.port();
  settings.timeout_seconds = 5;
  return settings;
}

struct FakeRun {
  explicit FakeRun(std::vector<Step> script) : fake(std::move(script)) {
    log.set_level(clamfetch::Level::error);
    session = make_pop3_session(fake_account(fake), log);
    open_ok(*session);
  }
  TranscriptServer fake;
  Log log;
  std::unique_ptr<Session> session;
};

}  // namespace

TEST_CASE("an over-long UID is rejected per message and the rest is listed") {
  std::string long_uid(71, 'u');
  FakeRun run(logged_in("1 " + long_uid + "\r\n2 good-uid\r\n"));
  Result<FolderListing> listing = run.session->list("INBOX");
  REQUIRE(listing.ok());
  REQUIRE(listing->messages.size() == 1);
  CHECK(listing->messages[0].uid == "good-uid");
  CHECK(listing->messages[0].number == 2);
  CHECK(listing->rejected == std::vector<std::string>{"message 1: UID of 71 octets"});
}

TEST_CASE("a server without UIDL cannot be tracked: Kind::protocol") {
  FakeRun run(logged_in("", "USER"));
  Result<FolderListing> listing = run.session->list("INBOX");
  REQUIRE_FALSE(listing.ok());
  CHECK(listing.error().kind == Kind::protocol);
}

TEST_CASE("RETR faults: -ERR is per message while malformed or cut replies end the session") {
  std::vector<Step> script = logged_in("1 a\r\n2 b\r\n");
  std::string expected_text;
  Kind expected_kind = Kind::protocol;
  SECTION("-ERR for one message, the next one still arrives") {
    script.insert(script.end(), {Step::expect("RETR 1"), Step::send("-ERR gone\r\n"),
                                 // 12 octets for LIST's 20 (under half would be refused).
                                 Step::expect("RETR 2"),
                                 Step::send("+OK\r\nx\r\n..y\r\n..z.\r\n.\r\n")});
  }
  SECTION("a malformed status line") {
    script.insert(script.end(), {Step::expect("RETR 1"), Step::send("HELLO\r\n")});
    expected_text = "malformed reply: HELLO";
  }
  SECTION("an over-long status line") {
    script.insert(script.end(),
                  {Step::expect("RETR 1"), Step::send("+OK " + std::string(5000, 'x') + "\r\n")});
    expected_text = "reply line too long";
  }
  SECTION("a body cut mid-line, then the connection closed") {
    script.insert(script.end(), {Step::expect("RETR 1"), Step::send("+OK\r\nSubject: cu"),
                                 Step::close()});
    expected_kind = Kind::connect;
    expected_text = "connection closed by the server (reading a reply)";
  }
  script.push_back(Step::hang());
  Pop3Options lockstep;
  lockstep.use_pipelining = false;
  TranscriptServer fake(script);
  Log log;
  log.set_level(clamfetch::Level::error);
  auto session = make_pop3_session(fake_account(fake), log, lockstep);
  open_ok(*session);
  Result<FolderListing> listing = session->list("INBOX");
  REQUIRE(listing.ok());
  std::vector<std::string> seen;
  Status status = session->retrieve(listing->messages, [&](const MessageRef& ref,
                                                           Result<std::string> bytes) {
    seen.push_back(ref.uid + "=" + (bytes ? *bytes : "error:" + bytes.error().text));
    if (!bytes) CHECK(bytes.error().scope == clamfetch::Scope::message);
    return true;
  });
  if (expected_text.empty()) {
    REQUIRE(status.ok());
    CHECK(seen == std::vector<std::string>{"a=error:RETR 1 refused: -ERR gone",
                                           "b=x\r\n.y\r\n.z.\r\n"});
  } else {
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind == expected_kind);
    CHECK(status.error().text == expected_text);
    CHECK(seen.empty());
    CHECK(session->close().ok());  // nothing deleted: nothing lost, no QUIT on a broken stream
    CHECK_FALSE(fake.received_line_starting("QUIT"));
  }
}

TEST_CASE("RFC 3206 response codes: IN-USE is lock_busy and SYS/TEMP is server_busy") {
  auto [reply, kind] = GENERATE(std::pair{std::string("-ERR [IN-USE] locked\r\n"), Kind::lock_busy},
                                std::pair{std::string("-ERR [SYS/TEMP] later\r\n"), Kind::server_busy},
                                std::pair{std::string("-ERR [AUTH] no\r\n"), Kind::auth});
  TranscriptServer fake({Step::send("+OK fake\r\n"), Step::expect("CAPA"),
                         Step::send("+OK\r\nUIDL\r\n.\r\n"), Step::expect("USER"),
                         Step::send("+OK\r\n"), Step::expect("PASS"), Step::send(reply),
                         Step::hang()});
  Log log;
  log.set_level(clamfetch::Level::error);
  auto session = make_pop3_session(fake_account(fake), log);
  Status opened = session->open();
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().kind == kind);
  CHECK(opened.error().text.find(reply.substr(0, reply.size() - 2)) != std::string::npos);
}
