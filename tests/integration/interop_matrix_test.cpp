// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The interop matrix of issue 16: the clamfetch binary against two real server implementations
// (Dovecot, and Cyrus IMAP 3.6: tests/fixture/cyrus) in the four TLS modes (POP3+STLS, POP3S,
// IMAP+STARTTLS, IMAPS), each with keep and without, delivering a corpus of odd real-world
// messages into the real Postfix's virtual mailboxes. Each message must arrive once, byte for
// byte below the trace headers clamfetch and Postfix put on top, and a second run must deliver
// nothing. One fixture per server; each of the 8 combinations uses its own account.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;

namespace {

namespace fs = std::filesystem;

// Python's email test corpus (package libpython3.11-testsuite, installed by tools/deps).
constexpr const char* kPythonCorpus = "/usr/lib/python3.11/test/test_email/data";

struct Mode {
  const char* name;
  const char* protocol;
  const char* tls;
};
constexpr Mode kModes[] = {{"POP3+STLS", "pop3", "starttls"},
                           {"POP3S", "pop3", "implicit"},
                           {"IMAP+STARTTLS", "imap", "starttls"},
                           {"IMAPS", "imap", "implicit"}};

struct Sample {
  std::string name;
  std::string bytes;  // as stored on the server
};

// Pseudo-random bytes, base64-encoded in 76-column CRLF lines: an attachment that compresses
// nowhere and that no scanner signature matches.
std::string base64_lines(std::size_t raw_bytes) {
  static constexpr char kTable[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve(raw_bytes * 4 / 3 + raw_bytes / 28 + 8);
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;
  std::size_t column = 0;
  for (std::size_t i = 0; i < raw_bytes; i += 3) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const auto v = static_cast<unsigned>(state >> 40);
    for (int shift = 18; shift >= 0; shift -= 6) out += kTable[(v >> shift) & 63];
    column += 4;
    if (column == 76) {
      out += "\r\n";
      column = 0;
    }
  }
  return out + "\r\n";
}

std::string header(const std::string& id, const std::string& subject) {
  return "From: Interop <interop@example.org>\r\nTo: virtualuser1@example.com\r\n"
         "Subject: " + subject + "\r\nDate: Sat, 01 Jan 2022 12:00:00 +0000\r\n"
         "Message-ID: <" + id + "@interop>\r\n";
}

// The edge cases of the issue, each a whole message as a server stores it.
std::vector<Sample> edge_cases() {
  std::vector<Sample> s;
  s.push_back({"no final newline", header("nofinal", "no final newline") + "\r\nfirst\r\nlast, no newline"});
  s.push_back({"bare LF", header("barelf", "bare LF") + "\r\nCRLF line\r\nbare\nLF\nlines\r\nend\r\n"});
  s.push_back({"2000-character lines",
               header("long", "long lines") + "X-Long: " + std::string(2000, 'h') + "\r\n\r\n" +
                   std::string(2000, 'b') + "\r\n" + std::string(1999, 'c') + ".\r\n"});
  s.push_back({"UTF-8 headers", "From: J\xc3\xbcrgen M\xc3\xbcller <jm@example.org>\r\n"
                                "To: Zo\xc3\xab <virtualuser1@example.com>\r\n"
                                "Subject: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7 \xe6\x97\xa5\xe6\x9c\xac\r\n"
                                "Message-ID: <utf8@interop>\r\n\r\nr\xc3\xa9sum\xc3\xa9\r\n"});
  s.push_back({"empty body", header("empty", "empty body") + "\r\n"});
  s.push_back({"lone dot lines", header("dots", "dots") + "\r\n.\r\n..\r\n.x\r\n. \r\nafter\r\n.\r\n"});
  s.push_back({"no Message-ID nor Date", "From: interop@example.org\r\nTo: virtualuser1@example.com\r\n"
                                         "Subject: bare minimum\r\n\r\nhello\r\n"});
  return s;
}

std::vector<Sample> python_corpus() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kPythonCorpus)) {
    const auto name = entry.path().filename().string();
    if (name.starts_with("msg_") && name.ends_with(".txt")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<Sample> out;
  // Stored with LF on disk; a server holds CRLF.
  for (const auto& f : files) out.push_back({f.filename().string(), lf_to_crlf(read_file(f))});
  // Python 3.11 ships 47: fewer means a broken install, not a smaller test.
  if (out.size() < 40) throw std::runtime_error(std::string("Python's email corpus is incomplete: ") + kPythonCorpus);
  return out;
}

// Every sample (`full`), or the edge cases and every third Python message: keep changes what
// happens on the server after delivery, not how a message is read, and the matrix must stay
// cheap (it runs in tools/test twice).
std::vector<Sample> corpus(bool full, bool with_large) {
  std::vector<Sample> all;
  const auto python = python_corpus();
  for (std::size_t i = 0; i < python.size(); ++i) {
    if (full || i % 3 == 0) all.push_back(python[i]);
  }
  for (auto& s : edge_cases()) all.push_back(std::move(s));
  if (with_large) {
    all.push_back({"20 MB attachment",
                   header("large", "20 MB attachment") +
                       "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
                       "--b\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--b\r\n"
                       "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
                       base64_lines(15 * 1024 * 1024) + "--b--\r\n"});
  }
  return all;
}

bool is_header_field(std::string_view line) {
  const auto colon = line.find(':');
  return colon != std::string_view::npos && colon > 0 && line.substr(0, colon).find_first_of(" \t") == std::string_view::npos;
}

bool named(std::string_view line, std::string_view name) {
  return line.size() > name.size() && line[name.size()] == ':' && strncasecmp(line.data(), name.data(), name.size()) == 0;
}

// The message without the fields `drop` says, in the header section as one reader sees it: up
// to the first empty line, or (`stop_at_non_header`) before the first line that is no header
// field, where `non_header_prefix` is inserted.
std::string filter_header(const std::string& s, bool (*drop)(std::string_view), bool stop_at_non_header,
                          std::string_view non_header_prefix) {
  std::string out;
  std::size_t pos = 0;
  bool dropping = false;
  while (pos < s.size()) {
    const auto end = s.find("\r\n", pos) + 2;
    const std::string_view line(s.data() + pos, end - pos - 2);
    if (line.empty()) break;
    const bool continuation = line[0] == ' ' || line[0] == '\t';
    if (!continuation && !is_header_field(line) && stop_at_non_header) {
      out += non_header_prefix;
      break;
    }
    if (!continuation) dropping = drop(line);
    if (!dropping) out.append(s, pos, end - pos);
    pos = end;
  }
  return out + s.substr(pos);
}

// What Postfix stores of a stored message that clamfetch delivered, in CRLF form:
// - CRLF line ends, ending with CRLF: SMTP carries lines (a bare LF ends one);
// - without X-Virus-Scanned / X-Virus-Status fields: clamfetch replaces them (add_header =
//   "replace", its default: a sender must not be able to forge a "Clean");
// - without Return-Path fields: Postfix drops them (message_drop_headers) and writes its own;
// - with an empty line before the first line of the header section that is no header field
//   (an mbox "From " line, a body without its empty line): Postfix's cleanup ends the header
//   section there. Python's corpus has four such messages; over SMTP this cannot be avoided.
std::string stored_by_postfix(std::string_view stored) {
  std::string s = lf_to_crlf(stored);
  if (!s.ends_with("\r\n")) s += "\r\n";
  s = filter_header(
      s, [](std::string_view l) { return named(l, "X-Virus-Scanned") || named(l, "X-Virus-Status"); }, false, "");
  return filter_header(s, [](std::string_view l) { return named(l, "Return-Path"); }, true, "\r\n");
}

// True if `prefix` is nothing but header fields (what clamfetch and Postfix put on top).
bool only_header_fields(std::string_view prefix) {
  std::size_t pos = 0;
  while (pos < prefix.size()) {
    const auto end = prefix.find("\r\n", pos);
    if (end == std::string_view::npos) return false;
    const auto line = prefix.substr(pos, end - pos);
    const bool continuation = !line.empty() && (line[0] == ' ' || line[0] == '\t');
    if (!continuation && !is_header_field(line)) return false;
    pos = end + 2;
  }
  return true;
}

// The index of the sample `delivered` is (the longest sample it ends with, below header
// fields only), or -1.
int identify(const std::string& delivered, const std::vector<std::string>& wire) {
  const std::string got = lf_to_crlf(delivered);
  int best = -1;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    if (!got.ends_with(wire[i])) continue;
    if (!only_header_fields(std::string_view(got).substr(0, got.size() - wire[i].size()))) continue;
    if (best < 0 || wire[i].size() > wire[static_cast<std::size_t>(best)].size()) best = static_cast<int>(i);
  }
  return best;
}

std::vector<std::string> new_files(const std::vector<std::string>& before, const std::vector<std::string>& after) {
  std::multiset<std::string> old(before.begin(), before.end());
  std::vector<std::string> added;
  for (const auto& f : after) {
    const auto it = old.find(f);
    if (it != old.end()) {
      old.erase(it);
    } else {
      added.push_back(f);
    }
  }
  return added;
}

std::string rc_for(const ClamfetchUser& user, const Mode& mode, int account, bool keep) {
  std::string rc = user.standard_rc(mode.protocol, mode.tls, keep ? "  keep = true\n" : "");
  for (const std::string what : {"pop3userid", "pop3password"}) {
    rc.replace(rc.find(what + "1"), what.size() + 1, what + std::to_string(account));
  }
  return rc;
}

// How often each sample arrived (identified in `arrived`).
std::vector<int> arrivals(const std::vector<std::string>& arrived, const std::vector<Sample>& sent) {
  std::vector<std::string> wire;
  for (const auto& s : sent) wire.push_back(stored_by_postfix(s.bytes));
  std::vector<int> times(sent.size(), 0);
  for (const auto& file : arrived) {
    const int i = identify(file, wire);
    if (i >= 0) ++times[static_cast<std::size_t>(i)];
  }
  return times;
}

// One combination on its own account: seed, fetch, check every sample arrived once and
// identical, fetch again (nothing new), check what the server kept. Returns the table row.
std::string run_combination(const MailServers& servers, ClamfetchUser& user, const char* server_name,
                            const Mode& mode, bool keep, int account, const std::vector<Sample>& sent) {
  const std::string who = "pop3userid" + std::to_string(account);
  std::vector<std::string> bytes;
  for (const auto& s : sent) bytes.push_back(s.bytes);
  servers.seed(who, bytes);
  user.write_rc(rc_for(user, mode, account, keep));
  INFO(server_name << " " << mode.name << (keep ? " keep" : " nokeep"));

  const auto before = servers.delivered("virtualuser1");
  const auto started = std::chrono::steady_clock::now();
  const auto first = user.clamfetch({"-v"});
  INFO(first.err);
  CHECK(first.exit_code == 0);
  servers.wait_queue_empty(120);
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const auto arrived = new_files(before, servers.delivered("virtualuser1"));
  const auto times = arrivals(arrived, sent);
  for (std::size_t i = 0; i < sent.size(); ++i) {
    INFO("sample " << sent[i].name);
    CHECK(times[i] == 1);
  }
  CHECK(arrived.size() == sent.size());

  const auto second = user.clamfetch({"-v"});
  INFO(second.err);
  CHECK(second.exit_code == 1);  // nothing to fetch
  servers.wait_queue_empty(120);
  const auto again = new_files(before, servers.delivered("virtualuser1"));
  CHECK(again.size() == arrived.size());
  const auto left = servers.remote_messages(who);
  CHECK(left.size() == (keep ? sent.size() : 0));
  if (keep && left.size() == sent.size()) {
    for (std::size_t i = 0; i < sent.size(); ++i) CHECK(left[i] == sent[i].bytes);
  }

  std::ostringstream row;
  row << "| " << server_name << " | " << mode.name << " | " << (keep ? "keep" : "nokeep") << " | " << sent.size()
      << " | " << arrived.size() << " | " << std::count(times.begin(), times.end(), 1) << " | "
      << static_cast<long>(again.size()) - static_cast<long>(arrived.size()) << " | " << left.size() << " | " << static_cast<int>(seconds * 10) / 10.0
      << " s |\n";
  return row.str();
}

// One server, one fixture: the 8 combinations on accounts pop3userid1..8. The 20 MB message
// costs about 6 s per run (more under ASan): it goes through one combination only, IMAPS
// without keep against Cyrus.
void run_matrix(MailServers::Server server, const char* server_name) {
  MailServers servers(MailServers::Options{.server = server});
  ClamfetchUser user(servers);
  const auto reduced = corpus(false, false);
  const auto full = corpus(true, false);
  const auto with_large = corpus(true, server == MailServers::Server::cyrus);
  int account = 0;
  std::string table = "| server | mode | keep | seeded | delivered | identical | 2nd run | left | 1st run |\n";
  for (const auto& mode : kModes) {
    for (const bool keep : {false, true}) {
      const bool large = std::string_view(mode.name) == "IMAPS" && !keep;
      table += run_combination(servers, user, server_name, mode, keep, ++account, keep ? reduced : large ? with_large : full);
    }
  }
  // The matrix rows for the closing note (shown by ctest -V).
  std::cout << table;
}

}  // namespace

TEST_CASE("interop matrix against Dovecot: 4 TLS modes x keep and nokeep byte for byte") {
  run_matrix(MailServers::Server::dovecot, "Dovecot");
}

TEST_CASE("interop matrix against Cyrus IMAP: 4 TLS modes x keep and nokeep byte for byte") {
  run_matrix(MailServers::Server::cyrus, "Cyrus");
}

namespace {

// A loopback port nothing listens on now (the kernel's pick for a bound, unused socket).
int free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("free_loopback_port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

bool accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

}  // namespace

// Issue 16 point 4: the setting README.md and examples/postfix give. The fixture's main.cf has
// it; taken away, Postfix's default (loopback counts as local) completes the fetched message.
TEST_CASE("Postfix with local_header_rewrite_clients empty keeps fetched mail as it was - by default it rewrites") {
  MailServers servers;
  ClamfetchUser user(servers);
  const std::string bare = "From: someone\r\nTo: virtualuser1@example.com\r\nSubject: no id no date\r\n\r\nhello\r\n";
  servers.seed("pop3userid1", bare);
  user.write_rc(user.standard_rc("pop3", "implicit", "  keep = true\n"));
  const auto kept = user.clamfetch({});
  INFO(kept.err);
  REQUIRE(kept.exit_code == 0);
  servers.wait_queue_empty();
  auto got = servers.delivered("virtualuser1");
  REQUIRE(got.size() == 1);
  CHECK(lf_to_crlf(got[0]).ends_with("X-Virus-Status: Clean\r\n" + bare));

  const std::string postfix_dir = servers.env("POSTFIX_DIR");
  servers.stop_postfix();
  REQUIRE(run({"postconf", "-c", postfix_dir, "-X", "local_header_rewrite_clients"}).exit_code == 0);
  // Postfix waits while main.cf is younger than a second (tests/fixture/NOTES.md 1).
  REQUIRE(run({"touch", "-d", "2000-01-01 00:00:00", postfix_dir + "/main.cf"}).exit_code == 0);
  servers.start_postfix();
  const auto rewritten = user.clamfetch({"-a"});
  INFO(rewritten.err);
  REQUIRE(rewritten.exit_code == 0);
  servers.wait_queue_empty();
  got = servers.delivered("virtualuser1");
  REQUIRE(got.size() == 2);
  const auto& rewritten_file = lf_to_crlf(got[0]).ends_with(bare) ? got[1] : got[0];
  CHECK(rewritten_file.find("\nMessage-Id: <") != std::string::npos);
  CHECK(rewritten_file.find("\nDate: ") != std::string::npos);
  CHECK(rewritten_file.find("\nFrom: someone@example.com\n") != std::string::npos);

  // The README's dedicated smtpd (examples/postfix/master.cf, on a free port instead of 2525)
  // keeps it as it was while main.cf keeps the default.
  const int port = free_loopback_port();
  std::string service = read_file(CLAMFETCH_SOURCE_DIR "/examples/postfix/master.cf");
  service.replace(service.find("\n127.0.0.1:2525 ") + 1, 14, "127.0.0.1:" + std::to_string(port));
  servers.stop_postfix();
  std::ofstream(postfix_dir + "/master.cf", std::ios::app) << service;
  REQUIRE(run({"touch", "-d", "2000-01-01 00:00:00", postfix_dir + "/master.cf"}).exit_code == 0);
  servers.start_postfix();
  std::string rc = user.standard_rc("pop3", "implicit", "  keep = true\n");
  const std::string smtp = "127.0.0.1:" + servers.env("SMTP_PORT");
  rc.replace(rc.find(smtp), smtp.size(), "127.0.0.1:" + std::to_string(port));
  user.write_rc(rc);
  const auto before = servers.delivered("virtualuser1");
  for (int i = 0; i < 100 && !accepts(port); ++i) usleep(50000);  // smtpd listens after master
  const auto dedicated = user.clamfetch({"-a"});
  INFO(dedicated.err);
  REQUIRE(dedicated.exit_code == 0);
  servers.wait_queue_empty();
  const auto third = new_files(before, servers.delivered("virtualuser1"));
  REQUIRE(third.size() == 1);
  CHECK(lf_to_crlf(third[0]).ends_with("X-Virus-Status: Clean\r\n" + bare));
}
