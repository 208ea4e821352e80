// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The SMTP/LMTP transport against the fixture's real Postfix (virtual Maildirs) and Dovecot
// LMTP: byte-exact delivery, one connection per batch, batchlimit, refusals, a stopped MTA,
// 4xx, SIZE, and a connection lost between messages.

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "deliver/deliver.hpp"
#include "support/servers.hpp"

using clamfetch::Channel;
using clamfetch::Log;
using namespace clamfetch::deliver;
using clamfetch::test::MailServers;
using Sent = Outcome::Status;

namespace {

constexpr const char* kSender = "sender@example.org";
constexpr const char* kUser1 = "virtualuser1@example.com";

ClientSettings smtp_settings(const MailServers& servers, unsigned batchlimit = 0) {
  ClientSettings s;
  s.target.kind = Target::Kind::smtp;
  s.target.host = "127.0.0.1";
  s.target.port = static_cast<uint16_t>(servers.port("SMTP_PORT"));
  s.helo_name = "clamfetch.test";
  s.timeout_seconds = 30;
  s.batchlimit = batchlimit;
  return s;
}

Envelope to(std::vector<std::string> recipients) { return Envelope{kSender, std::move(recipients)}; }

// smtpd's "connect from" lines ("disconnect from" has no "]: " before it).
int connects(const std::string& log) {
  int n = 0;
  for (std::size_t pos = 0; (pos = log.find("]: connect from ", pos)) != std::string::npos; ++pos) ++n;
  return n;
}

// The delivered file holding `marker`, or "" when none (or several) do.
std::string find_delivered(const std::vector<std::string>& files, const std::string& marker) {
  std::string found;
  for (const auto& f : files) {
    if (f.find(marker) == std::string::npos) continue;
    if (!found.empty()) return "";
    found = f;
  }
  return found;
}

// What the MTA must have received: line ends CRLF, a final CRLF.
std::string as_sent(const std::string& message) {
  std::string wire = normalise_crlf(message);
  if (!wire.empty() && !wire.ends_with("\r\n")) wire += "\r\n";
  return wire;
}

// A delivered Maildir file (LF line ends) is the sent message after the MTA's own trace lines.
void check_delivered_as_sent(const std::string& file, const std::string& message) {
  std::string delivered = clamfetch::test::lf_to_crlf(file);
  std::string expected = as_sent(message);
  REQUIRE(delivered.size() >= expected.size());
  CHECK(delivered.compare(delivered.size() - expected.size(), expected.size(), expected) == 0);
  std::string added = delivered.substr(0, delivered.size() - expected.size());
  CHECK(added.find("\r\n\r\n") == std::string::npos);  // only header lines were added
  CHECK(added.rfind("Return-Path: <sender@example.org>\r\n", 0) == 0);
}

// 100 messages: every tenth has dot-leading lines, 8-bit text, bare LF ends, or no final
// line end; message 50 is 10 MB.
std::vector<std::string> batch_messages(const std::string& tag, bool with_big) {
  std::vector<std::string> messages;
  for (int i = 0; i < 100; ++i) {
    std::string id = tag + "-" + std::to_string(i) + "@clamfetch.test";
    std::size_t size = (with_big && i == 50) ? 10 * 1024 * 1024 : 200 + 37 * i;
    std::string m = clamfetch::test::make_message(id, size);
    switch (i % 5) {
      case 1: m += ".dot-leading line\r\n..two dots\r\n.\r\n. \r\n"; break;
      case 2: m += "8-bit: Gr\xc3\xbc\xc3\x9f" "e \xe9t\xe9 \xff\r\n"; break;
      case 3: {
        std::string lf;
        for (char c : m) if (c != '\r') lf += c;
        m = lf + ".bare LF and dot\n";
        break;
      }
      case 4: m += "no final line end"; break;
      default: break;
    }
    messages.push_back(m);
  }
  return messages;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("100 messages through one connection arrive byte for byte", "[deliver][smtp]") {
  MailServers servers;
  std::string trace_path = servers.dir() + "/smtp-trace.log";
  Log log;
  REQUIRE(log.use_file(trace_path).ok());
  log.enable_trace(static_cast<unsigned>(Channel::smtp));
  auto transport = make_transport(smtp_settings(servers), log);
  auto messages = batch_messages("batch", true);
  std::size_t log_before = servers.postfix_log().size();

  auto start = std::chrono::steady_clock::now();
  double big_seconds = 0;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    auto t0 = std::chrono::steady_clock::now();
    Outcome out = transport->send(to({kUser1}), messages[i]);
    if (i == 50) big_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    INFO("message " << i << ": " << out.reply.code << " " << out.reply.text);
    REQUIRE(out.status == Sent::delivered);
    CHECK(out.reply.code == 250);
    REQUIRE(out.per_recipient.size() == 1);
    CHECK(out.per_recipient[0].code == 250);
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  transport->close();
  std::printf("deliver_smtp: 100 messages (one of 10 MB) in %.2f s; the 10 MB one %.2f s; "
              "99 small ones %.1f msg/s\n", seconds, big_seconds, 99 / (seconds - big_seconds));

  servers.wait_queue_empty(60);
  auto files = servers.delivered("virtualuser1");
  REQUIRE(files.size() == 100);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    INFO("message " << i);
    std::string file = find_delivered(files, "Message-ID: <batch-" + std::to_string(i) + "@");
    REQUIRE_FALSE(file.empty());
    check_delivered_as_sent(file, messages[i]);
  }
  CHECK(connects(servers.postfix_log().substr(log_before)) == 1);

  std::string trace = read_text(trace_path);
  CHECK(trace.find("> EHLO clamfetch.test") != std::string::npos);
  CHECK(trace.find("< 250-PIPELINING") != std::string::npos);
  CHECK(trace.find("> RSET") != std::string::npos);
  CHECK(trace.find("> MAIL FROM:<sender@example.org> SIZE=") != std::string::npos);
  CHECK(trace.find("BODY=8BITMIME") != std::string::npos);
  CHECK(trace.find("octets of message data") != std::string::npos);
  CHECK(trace.find("dot-leading line") == std::string::npos);  // never the body
}

// Cuts `m` into three parts at awkward places: between a CR and its LF, right before a '.'
// that starts a line (or mid-line), and - for a big message - just before where the 4 MB
// piece boundary of the DATA writer falls, so that a piece spans two parts.
std::vector<std::string_view> awkward_parts(std::string_view m) {
  std::size_t a = m.find("\r\n");
  a = a == std::string_view::npos ? m.size() / 3 : a + 1;
  std::size_t b = m.find("\n.", a);
  b = b == std::string_view::npos ? (a + m.size()) / 2 : b + 1;
  if (m.size() > (8u << 20)) b = (4u << 20) - 7;
  if (b < a) std::swap(a, b);
  return {m.substr(0, a), m.substr(a, b - a), m.substr(b)};
}

TEST_CASE("a message sent in parts arrives as the whole would", "[deliver][smtp]") {
  // The poller sends an edited header block followed by the untouched body: the DATA writer
  // must dot-stuff, normalise line ends and cut its pieces across part boundaries exactly as
  // for one string.
  MailServers servers;
  Log log;
  auto transport = make_transport(smtp_settings(servers), log);
  auto messages = batch_messages("parts", true);
  messages.resize(60);  // the five kinds of line-end and dot trouble, and the 10 MB one (50)
  for (std::size_t i = 0; i < messages.size(); ++i) {
    auto parts = awkward_parts(messages[i]);
    REQUIRE(parts.size() == 3);
    Outcome out = transport->send(to({kUser1}), std::span<const std::string_view>(parts));
    INFO("message " << i << ": " << out.reply.code << " " << out.reply.text);
    REQUIRE(out.status == Sent::delivered);
  }
  transport->close();
  servers.wait_queue_empty(60);
  auto files = servers.delivered("virtualuser1");
  REQUIRE(files.size() == messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    INFO("message " << i);
    std::string file = find_delivered(files, "Message-ID: <parts-" + std::to_string(i) + "@");
    REQUIRE_FALSE(file.empty());
    check_delivered_as_sent(file, messages[i]);
  }
}

TEST_CASE("batchlimit 10: 100 messages over 10 connections", "[deliver][smtp]") {
  MailServers servers;
  Log log;
  auto transport = make_transport(smtp_settings(servers, 10), log);
  auto messages = batch_messages("limit", false);
  std::size_t log_before = servers.postfix_log().size();
  for (const auto& m : messages) REQUIRE(transport->send(to({kUser1}), m).status == Sent::delivered);
  transport->close();
  servers.wait_queue_empty(60);
  CHECK(servers.delivered("virtualuser1").size() == 100);
  CHECK(connects(servers.postfix_log().substr(log_before)) == 10);
}

TEST_CASE("an unknown recipient is a permanent refusal - the accepted ones still get it",
          "[deliver][smtp]") {
  MailServers servers;
  Log log;
  auto transport = make_transport(smtp_settings(servers), log);
  std::string message = clamfetch::test::make_message("nouser@clamfetch.test", 300);

  Outcome refused = transport->send(to({"nouser@example.com"}), message);
  CHECK(refused.status == Sent::permanent);
  CHECK(refused.reply.code == 550);
  CHECK(refused.reply.text.find("nouser@example.com") != std::string::npos);

  Outcome mixed = transport->send(to({"nouser@example.com", kUser1}), message);
  CHECK(mixed.status == Sent::delivered);
  REQUIRE(mixed.per_recipient.size() == 2);
  CHECK(mixed.per_recipient[0].code == 550);
  CHECK(mixed.per_recipient[1].code == 250);

  // The same connection goes on after refusals.
  std::string next = clamfetch::test::make_message("after-refusal@clamfetch.test", 300);
  CHECK(transport->send(to({kUser1}), next).status == Sent::delivered);
  transport->close();
  servers.wait_queue_empty();
  auto files = servers.delivered("virtualuser1");
  REQUIRE(files.size() == 2);
  check_delivered_as_sent(find_delivered(files, "<nouser@clamfetch.test>"), message);
  CHECK(servers.delivered("nouser").empty());
}

TEST_CASE("Postfix stopped: unreachable at once - restarted between messages: reconnected",
          "[deliver][smtp]") {
  MailServers servers;
  Log log;
  auto transport = make_transport(smtp_settings(servers), log);
  std::string first = clamfetch::test::make_message("before-restart@clamfetch.test", 300);
  REQUIRE(transport->send(to({kUser1}), first).status == Sent::delivered);

  // The open connection dies with Postfix; the next message reconnects transparently.
  servers.stop_postfix();
  servers.start_postfix();
  std::size_t log_before = servers.postfix_log().size();
  std::string second = clamfetch::test::make_message("after-restart@clamfetch.test", 300);
  Outcome out = transport->send(to({kUser1}), second);
  INFO(out.reply.text);
  CHECK(out.status == Sent::delivered);
  CHECK(connects(servers.postfix_log().substr(log_before)) == 1);
  servers.wait_queue_empty();
  CHECK(servers.delivered("virtualuser1").size() == 2);

  servers.stop_postfix();
  auto t0 = std::chrono::steady_clock::now();
  Outcome down = transport->send(to({kUser1}), first);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(down.status == Sent::unreachable);
  CHECK(down.reply.code == 0);
  CHECK(down.reply.text.find("Connection refused") != std::string::npos);
  CHECK(seconds < 1.0);
  auto fresh = make_transport(smtp_settings(servers), log);
  CHECK(fresh->send(to({kUser1}), first).status == Sent::unreachable);
}

TEST_CASE("LMTP to Dovecot delivers into its Maildirs, one reply per recipient",
          "[deliver][lmtp]") {
  MailServers servers;
  Log log;
  ClientSettings settings = smtp_settings(servers);
  settings.target.kind = Target::Kind::lmtp_tcp;
  settings.target.port = static_cast<uint16_t>(servers.port("LMTP_PORT"));
  auto transport = make_transport(settings, log);
  auto messages = batch_messages("lmtp", false);
  messages.resize(6);
  for (const auto& m : messages) {
    Outcome out = transport->send(to({kUser1, "virtualuser2@example.com"}), m);
    INFO(out.reply.code << " " << out.reply.text);
    REQUIRE(out.status == Sent::delivered);
    REQUIRE(out.per_recipient.size() == 2);
    CHECK(out.per_recipient[0].code == 250);
    CHECK(out.per_recipient[1].code == 250);
  }
  Outcome unknown = transport->send(to({"nouser@example.com"}), messages[0]);
  CHECK(unknown.status == Sent::permanent);
  CHECK(unknown.reply.code == 550);
  transport->close();

  for (const char* user : {"virtualuser1", "virtualuser2"}) {
    auto files = servers.lmtp_delivered(user);
    INFO(user);
    REQUIRE(files.size() == messages.size());
    for (std::size_t i = 0; i < messages.size(); ++i) {
      std::string file = find_delivered(files, "<lmtp-" + std::to_string(i) + "@");
      REQUIRE_FALSE(file.empty());
      std::string delivered = clamfetch::test::lf_to_crlf(file);
      std::string expected = as_sent(messages[i]);
      CHECK(delivered.ends_with(expected));
    }
  }
}

TEST_CASE("4xx from Postfix is temporary - over SIZE is refused before sending",
          "[deliver][smtp]") {
  MailServers servers;
  std::string pf = servers.env("POSTFIX_DIR");
  {
    std::ofstream access(pf + "/defer_access");
    access << "virtualuser2@example.com 450 4.2.0 come back later\n";
  }
  auto must = [](const std::vector<std::string>& argv) {
    auto r = clamfetch::test::run(argv);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  };
  must({"postmap", "-c", pf, "hash:" + pf + "/defer_access"});
  must({"postconf", "-c", pf, "-e",
        "smtpd_recipient_restrictions = check_recipient_access hash:" + pf +
            "/defer_access, permit_mynetworks, reject_unauth_destination",
        "message_size_limit = 1000000"});
  must({"postfix", "-c", pf, "reload"});

  Log log;
  std::string message = clamfetch::test::make_message("deferred@clamfetch.test", 300);
  // The reload reaches new smtpd processes shortly after: try fresh connections for a while.
  Outcome out;
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto transport = make_transport(smtp_settings(servers), log);
    out = transport->send(to({"virtualuser2@example.com"}), message);
    if (out.status != Sent::delivered) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  CHECK(out.status == Sent::temporary);
  CHECK(out.reply.code == 450);
  CHECK(out.reply.text.find("come back later") != std::string::npos);

  auto transport = make_transport(smtp_settings(servers), log);
  Outcome big = transport->send(to({kUser1}), clamfetch::test::make_message("big@clamfetch.test", 2000000));
  CHECK(big.status == Sent::permanent);
  CHECK(big.reply.code == 552);
  CHECK(big.reply.text.find("local check") != std::string::npos);
  // The connection stays usable after the local refusal.
  CHECK(transport->send(to({kUser1}), message).status == Sent::delivered);
  transport->close();
  servers.wait_queue_empty();
  CHECK(servers.delivered("virtualuser1").size() == 1);
  CHECK(servers.delivered("virtualuser2").size() <= 1);  // before the reload took effect
}
