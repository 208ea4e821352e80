// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The IMAP session (fetch/imap*.cpp) driven through the Session API against the fixture's real
// Dovecot: IMAPS and IMAP+STARTTLS, byte-for-byte retrieval, \Deleted + EXPUNGE, \Seen,
// BODY.PEEK, a 50 MB message, a wrong password, and the protocol trace's masking.
// The last cases use the transcript fake (tests/fake) for what Dovecot cannot do: a PREAUTH
// greeting, no STARTTLS, a server that stops answering, garbage and cut replies, busy and
// in-use answers, LOGINDISABLED.

#include <catch2/catch.hpp>
#include <libetpan/libetpan.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "fetch/fetch.hpp"
#include "fetch/sessions.hpp"
#include "fake/transcript_server.hpp"
#include "support/servers.hpp"

namespace {

namespace fs = std::filesystem;
using clamfetch::Kind;
using clamfetch::Log;
using clamfetch::Result;
using clamfetch::Scope;
using clamfetch::fetch::AccountSettings;
using clamfetch::fetch::FolderListing;
using clamfetch::fetch::MessageRef;
using clamfetch::fetch::Session;
using clamfetch::fetch::TlsMode;
using clamfetch::test::MailServers;
using clamfetch::test::Step;
using clamfetch::test::TranscriptServer;

// A write to a server that went away must be an error, not the end of the test binary.
const bool kSigpipeIgnored = [] { return signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();

MailServers& servers() {
  static MailServers instance;
  return instance;
}

std::string user(int n) { return "pop3userid" + std::to_string(n); }

AccountSettings settings_for(int n, TlsMode mode, int* password_calls = nullptr) {
  MailServers& s = servers();
  AccountSettings settings;
  settings.server = "localhost";  // the test certificate names localhost
  settings.port = static_cast<uint16_t>(
      s.port(mode == TlsMode::implicit ? "IMAPS_PORT" : "IMAP_PORT"));
  settings.protocol = clamfetch::fetch::Protocol::imap;
  settings.tls.mode = mode;
  settings.tls.ca_file = s.env("CA_FILE");
  settings.username = user(n);
  settings.password = [n, password_calls]() -> Result<std::string> {
    if (password_calls != nullptr) ++*password_calls;
    return "pop3password" + std::to_string(n);
  };
  settings.timeout_seconds = 20;
  settings.account = user(n) + "@localhost";
  return settings;
}

// A message of exactly `size` bytes (size >= 200): CRLF lines, some starting with "." or "..",
// 8-bit bytes (never NUL, CR or LF inside a line), varied line lengths.
std::string make_test_message(int index, std::size_t size) {
  std::string m = "From: sender" + std::to_string(index) + "@example.net\r\n"
                  "To: virtualuser1@example.com\r\n"
                  "Subject: imap test " + std::to_string(index) + "\r\n"
                  "Message-ID: <imap-" + std::to_string(index) + "@example.net>\r\n"
                  "Content-Type: text/plain; charset=iso-8859-1\r\n"
                  "Content-Transfer-Encoding: 8bit\r\n\r\n";
  uint32_t state = 2654435761u * static_cast<uint32_t>(index + 1);
  while (m.size() < size) {
    state = state * 1103515245u + 12345u;
    std::size_t length = (state >> 16) % 120;
    std::string line;
    if ((state >> 8) % 7 == 0) line = (state >> 4) % 2 ? "." : "..";
    for (std::size_t i = line.size(); i < length; ++i) {
      state = state * 1103515245u + 12345u;
      unsigned char c = static_cast<unsigned char>(32 + (state >> 16) % 224);  // 32..255
      line.push_back(c == 127 ? '~' : static_cast<char>(c));
    }
    line += "\r\n";
    m += line;
  }
  m.resize(size - 2);
  if (m.back() == '\r') m.back() = 'x';
  m += "\r\n";
  return m;
}

std::vector<std::string> fifty_messages(int salt) {
  std::vector<std::string> messages;
  for (int i = 0; i < 50; ++i) {
    std::size_t size = 300 + static_cast<std::size_t>(i) * 997;       // 300 B .. 49 KB
    if (i == 7 || i == 31 || i == 44) size = 5 * 1024 * 1024;         // three of 5 MB
    if (i == 12) size = 2 * 1024 * 1024;
    if (i == 20) size = 1024 * 1024;
    messages.push_back(make_test_message(salt * 100 + i, size));
  }
  return messages;
}

std::unique_ptr<Session> open_session(const AccountSettings& settings, Log& log) {
  auto session = clamfetch::fetch::make_imap_session(settings, log);
  auto opened = session->open();
  INFO((opened ? std::string() : opened.error().text));
  REQUIRE(opened);
  return session;
}

FolderListing list_inbox(Session& session) {
  auto listing = session.list("INBOX");
  INFO((listing ? std::string() : listing.error().text));
  REQUIRE(listing);
  return std::move(listing).value();
}

// Maildir flags of the user's messages ("S", "", "ST" ...), one entry per message file.
std::vector<std::string> maildir_flags(const std::string& user_name) {
  std::vector<std::string> flags;
  for (const char* sub : {"new", "cur"}) {
    std::error_code ec;
    fs::path dir = fs::path(servers().env("REMOTE")) / user_name / sub;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      std::string name = entry.path().filename().string();
      auto info = name.find(":2,");
      flags.push_back(info == std::string::npos ? "" : name.substr(info + 3));
    }
  }
  return flags;
}

// Retrieves `refs` and checks each body against expected[number - 1], in the order of refs.
void retrieve_all_and_compare(Session& session, const std::vector<MessageRef>& refs,
                              const std::vector<std::string>& expected) {
  std::vector<std::string> order;
  std::size_t matched = 0;
  auto status = session.retrieve(refs, [&](const MessageRef& ref, Result<std::string> body) {
    order.push_back(ref.uid);
    REQUIRE(body);
    REQUIRE(ref.number >= 1);
    REQUIRE(ref.number <= expected.size());
    if (*body == expected[ref.number - 1]) ++matched;
    return true;
  });
  INFO((status ? std::string() : status.error().text));
  REQUIRE(status);
  CHECK(matched == refs.size());
  std::vector<std::string> asked;
  for (const auto& ref : refs) asked.push_back(ref.uid);
  CHECK(order == asked);
}

void check_listing(const FolderListing& listing, const std::vector<std::string>& expected) {
  CHECK(listing.uidvalidity != 0);
  CHECK(listing.rejected.empty());
  REQUIRE(listing.messages.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const MessageRef& ref = listing.messages[i];
    CHECK(ref.folder == "INBOX");
    CHECK(ref.number == i + 1);
    CHECK(ref.size == expected[i].size());
    if (i > 0) CHECK(std::stoul(ref.uid) > std::stoul(listing.messages[i - 1].uid));
  }
}

long status_kib(const char* field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::string(field).size()));
  }
  return -1;
}

}  // namespace

TEST_CASE("IMAPS: 50 messages byte for byte and Deleted + UID EXPUNGE empties the mailbox") {
  const auto expected = fifty_messages(1);
  servers().seed(user(1), expected);
  Log log;
  int password_calls = 0;
  auto session = open_session(settings_for(1, TlsMode::implicit, &password_calls), log);
  CHECK(password_calls == 1);
  FolderListing listing = list_inbox(*session);
  check_listing(listing, expected);

  // Reverse order and one UID the server does not have: bodies come in the order asked, the
  // missing one as a message-scoped error.
  std::vector<MessageRef> refs(listing.messages.rbegin(), listing.messages.rend());
  retrieve_all_and_compare(*session, refs, expected);
  std::vector<MessageRef> missing{{"INBOX", 51, "999999", 100}, listing.messages[0]};
  std::vector<std::string> seen;
  REQUIRE(session->retrieve(missing, [&](const MessageRef& ref, Result<std::string> body) {
    if (ref.uid == "999999") {
      REQUIRE_FALSE(body);
      CHECK(body.error().kind == Kind::server);
      CHECK(body.error().scope == Scope::message);
      CHECK(body.error().text.find("999999") != std::string::npos);
    } else {
      REQUIRE(body);
      CHECK(*body == expected[0]);
    }
    seen.push_back(ref.uid);
    return true;
  }));
  CHECK(seen == std::vector<std::string>{"999999", listing.messages[0].uid});

  REQUIRE(session->acknowledge(listing.messages, true));
  CHECK(servers().remote_messages(user(1)).size() == 50);  // nothing gone before close()
  auto closed = session->close();
  INFO((closed ? std::string() : closed.error().text));
  REQUIRE(closed);
  CHECK(servers().remote_messages(user(1)).empty());

  auto second = open_session(settings_for(1, TlsMode::implicit), log);
  CHECK(list_inbox(*second).messages.empty());
  CHECK(second->close());
}

TEST_CASE("IMAP+STARTTLS: BODY.PEEK leaves messages unseen and Seen keeps them on the server") {
  const auto expected = fifty_messages(2);
  servers().seed(user(2), expected);
  Log log;
  {
    // Stop after five: on_message returning false ends retrieval; nothing gets \Seen.
    auto session = open_session(settings_for(2, TlsMode::starttls), log);
    FolderListing listing = list_inbox(*session);
    check_listing(listing, expected);
    int delivered = 0;
    REQUIRE(session->retrieve(listing.messages, [&](const MessageRef& ref, Result<std::string> b) {
      REQUIRE(b);
      CHECK(*b == expected[ref.number - 1]);
      return ++delivered < 5;
    }));
    CHECK(delivered == 5);
    REQUIRE(session->close());
    for (const auto& flags : maildir_flags(user(2))) CHECK(flags.find('S') == std::string::npos);
  }
  auto session = open_session(settings_for(2, TlsMode::starttls), log);
  FolderListing listing = list_inbox(*session);
  retrieve_all_and_compare(*session, listing.messages, expected);
  REQUIRE(session->acknowledge(listing.messages, false));
  REQUIRE(session->close());

  CHECK(servers().remote_messages(user(2)) == expected);
  auto flags = maildir_flags(user(2));
  CHECK(flags.size() == 50);
  for (const auto& f : flags) CHECK(f == "S");
  auto second = open_session(settings_for(2, TlsMode::starttls), log);
  FolderListing again = list_inbox(*second);
  CHECK(again.uidvalidity == listing.uidvalidity);
  CHECK(again.messages.size() == 50);
  CHECK(second->close());
}

TEST_CASE("a 50 MB message is retrieved intact and held once") {
  constexpr std::size_t kSize = 50 * 1024 * 1024;
  const std::size_t block_size = 64 * 1024;
  std::string block = make_test_message(7, block_size + 400).substr(400);
  std::string head = make_test_message(8, 400);
  head.resize(head.size() - 2);
  head += "\r\n";
  {
    std::string big = head;
    while (big.size() + block.size() <= kSize) big += block;
    big += std::string(kSize - big.size() - 2, 'z') + "\r\n";
    servers().seed(user(3), big);
  }
  Log log;
  auto session = open_session(settings_for(3, TlsMode::implicit), log);
  FolderListing listing = list_inbox(*session);
  REQUIRE(listing.messages.size() == 1);
  CHECK(listing.messages[0].size == kSize);

  // Peak RSS from here on: write 5 to clear_refs resets VmHWM to the current RSS.
  { std::ofstream("/proc/self/clear_refs") << "5"; }
  long rss_before = status_kib("VmRSS:");
  long peak = 0;
  bool intact = false;
  REQUIRE(session->retrieve(listing.messages, [&](const MessageRef&, Result<std::string> body) {
    REQUIRE(body);
    peak = status_kib("VmHWM:");
    const std::string& data = *body;
    bool same = data.size() == kSize && data.compare(0, head.size(), head) == 0;
    std::size_t at = head.size();
    for (; same && at + block.size() <= kSize - 2; at += block.size()) {
      same = data.compare(at, block.size(), block) == 0;
    }
    same = same && data.compare(at, kSize - at, std::string(kSize - at - 2, 'z') + "\r\n") == 0;
    intact = same;
    return true;
  }));
  CHECK(intact);
  long growth_mib = (peak - rss_before) / 1024;
  WARN("50 MB IMAP message: VmHWM grew by " << growth_mib << " MiB during retrieve (RSS before "
                                            << rss_before / 1024 << " MiB)");
  CHECK(growth_mib < 75);  // one copy is 50 MiB; two would be 100
  REQUIRE(session->close());
}

TEST_CASE("wrong password: Kind::auth naming account and server") {
  Log log;
  auto settings = settings_for(4, TlsMode::starttls);
  settings.password = [] { return Result<std::string>(std::string("not-the-password")); };
  auto session = clamfetch::fetch::make_imap_session(settings, log);
  auto opened = session->open();
  REQUIRE_FALSE(opened);
  CHECK(opened.error().kind == Kind::auth);
  CHECK(opened.error().scope == Scope::account);
  CHECK(opened.error().text.rfind("authentication failed for pop3userid4 at localhost", 0) == 0);
  CHECK(session->close());
}

TEST_CASE("an empty INBOX lists nothing and closes cleanly") {
  Log log;
  auto session = open_session(settings_for(6, TlsMode::implicit), log);
  FolderListing listing = list_inbox(*session);
  CHECK(listing.uidvalidity != 0);
  CHECK(listing.messages.empty());
  REQUIRE(session->retrieve({}, [](const MessageRef&, Result<std::string>) { return true; }));
  REQUIRE(session->acknowledge({}, true));
  REQUIRE(session->close());
  CHECK(session->close());  // twice is harmless
}

TEST_CASE("protocol trace: password masked and bodies not shown and every line names the account") {
  const std::string marker = "BODY-MARKER-";
  std::vector<std::string> messages{
      "Subject: one\r\n\r\n" + marker + "1\r\n.leading dot\r\n",
      "Subject: two\r\n\r\n" + marker + "2\r\n"};
  servers().seed(user(5), messages);
  fs::path trace_file = fs::path(servers().dir()) / "imap-trace.log";
  Log log;
  log.enable_trace(static_cast<unsigned>(clamfetch::Channel::net));
  REQUIRE(log.use_file(trace_file.string()));
  auto settings = settings_for(5, TlsMode::starttls);
  auto session = open_session(settings, log);
  FolderListing listing = list_inbox(*session);
  int delivered = 0;
  REQUIRE(session->retrieve(listing.messages, [&](const MessageRef&, Result<std::string> body) {
    REQUIRE(body);
    CHECK(body->find(marker) != std::string::npos);
    ++delivered;
    return true;
  }));
  CHECK(delivered == 2);
  REQUIRE(session->acknowledge(listing.messages, true));
  REQUIRE(session->close());

  std::ifstream in(trace_file);
  std::stringstream text;
  text << in.rdbuf();
  const std::string trace = text.str();
  CHECK(trace.find("pop3password5") == std::string::npos);
  CHECK(trace.find(marker) == std::string::npos);
  CHECK(trace.find("LOGIN ********") != std::string::npos);
  CHECK(trace.find("STARTTLS") != std::string::npos);
  CHECK(trace.find("BODY.PEEK[]") != std::string::npos);
  CHECK(trace.find("UID EXPUNGE") != std::string::npos);
  std::istringstream lines(trace);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    CHECK(line.find(settings.account) != std::string::npos);
  }
  CHECK(count > 10);
  CHECK(mailstream_debug == 0);
  CHECK_FALSE(fs::exists("libetpan-stream-debug.log"));
}

// ---------------------------------------------------------------- transcript fake

namespace {

AccountSettings fake_settings(const TranscriptServer& fake, TlsMode mode, int timeout = 10) {
  AccountSettings settings;
  settings.server = "127.0.0.1";
  settings.port = fake.port();
  settings.protocol = clamfetch::fetch::Protocol::imap;
  settings.tls.mode = mode;
  settings.username = "fakeuser";
  settings.password = [] { return Result<std::string>(std::string("fake-secret-pw")); };
  settings.timeout_seconds = timeout;
  settings.account = "fakeuser@127.0.0.1";
  return settings;
}

// Greeting and LOGIN accepted, INBOX with one message of 100 octets (UID 7) listed.
std::vector<Step> up_to_listing() {
  return {Step::send("* OK [CAPABILITY IMAP4rev1 UIDPLUS] fake ready\r\n"),
          Step::expect("1 LOGIN fakeuser"),
          Step::send("1 OK [CAPABILITY IMAP4rev1 UIDPLUS] logged in\r\n"),
          Step::expect("2 SELECT INBOX"),
          Step::send("* 1 EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n2 OK [READ-WRITE] selected\r\n"),
          Step::expect("3 UID FETCH 1:* (UID RFC822.SIZE FLAGS)"),
          Step::send("* 1 FETCH (UID 7 RFC822.SIZE 100)\r\n3 OK done\r\n")};
}

clamfetch::Error open_error(const AccountSettings& settings) {
  Log log;
  auto session = clamfetch::fetch::make_imap_session(settings, log);
  auto opened = session->open();
  REQUIRE_FALSE(opened);
  return opened.error();
}

}  // namespace

TEST_CASE("fake: a PREAUTH greeting under starttls is fatal and nothing is sent") {
  // Dovecot cannot greet with PREAUTH on a STARTTLS port (fetchmail's CVE-2021-39272).
  TranscriptServer fake({Step::send("* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] welcome\r\n"),
                         Step::hang()});
  auto error = open_error(fake_settings(fake, TlsMode::starttls));
  CHECK(error.kind == Kind::tls);
  CHECK(error.text == "fakeuser@127.0.0.1: server greeted with PREAUTH before STARTTLS");
  REQUIRE(fake.wait_done(5));
  CHECK(fake.received().empty());
}

TEST_CASE("fake: no STARTTLS capability under starttls is fatal and nothing else is sent") {
  // Dovecot always offers STARTTLS on its IMAP port.
  TranscriptServer fake({Step::send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] no tls here\r\n"),
                         Step::hang()});
  auto error = open_error(fake_settings(fake, TlsMode::starttls));
  CHECK(error.kind == Kind::tls);
  CHECK(error.text == "fakeuser@127.0.0.1: server offers no STARTTLS");
  REQUIRE(fake.wait_done(5));
  CHECK(fake.received().empty());
}

TEST_CASE("fake: a server that stops answering in the middle of a body times out") {
  // Dovecot never stalls in the middle of a literal.
  auto steps = up_to_listing();
  steps.push_back(Step::expect("4 UID FETCH 7 (UID BODY.PEEK[])"));
  steps.push_back(Step::send("* 1 FETCH (UID 7 BODY[] {100}\r\nSubject: cut\r\n"));
  steps.push_back(Step::hang());
  TranscriptServer fake(steps);
  Log log;
  constexpr int kTimeout = 2;
  auto session = clamfetch::fetch::make_imap_session(fake_settings(fake, TlsMode::none, kTimeout),
                                                     log);
  REQUIRE(session->open());
  FolderListing listing = list_inbox(*session);
  CHECK(listing.uidvalidity == 42);
  REQUIRE(listing.messages.size() == 1);
  CHECK(listing.messages[0].uid == "7");
  CHECK(listing.messages[0].size == 100);

  int calls = 0;
  auto start = std::chrono::steady_clock::now();
  auto status = session->retrieve(listing.messages, [&](const MessageRef&, Result<std::string>) {
    ++calls;
    return true;
  });
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE_FALSE(status);
  CHECK(status.error().kind == Kind::timeout);
  CHECK(status.error().scope == Scope::account);
  CHECK(status.error().text.rfind("fakeuser@127.0.0.1: server did not answer within 2 s", 0) == 0);
  CHECK(calls == 0);  // a partial body is never handed on
  WARN("retrieve gave up after " << seconds << " s");
  CHECK(seconds >= kTimeout - 0.5);
  CHECK(seconds < kTimeout + 5);
  // The session is dead: later calls fail at once, close() reports nothing to commit.
  CHECK_FALSE(session->acknowledge(listing.messages, true));
  CHECK(session->close());
}

TEST_CASE("fake: garbage in a reply is a protocol error") {
  auto steps = up_to_listing();
  steps.resize(4);  // up to the SELECT command
  steps.push_back(Step::send("* 1 EXISTS\r\n)(garbage \x01\x02 {oops\r\n2 OK selected\r\n"));
  steps.push_back(Step::hang());
  TranscriptServer fake(steps);
  Log log;
  auto session = clamfetch::fetch::make_imap_session(fake_settings(fake, TlsMode::none), log);
  REQUIRE(session->open());
  auto listing = session->list("INBOX");
  REQUIRE_FALSE(listing);
  CHECK(listing.error().kind == Kind::protocol);
  CHECK(listing.error().text == "fakeuser@127.0.0.1: malformed server reply (SELECT INBOX)");
  CHECK(session->close());
}

TEST_CASE("fake: a reply cut mid-line by a closed connection is a protocol error") {
  auto steps = up_to_listing();
  steps.push_back(Step::expect("4 UID FETCH 7 (UID BODY.PEEK[])"));
  steps.push_back(Step::send("* 1 FETCH (UID 7 BOD"));
  steps.push_back(Step::close());
  TranscriptServer fake(steps);
  Log log;
  auto session = clamfetch::fetch::make_imap_session(fake_settings(fake, TlsMode::none), log);
  REQUIRE(session->open());
  FolderListing listing = list_inbox(*session);
  int calls = 0;
  auto status = session->retrieve(listing.messages, [&](const MessageRef&, Result<std::string>) {
    ++calls;
    return true;
  });
  REQUIRE_FALSE(status);
  // libetpan parses the partial line it got before the end of the stream.
  CHECK(status.error().kind == Kind::protocol);
  CHECK(status.error().text ==
        "fakeuser@127.0.0.1: malformed server reply (UID FETCH BODY.PEEK[] of 1 messages)");
  CHECK(calls == 0);
}

TEST_CASE("fake: UNAVAILABLE is server busy and INUSE is lock busy and NO is auth") {
  struct Case { const char* reply; Kind kind; const char* text; };
  const Case cases[] = {
      {"1 NO [UNAVAILABLE] maintenance\r\n", Kind::server_busy,
       "fakeuser@127.0.0.1: server busy: maintenance"},
      {"1 NO [INUSE] mailbox locked\r\n", Kind::lock_busy,
       "fakeuser@127.0.0.1: mailbox in use: mailbox locked"},
      {"1 NO [AUTHENTICATIONFAILED] bad\r\n", Kind::auth,
       "authentication failed for fakeuser at 127.0.0.1: bad"},
  };
  for (const Case& c : cases) {
    TranscriptServer fake({Step::send("* OK [CAPABILITY IMAP4rev1] ready\r\n"),
                           Step::expect("1 LOGIN fakeuser"), Step::send(c.reply), Step::hang()});
    auto error = open_error(fake_settings(fake, TlsMode::none));
    CHECK(error.kind == c.kind);
    CHECK(error.text == c.text);
  }
}

TEST_CASE("fake: LOGINDISABLED uses AUTHENTICATE PLAIN and the trace masks its payload") {
  // Dovecot treats loopback as secure and never announces LOGINDISABLED there.
  TranscriptServer fake({Step::send("* OK [CAPABILITY IMAP4rev1 LOGINDISABLED AUTH=PLAIN] hi\r\n"),
                         Step::expect("1 AUTHENTICATE PLAIN"), Step::send("+ \r\n"),
                         Step::expect(""), Step::send("1 OK authenticated\r\n"),
                         Step::expect("2 CAPABILITY"),
                         Step::send("* CAPABILITY IMAP4rev1 UIDPLUS\r\n2 OK done\r\n"),
                         Step::expect("3 LOGOUT"), Step::send("* BYE\r\n3 OK bye\r\n"),
                         Step::close()});
  fs::path trace_file = fs::temp_directory_path() / "clamfetch-imap-fake-trace.log";
  fs::remove(trace_file);
  {
    Log log;
    log.enable_trace(static_cast<unsigned>(clamfetch::Channel::net));
    REQUIRE(log.use_file(trace_file.string()));
    auto session = clamfetch::fetch::make_imap_session(fake_settings(fake, TlsMode::none), log);
    auto opened = session->open();
    INFO((opened ? std::string() : opened.error().text));
    REQUIRE(opened);
    REQUIRE(session->close());
  }
  REQUIRE(fake.wait_done(5));
  CHECK(fake.failure().empty());
  auto lines = fake.received();
  REQUIRE(lines.size() >= 2);
  CHECK_FALSE(fake.received_line_starting("1 LOGIN"));
  // base64 of "fakeuser\0fakeuser\0fake-secret-pw" (authorization id, login, password)
  CHECK(lines[1] == "ZmFrZXVzZXIAZmFrZXVzZXIAZmFrZS1zZWNyZXQtcHc=");
  std::ifstream in(trace_file);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str().find("1 AUTHENTICATE PLAIN") != std::string::npos);
  CHECK(text.str().find(lines[1]) == std::string::npos);
  CHECK(text.str().find("IMAP> ********") != std::string::npos);
  fs::remove(trace_file);
}

TEST_CASE("fake: PREAUTH after verified implicit TLS needs no login") {
  // The CVE concerns a PREAUTH that skips STARTTLS; here TLS is up and verified first.
  TranscriptServer fake({Step::start_tls(servers().env("SERVER_CERT"), servers().env("SERVER_KEY")),
                         Step::send("* PREAUTH [CAPABILITY IMAP4rev1] welcome\r\n"),
                         Step::expect("1 LOGOUT"), Step::send("* BYE\r\n1 OK bye\r\n"),
                         Step::close()});
  AccountSettings settings = fake_settings(fake, TlsMode::implicit);
  settings.tls.ca_file = servers().env("CA_FILE");
  int password_calls = 0;
  settings.password = [&] { ++password_calls; return Result<std::string>(std::string("x")); };
  Log log;
  auto session = open_session(settings, log);
  REQUIRE(session->close());
  REQUIRE(fake.wait_done(5));
  CHECK(fake.failure().empty());
  CHECK(fake.tls_established());
  CHECK(password_calls == 0);
  CHECK(fake.received() == std::vector<std::string>{"1 LOGOUT"});
}
