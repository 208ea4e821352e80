// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Hostile replies (issue 7): a server that lies in its listings, sizes, literals and line
// lengths gets a clear error, never a crash, a hang or unbounded memory. Every case needs a
// fake server: Dovecot never sends a message number 0, a literal of 2^63 octets, a 100 MB
// line or a body larger than the size it announced. The fakes speak plaintext (TlsMode::none)
// because TLS has nothing to do with these faults (security_network_test covers TLS).
//
// libetpan itself misbehaves on several of these inputs (see fetch/pop3_list.cpp and the
// Trace in fetch/imap_internal.hpp): LIST "0 20" wrote out of bounds, LIST "4294967295 20"
// looped forever in carray_set_size, and IMAP numbers and literal sizes wrap modulo 2^32.

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/log.hpp"
#include "fake/transcript_server.hpp"
#include "fetch/fetch.hpp"
#include "fetch/sessions.hpp"
#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

namespace {

using clamfetch::Kind;
using clamfetch::Log;
using clamfetch::Result;
using clamfetch::Status;
using namespace clamfetch::fetch;
using clamfetch::test::Step;
using clamfetch::test::TranscriptServer;

const bool kSigpipeIgnored = [] { return signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();

/// Peak resident memory since the last reset_peak(), in MiB (Linux VmHWM).
long peak_mib() {
  std::ifstream status("/proc/self/status");
  std::string key;
  long kib = 0;
  while (status >> key) {
    if (key == "VmHWM:") {
      status >> kib;
      return kib / 1024;
    }
  }
  return -1;
}

/// Resident memory now, in MiB; and a reset of the peak to it (clear_refs "5").
long rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string key;
  long kib = 0;
  while (status >> key) {
    if (key == "VmRSS:") {
      status >> kib;
      return kib / 1024;
    }
  }
  return -1;
}
void reset_peak() { std::ofstream("/proc/self/clear_refs") << "5"; }

AccountSettings fake_account(uint16_t port, Protocol protocol, int timeout = 5) {
  AccountSettings s;
  s.server = "127.0.0.1";
  s.port = port;
  s.protocol = protocol;
  s.tls.mode = TlsMode::none;
  s.username = "fakeuser";
  s.password = [] { return Result<std::string>(std::string("fake-secret-pw")); };
  s.timeout_seconds = timeout;
  s.account = "fakeuser@127.0.0.1";
  return s;
}

/// A server that sends `prefix`, then `filler` octets of 'x' without a line end, as fast as
/// the client reads them, then waits for the client to go away. Generates the bytes as it
/// goes so that the test itself does not hold them.
class EndlessLineServer {
 public:
  EndlessLineServer(std::string prefix, std::size_t filler) : prefix_(std::move(prefix)) {
    listen_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    REQUIRE(::bind(listen_, reinterpret_cast<sockaddr*>(&addr), len) == 0);
    REQUIRE(::listen(listen_, 1) == 0);
    REQUIRE(::getsockname(listen_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, filler] { serve(filler); });
  }
  ~EndlessLineServer() {
    ::shutdown(listen_, SHUT_RDWR);
    thread_.join();
    ::close(listen_);
  }
  uint16_t port() const { return port_; }
  std::size_t sent() const { return sent_; }

 private:
  void serve(std::size_t filler) {
    int fd = ::accept(listen_, nullptr, nullptr);
    if (fd < 0) return;
    std::string chunk(1 << 20, 'x');
    bool ok = ::send(fd, prefix_.data(), prefix_.size(), MSG_NOSIGNAL) > 0;
    while (ok && sent_ < filler) {
      ssize_t n = ::send(fd, chunk.data(), std::min(chunk.size(), filler - sent_), MSG_NOSIGNAL);
      ok = n > 0;
      if (ok) sent_ += static_cast<std::size_t>(n);
    }
    char buf[256];
    while (::recv(fd, buf, sizeof buf, 0) > 0) {
    }
    ::close(fd);
  }

  std::string prefix_;
  int listen_ = -1;
  uint16_t port_ = 0;
  std::size_t sent_ = 0;
  std::thread thread_;
};

// ---------------------------------------------------------------- POP3

/// Greeting, CAPA without PIPELINING, USER and PASS accepted, then LIST answered with `list`
/// and (if given) UIDL with `uidl`; the caller may append.
std::vector<Step> pop3_listing(const std::string& list, const std::string& uidl) {
  std::vector<Step> steps = {Step::send("+OK fake\r\n"), Step::expect("CAPA"),
                             Step::send("+OK\r\nUIDL\r\n.\r\n"), Step::expect("USER"),
                             Step::send("+OK\r\n"), Step::expect("PASS"), Step::send("+OK\r\n"),
                             Step::expect("LIST"), Step::send(list)};
  if (!uidl.empty()) steps.insert(steps.end(), {Step::expect("UIDL"), Step::send(uidl)});
  return steps;
}

Result<FolderListing> pop3_list_of(TranscriptServer& fake) {
  Log log;
  log.set_level(clamfetch::Level::error);
  auto session = make_pop3_session(fake_account(fake.port(), Protocol::pop3), log);
  Status opened = session->open();
  INFO((opened ? "" : opened.error().text));
  REQUIRE(opened.ok());
  Result<FolderListing> listing = session->list("INBOX");
  CHECK(session->close().ok());
  return listing;
}

}  // namespace

TEST_CASE("POP3 LIST naming message 0, a negative or absurd number, twice, or malformed") {
  // Before fetch/pop3_list.cpp, libetpan's mailpop3_list: "0 20" and "-1 20" wrote a pointer
  // at index 2^32-1 (crash); "4294967295 20" spun forever in carray_set_size (its doubling
  // wraps to 0); "99999999 20" allocated 1 GiB of index; "1 20" twice leaked the first entry.
  auto [list, text] = GENERATE(
      std::pair{std::string("0 20\r\n"), std::string("malformed LIST line: 0 20")},
      std::pair{std::string("-1 20\r\n"), std::string("malformed LIST line: -1 20")},
      std::pair{std::string("4294967295 20\r\n"),
                std::string("malformed LIST line: 4294967295 20")},
      std::pair{std::string("99999999 20\r\n"), std::string("malformed LIST line: 99999999 20")},
      std::pair{std::string("1 20\r\n1 30\r\n"), std::string("LIST names message 1 twice")},
      std::pair{std::string("1 -20\r\n"), std::string("malformed LIST line: 1 -20")},
      std::pair{std::string("1\r\n"), std::string("malformed LIST line: 1")},
      std::pair{std::string("1 20\r\n" + std::string(3000, '9') + " 1\r\n"),
                std::string("reply line too long")});
  TranscriptServer fake(pop3_listing("+OK\r\n" + list + ".\r\n", "+OK\r\n1 a\r\n.\r\n"));
  Result<FolderListing> listing = pop3_list_of(fake);
  REQUIRE_FALSE(listing.ok());
  CHECK(listing.error().kind == Kind::protocol);
  CHECK(listing.error().text == text);
}

TEST_CASE("POP3 UIDL with control characters, a NUL, a space or ANSI escapes is rejected alone") {
  // libetpan kept a UIDL up to its first NUL: "ab\0cd" and "ab\0ef" became the same "ab".
  using namespace std::string_literals;  // the NULs are part of the reply
  std::string uidl = "+OK\r\n1 ab\0cd\r\n2 ab\0ef\r\n3 evil\x1b[2J\r\n4 sp ace\r\n"s +
                     "5 tab\there\r\n6 del\x7f\r\n7 good-7\r\n9 not-listed\r\n.\r\n";
  TranscriptServer fake(pop3_listing(
      "+OK 2 messages (140 octets)\r\n1 20\r\n2 20\r\n3 20\r\n4 20\r\n5 20\r\n6 20\r\n"
      "7 20\r\n.\r\n",
      uidl));
  Result<FolderListing> listing = pop3_list_of(fake);
  REQUIRE(listing.ok());
  // More messages than the +OK line claimed: each listed line counts. UIDL's 9 is not listed.
  REQUIRE(listing->messages.size() == 1);
  CHECK(listing->messages[0].uid == "good-7");
  CHECK(listing->messages[0].number == 7);
  REQUIRE(listing->rejected.size() == 6);
  for (const std::string& why : listing->rejected) {
    CHECK(why.find("UID with non-printable characters") != std::string::npos);
  }
}

TEST_CASE("POP3 sizes of gigabytes or beyond 64 bits are rejected alone and left on the server") {
  TranscriptServer fake(pop3_listing(
      "+OK\r\n1 3000000000\r\n2 99999999999999999999999999\r\n3 20\r\n.\r\n",
      "+OK\r\n1 huge\r\n2 absurd\r\n3 fine\r\n.\r\n"));
  Result<FolderListing> listing = pop3_list_of(fake);
  REQUIRE(listing.ok());
  REQUIRE(listing->messages.size() == 1);
  CHECK(listing->messages[0].uid == "fine");
  CHECK(listing->rejected ==
        std::vector<std::string>{
            "message 1: 3000000000 octets, over the ceiling of 1073741824 octets",
            "message 2: absurd size, over the ceiling of 1073741824 octets"});
}

TEST_CASE("POP3: an endless listing stops at 10^6 messages with bounded memory") {
  std::string list = "+OK\r\n";
  for (int i = 1; i <= 1'000'001; ++i) list += std::to_string(i) + " 1\r\n";
  list += ".\r\n";
  TranscriptServer fake(pop3_listing(list, ""));
  list.clear();
  list.shrink_to_fit();
  reset_peak();
  long before = rss_mib();
  Result<FolderListing> listing = pop3_list_of(fake);
  long growth = peak_mib() - before;
  REQUIRE_FALSE(listing.ok());
  CHECK(listing.error().kind == Kind::protocol);
  CHECK(listing.error().text == "server lists more than 1000000 messages in LIST");
  WARN("peak memory growth for a 10^6-message listing: " << growth << " MiB");
  CHECK(growth < 300);
}

TEST_CASE("POP3: a body larger than announced ends the session at twice the size plus 1 MiB") {
  std::vector<Step> steps = pop3_listing("+OK\r\n1 20\r\n.\r\n", "+OK\r\n1 a\r\n.\r\n");
  std::string body = "+OK\r\n";
  for (int i = 0; i < 40000; ++i) body += std::string(76, 'b') + "\r\n";  // about 3 MB
  steps.insert(steps.end(), {Step::expect("RETR 1"), Step::send(body + ".\r\n"), Step::hang()});
  TranscriptServer fake(steps);
  Log log;
  log.set_level(clamfetch::Level::error);
  auto session = make_pop3_session(fake_account(fake.port(), Protocol::pop3), log);
  REQUIRE(session->open().ok());
  Result<FolderListing> listing = session->list("INBOX");
  REQUIRE(listing.ok());
  int calls = 0;
  Status status = session->retrieve(listing->messages, [&](const MessageRef&, Result<std::string>) {
    ++calls;
    return true;
  });
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().kind == Kind::protocol);
  CHECK(status.error().text == "message larger than the server announced");
  CHECK(calls == 0);
  CHECK(session->close().ok());
  CHECK_FALSE(fake.received_line_starting("QUIT"));  // out of step: nothing committed
}

TEST_CASE("an endless line stops at the 64 MiB line ceiling, POP3 and IMAP") {
  // Without the ceiling libetpan read the whole 256 MiB into one line buffer.
  auto [prefix, protocol] = GENERATE(std::pair{std::string("+OK "), Protocol::pop3},
                                     std::pair{std::string("* OK "), Protocol::imap});
  EndlessLineServer server(prefix, std::size_t{256} << 20);
  reset_peak();
  long before = rss_mib();
  Log log;
  log.set_level(clamfetch::Level::error);
  auto session = make_session(fake_account(server.port(), protocol, 20), log);
  auto start = std::chrono::steady_clock::now();
  Status opened = session->open();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  long growth = peak_mib() - before;
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().kind == Kind::protocol);
  CHECK(opened.error().text.find("server sent a line of over 67108864 octets") !=
        std::string::npos);
  CHECK(session->close().ok());
  WARN("endless line: refused after " << seconds << " s, peak growth " << growth << " MiB");
  CHECK(seconds < 15);  // refused when the ceiling is reached, not at the timeout
  CHECK(growth < 200);
}

TEST_CASE("POP3: a server closing in the middle of CAPA is an error at once, not a spin") {
  // Found by tests/fuzz/pop3_fuzz: libetpan's CAPA loop read an end of stream as an empty line
  // and looped at 100% CPU forever, the timeout never firing (reads returned at once).
  TranscriptServer fake({Step::send("+OK hi\r\n"), Step::expect("CAPA"),
                         Step::send("+OK\r\nUIDL\r\n"), Step::close()});
  Log log;
  log.set_level(clamfetch::Level::error);
  auto session = make_pop3_session(fake_account(fake.port(), Protocol::pop3, 20), log);
  auto start = std::chrono::steady_clock::now();
  Status opened = session->open();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().kind == Kind::connect);
  CHECK(opened.error().text == "connection lost (reading CAPA)");
  CHECK(seconds < 5);
  CHECK_FALSE(fake.received_line_starting("USER"));
}

// ---------------------------------------------------------------- IMAP

namespace {

/// Greeting, LOGIN, SELECT with `select` (EXISTS etc.) and the listing answered with `fetch`.
std::vector<Step> imap_listing(const std::string& select, const std::string& fetch) {
  return {Step::send("* OK [CAPABILITY IMAP4rev1 UIDPLUS] fake\r\n"),
          Step::expect("1 LOGIN fakeuser"),
          Step::send("1 OK [CAPABILITY IMAP4rev1 UIDPLUS] in\r\n"),
          Step::expect("2 SELECT INBOX"),
          Step::send(select + "* OK [UIDVALIDITY 42] ok\r\n2 OK [READ-WRITE] selected\r\n"),
          Step::expect("3 UID FETCH 1:* (UID RFC822.SIZE FLAGS)"), Step::send(fetch + "3 OK done\r\n")};
}

struct ImapRun {
  explicit ImapRun(std::vector<Step> steps, int timeout = 5) : fake(std::move(steps)) {
    log.set_level(clamfetch::Level::error);
    session = make_imap_session(fake_account(fake.port(), Protocol::imap, timeout), log);
    Status opened = session->open();
    INFO((opened ? "" : opened.error().text));
    REQUIRE(opened.ok());
  }
  TranscriptServer fake;
  Log log;
  std::unique_ptr<Session> session;
};

}  // namespace

TEST_CASE("IMAP literal sizes over 32 bits are a protocol error, not a wrapped literal") {
  // libetpan reads {4294967301} as a literal of 5 octets: before the check the session
  // returned "hello" as message UID 7 and parsed the server's next bytes as protocol.
  auto [size, shown] = GENERATE(std::pair{std::string("4294967301"), std::string("4294967301")},
                                std::pair{std::string("9223372036854775808"),
                                          std::string("9223372036854775808")},
                                std::pair{std::string("99999999999999999999999"),
                                          std::string("over 2^64")});
  std::vector<Step> steps =
      imap_listing("* 1 EXISTS\r\n", "* 1 FETCH (UID 7 RFC822.SIZE 5)\r\n");
  steps.insert(steps.end(), {Step::expect("4 UID FETCH 7 (UID BODY.PEEK[])"),
                             Step::send("* 1 FETCH (UID 7 BODY[] {" + size + "}\r\nhello)\r\n"
                                        "4 OK done\r\n"),
                             Step::hang()});
  ImapRun run(steps);
  Result<FolderListing> listing = run.session->list("INBOX");
  REQUIRE(listing.ok());
  REQUIRE(listing->messages.size() == 1);
  std::vector<std::string> got;
  auto collect = [&](const MessageRef&, Result<std::string> m) {
    got.push_back(m ? *m : m.error().text);
    return true;
  };
  Status status = run.session->retrieve(listing->messages, collect);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().kind == Kind::protocol);
  CHECK(status.error().text == "fakeuser@127.0.0.1: server announced a literal of " + shown +
                                   " octets (UID FETCH BODY.PEEK[] of 1 messages)");
  CHECK(got.empty());
  CHECK(run.session->close().ok());
}

TEST_CASE("IMAP literals outside a body are held to 1 MiB: libetpan allocated them whole") {
  // Found by tests/fuzz/imap_fuzz: "* FLAGS (\\Seen {85809394602}" made libetpan allocate
  // 85809394602 mod 2^32 = 4205015978 octets up front (libFuzzer: malloc(4294967296) out of
  // memory), before a single octet of the literal arrived.
  auto [size, shown] = GENERATE(std::pair{std::string("4294967295"), std::string("4294967295")},
                                std::pair{std::string("85809394602"), std::string("85809394602")},
                                std::pair{std::string("2000000"), std::string("2000000")});
  TranscriptServer fake({Step::send("* OK [CAPABILITY IMAP4rev1 UIDPLUS] fake\r\n"),
                         Step::expect("1 LOGIN fakeuser"),
                         Step::send("1 OK [CAPABILITY IMAP4rev1 UIDPLUS] in\r\n"),
                         Step::expect("2 SELECT INBOX"),
                         Step::send("* FLAGS (\\Seen {" + size + "}\r\nxyz)\r\n"), Step::hang()});
  Log log;
  log.set_level(clamfetch::Level::error);
  auto session = make_imap_session(fake_account(fake.port(), Protocol::imap), log);
  REQUIRE(session->open().ok());
  reset_peak();
  long before = rss_mib();
  Result<FolderListing> listing = session->list("INBOX");
  long growth = peak_mib() - before;
  REQUIRE_FALSE(listing.ok());
  CHECK(listing.error().kind == Kind::protocol);
  CHECK(listing.error().text ==
        "fakeuser@127.0.0.1: server announced a literal of " + shown + " octets (SELECT INBOX)");
  CHECK(growth < 20);
  CHECK(session->close().ok());
}

TEST_CASE("IMAP literal announced mid-line is held to the same limit") {
  // Found by tests/fuzz/imap_fuzz in a 10-minute run: "{85809394603}" inside a flag atom and
  // followed by garbage, not by CRLF. libetpan allocated 4 GiB when it read the closing brace,
  // before it found the CRLF missing; the guard looked only at the ends of lines.
  auto line = GENERATE(std::string("* FLAGS (\\AnFlag{85809394603}\xf6K d)\r\n"),
                       std::string("* FLAGS (\\Seen {4294967295}x)\r\n"),
                       std::string("* OK [PERMANENTFLAGS ({85809394603+} \\*)] x\r\n"));
  TranscriptServer fake({Step::send("* OK [CAPABILITY IMAP4rev1 UIDPLUS] fake\r\n"),
                         Step::expect("1 LOGIN fakeuser"),
                         Step::send("1 OK [CAPABILITY IMAP4rev1 UIDPLUS] in\r\n"),
                         Step::expect("2 SELECT INBOX"), Step::send(line), Step::hang()});
  Log log;
  log.set_level(clamfetch::Level::error);
  auto session = make_imap_session(fake_account(fake.port(), Protocol::imap), log);
  REQUIRE(session->open().ok());
  reset_peak();
  long before = rss_mib();
  Result<FolderListing> listing = session->list("INBOX");
  long growth = peak_mib() - before;
  REQUIRE_FALSE(listing.ok());
  CHECK(listing.error().kind == Kind::protocol);
  CHECK(listing.error().text.find("server announced a literal of ") != std::string::npos);
  CHECK(growth < 20);
  CHECK(session->close().ok());
}

TEST_CASE("IMAP sizes: gigabytes rejected, negative as 0, a body past twice its size refused") {
  // "* 1 EXISTS" and three FETCH responses: more messages than the server said exist are
  // listed by UID all the same. libetpan reads RFC822.SIZE -5 as 0.
  std::vector<Step> steps =
      imap_listing("* 1 EXISTS\r\n",
                   "* 1 FETCH (UID 7 RFC822.SIZE 3000000000)\r\n"
                   "* 2 FETCH (UID 8 RFC822.SIZE -5)\r\n* 3 FETCH (UID 9 RFC822.SIZE 100)\r\n");
  std::string body(3 << 20, 'b');
  steps.insert(steps.end(),
               {Step::expect("4 UID FETCH 8 (UID BODY.PEEK[])"),
                Step::send("* 2 FETCH (UID 8 BODY[] {" + std::to_string(body.size()) + "}\r\n" +
                           body + ")\r\n4 OK done\r\n"),
                Step::hang()});
  ImapRun run(steps);
  Result<FolderListing> listing = run.session->list("INBOX");
  REQUIRE(listing.ok());
  CHECK(listing->rejected == std::vector<std::string>{"7"});
  REQUIRE(listing->messages.size() == 2);
  CHECK(listing->messages[0].uid == "8");
  CHECK(listing->messages[0].size == 0);
  CHECK(listing->messages[1].uid == "9");
  int calls = 0;
  std::span<const MessageRef> first(listing->messages.data(), 1);
  Status status = run.session->retrieve(first, [&](const MessageRef&, Result<std::string>) {
    ++calls;
    return true;
  });
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().kind == Kind::protocol);
  CHECK(status.error().text ==
        "fakeuser@127.0.0.1: server sent a message of over 1048576 octets, more than it "
        "announced (UID FETCH BODY.PEEK[] of 1 messages)");
  CHECK(calls == 0);
  CHECK(run.session->close().ok());
}

// ---------------------------------------------------------------- the binary

TEST_CASE("the binary: a hostile server gives exit 4 and one clear line, no crash") {
  // Real Postfix and the unprivileged user from the fixture; the fakes play the server.
  static clamfetch::test::MailServers servers;
  clamfetch::test::ClamfetchUser user(servers);
  struct Case { std::string name, protocol; std::vector<Step> script; std::string line; };
  std::vector<Step> imap = imap_listing("* 1 EXISTS\r\n", "* 1 FETCH (UID 7 RFC822.SIZE 5)\r\n");
  imap.insert(imap.end(), {Step::expect("4 UID FETCH 7"),
                           Step::send("* 1 FETCH (UID 7 BODY[] {9223372036854775813}\r\nhello)\r\n"
                                      "4 OK done\r\n"),
                           Step::hang()});
  const std::vector<Case> cases = {
      {"POP3 LIST naming message 0", "pop3",
       pop3_listing("+OK\r\n0 20\r\n.\r\n", "+OK\r\n1 a\r\n.\r\n"),
       "malformed LIST line: 0 20"},
      {"IMAP literal of 2^63 + 5 octets", "imap", imap,
       "server announced a literal of 9223372036854775813 octets"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    TranscriptServer fake(c.script);
    user.write_rc("[global]\npostmaster = \"postmaster@example.com\"\n"
                  "\n[defaults]\nsmtphost = \"127.0.0.1:" + servers.env("SMTP_PORT") +
                  "\"\ntimeout = 10\n\n[[poll]]\nserver = \"127.0.0.1\"\nprotocol = \"" +
                  c.protocol + "\"\nport = " + std::to_string(fake.port()) +
                  "\ntls = \"none\"\nallow_plaintext = true\n"
                  "\n  [[poll.user]]\n  username = \"fakeuser\"\n  password = \"fake-secret-pw\"\n"
                  "  is = \"virtualuser1@example.com\"\n");
    auto r = user.clamfetch({});
    INFO(r.err);
    CHECK(r.exit_code == 4);
    CHECK(r.err.find(c.line) != std::string::npos);
  }
}

TEST_CASE("IMAP: a CAPABILITY answered OK without data after a greeting without any") {
  // Found by tests/fuzz/imap_fuzz: libetpan copied the cached capability list, NULL after a
  // greeting without one or after an empty "[CAPABILITY]" code, and crashed (SIGSEGV in
  // mailimap_capability).
  std::string reply =
      GENERATE(std::string("1 OK done\r\n"), std::string("1 OK [CAPABILITY] x\r\n"));
  ImapRun run({Step::send("* OK hi\r\n"), Step::expect("1 CAPABILITY"),
               Step::send(reply), Step::expect("2 LOGIN fakeuser"),
               Step::send("2 OK [CAPABILITY IMAP4rev1] in\r\n"), Step::expect("3 LOGOUT"),
               Step::send("* BYE bye\r\n3 OK done\r\n")});
  CHECK(run.session->close().ok());
  REQUIRE(run.fake.wait_done(5));
  CHECK(run.fake.failure().empty());
}

TEST_CASE("IMAP: an empty [CAPABILITY] response code leaves no capability, not a crash") {
  // Found by tests/fuzz/imap_fuzz: after "2 OK [CAPABILITY] selected" libetpan kept a NULL
  // capability list and mailimap_has_uidplus dereferenced it at EXPUNGE (SIGSEGV).
  ImapRun run({Step::send("* OK [CAPABILITY IMAP4rev1 UIDPLUS] fake\r\n"),
               Step::expect("1 LOGIN fakeuser"),
               Step::send("1 OK [CAPABILITY IMAP4rev1 UIDPLUS] in\r\n"),
               Step::expect("2 SELECT INBOX"),
               Step::send("* 1 EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n"
                          "2 OK [CAPABILITY] selected\r\n"),
               Step::expect("3 UID FETCH 1:* (UID RFC822.SIZE FLAGS)"),
               Step::send("* 1 FETCH (UID 7 RFC822.SIZE 5)\r\n3 OK done\r\n"),
               Step::expect("4 UID STORE 7 +FLAGS.SILENT (\\Deleted)"),
               Step::send("4 OK stored\r\n"),
               Step::expect("5 UID SEARCH DELETED"),
               Step::send("* SEARCH 7\r\n5 OK searched\r\n"),
               Step::expect("6 EXPUNGE"), Step::send("6 OK expunged\r\n"),
               Step::expect("7 LOGOUT"), Step::send("* BYE bye\r\n7 OK done\r\n")});
  Result<FolderListing> listing = run.session->list("INBOX");
  REQUIRE(listing.ok());
  REQUIRE(listing->messages.size() == 1);
  REQUIRE(run.session->acknowledge(listing->messages, true).ok());
  CHECK(run.session->close().ok());  // without UIDPLUS known: plain EXPUNGE
  REQUIRE(run.fake.wait_done(5));
  CHECK(run.fake.failure().empty());
}
