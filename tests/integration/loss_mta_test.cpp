// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// No mail lost at the MTA's edges (issue 15, defects 1, 2, 3 and 7), through the real binary
// against the fixture's real Dovecot (POP3S, LMTP with a full mailbox) and Postfix (virtual
// table, sender restrictions and size limit set per test with postconf).
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <thread>
#include <random>
#include <sstream>

#include "data/corpus/scan_corpus.hpp"
#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

int count_of(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) ++n;
  return n;
}

// Changes the fixture's Postfix configuration and reloads it.
void postconf(const MailServers& servers, const std::vector<std::string>& settings) {
  std::vector<std::string> argv{"postconf", "-c", servers.env("POSTFIX_DIR"), "-e"};
  argv.insert(argv.end(), settings.begin(), settings.end());
  auto r = run(argv);
  REQUIRE(r.exit_code == 0);
  auto reload = run({"postfix", "-c", servers.env("POSTFIX_DIR"), "reload"});
  REQUIRE(reload.exit_code == 0);
}

// The rc of clamfetch_user.hpp with `is` replaced by `recipients` (a TOML value).
std::string rc_with_is(const ClamfetchUser& user, const std::string& recipients,
                       const std::string& extra_user = "", const std::string& extra_global = "") {
  std::string rc = user.standard_rc("pop3", "implicit", extra_user, extra_global);
  const std::string is = "is = \"virtualuser1@example.com\"";
  rc.replace(rc.find(is), is.size(), "is = " + recipients);
  return rc;
}

std::string joined(const std::vector<std::string>& files) {
  std::string out;
  for (const auto& f : files) out += f + "\n=====\n";
  return out;
}

}  // namespace

TEST_CASE("defect 1: an unknown recipient with the default settings goes to the postmaster, not to nowhere") {
  MailServers servers;
  ClamfetchUser user(servers);
  servers.seed("pop3userid1", make_message("typo@loss", 900));
  // A typo in `is`: Postfix answers 550 5.1.1 User unknown in virtual mailbox table.
  user.write_rc(rc_with_is(user, "\"virtualuzer1@example.com\""));
  auto r = user.clamfetch({"-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "result=to postmaster"));
  CHECK(contains(r.err, "rcpt=virtualuzer1@example.com:550"));
  CHECK_FALSE(contains(r.err, "antispam"));
  servers.wait_queue_empty();
  auto notices = servers.delivered("postmaster");
  REQUIRE(notices.size() == 1);
  CHECK(contains(notices[0], "Destination: virtualuzer1@example.com"));
  CHECK(contains(notices[0], "MTA Reply: 550"));
  CHECK(contains(notices[0], "Message-ID: <typo@loss>"));   // the original, attached whole
  CHECK(servers.remote_messages("pop3userid1").empty());   // it left only once the postmaster had it
}

TEST_CASE("defect 1: antispam codes drop only on MAIL FROM, and the drop is logged with its reply") {
  MailServers servers;
  ClamfetchUser user(servers);
  std::string pf = servers.env("POSTFIX_DIR");
  std::ofstream(pf + "/senders") << "spammer@remote.example REJECT no spam here\n";
  REQUIRE(run({"postmap", "-c", pf, "hash:" + pf + "/senders"}).exit_code == 0);
  postconf(servers, {"smtpd_delay_reject = no",
                     "smtpd_sender_restrictions = check_sender_access hash:" + pf + "/senders"});
  servers.seed("pop3userid1", {"Return-Path: <spammer@remote.example>\r\n" + make_message("spam@loss", 700),
                               make_message("unknown@loss", 700)});
  // fetchmail's own list: 550 and 554 are in it, yet the 550 of RCPT (user unknown) is no spam.
  user.write_rc(rc_with_is(user, "\"nobody@example.com\"", "  antispam = [571, 550, 501, 554]\n"));
  auto r = user.clamfetch({"-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "dropped as spam: MAIL FROM answered 554"));
  CHECK(count_of(r.err, "result=dropped (antispam)") == 1);
  CHECK(count_of(r.err, "result=to postmaster") == 1);
  servers.wait_queue_empty();
  auto notices = servers.delivered("postmaster");
  REQUIRE(notices.size() == 1);
  CHECK(contains(notices[0], "Message-ID: <unknown@loss>"));
  CHECK_FALSE(contains(joined(notices), "spam@loss"));
  CHECK(servers.remote_messages("pop3userid1").empty());
}

TEST_CASE("defect 2: with one recipient refused, the others get the message and the refused one a notice") {
  MailServers servers;
  ClamfetchUser user(servers);
  servers.seed("pop3userid1", make_message("partial@loss", 900));
  user.write_rc(rc_with_is(user, "[\"virtualuser1@example.com\", \"nobody@example.com\"]"));
  auto r = user.clamfetch({"-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "rcpt=virtualuser1@example.com:250,nobody@example.com:550"));
  CHECK(contains(r.err, "result=delivered, to postmaster"));
  servers.wait_queue_empty();
  CHECK(count_message_ids(servers.delivered("virtualuser1"))["partial@loss"] == 1);
  auto notices = servers.delivered("postmaster");
  REQUIRE(notices.size() == 1);
  CHECK(contains(notices[0], "Destination: nobody@example.com\n"));  // the refused one only
  CHECK(servers.remote_messages("pop3userid1").empty());
}

TEST_CASE("defect 2: bouncemail bounces a partial refusal to the sender, for the refused recipient only") {
  MailServers servers;
  ClamfetchUser user(servers);
  servers.seed("pop3userid1", "Return-Path: <virtualuser2@example.com>\r\n" + make_message("bounce@loss", 900));
  user.write_rc(rc_with_is(user, "[\"nobody@example.com\", \"virtualuser1@example.com\"]", "",
                           "bouncemail = true\n"));
  auto r = user.clamfetch({"-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "result=delivered, bounced"));
  servers.wait_queue_empty();
  CHECK(count_message_ids(servers.delivered("virtualuser1"))["bounce@loss"] == 1);
  auto bounces = servers.delivered("virtualuser2");
  REQUIRE(bounces.size() == 1);
  CHECK(contains(bounces[0], "Final-Recipient: rfc822; nobody@example.com"));
  CHECK_FALSE(contains(bounces[0], "Final-Recipient: rfc822; virtualuser1@example.com"));
  CHECK(servers.delivered("postmaster").empty());
  CHECK(servers.remote_messages("pop3userid1").empty());
}

TEST_CASE("defect 2: a bounce the MTA refuses for good goes to the postmaster instead of waiting for ever") {
  MailServers servers;
  ClamfetchUser user(servers);
  // A forged sender in our own domain that does not exist: Postfix refuses the bounce too.
  servers.seed("pop3userid1", "Return-Path: <ghost@example.com>\r\n" + make_message("ghost@loss", 900));
  user.write_rc(rc_with_is(user, "\"nobody@example.com\"", "", "bouncemail = true\n"));
  auto r = user.clamfetch({"-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "result=to postmaster (bounce refused: 550)"));
  servers.wait_queue_empty();
  auto notices = servers.delivered("postmaster");
  REQUIRE(notices.size() == 1);
  CHECK(contains(notices[0], "Message-ID: <ghost@loss>"));
  CHECK(servers.remote_messages("pop3userid1").empty());
}

TEST_CASE("defect 3: an LMTP 452 for one recipient retries that recipient alone, never the others") {
  MailServers servers;
  ClamfetchUser user(servers);
  // 20 KB: over fullbox's quota, whatever unit Dovecot reads it in (tests/fixture/mailservers).
  servers.seed("pop3userid1", make_message("quota@loss", 20000));
  auto lmtp_rc = [&](const std::string& recipients) {
    std::string rc = rc_with_is(user, recipients);
    std::string smtp = "smtphost = \"127.0.0.1:" + servers.env("SMTP_PORT") + "\"";
    rc.replace(rc.find(smtp), smtp.size(), "smtphost = \"lmtp:127.0.0.1:" + servers.env("LMTP_PORT") + "\"");
    return rc;
  };
  user.write_rc(lmtp_rc("[\"virtualuser1@example.com\", \"fullbox@example.com\"]"));
  for (int poll = 1; poll <= 2; ++poll) {
    auto r = user.clamfetch({"-v"});
    INFO("poll " << poll << "\n" << r.err);
    CHECK(r.exit_code == 10);
    CHECK(contains(r.err, poll == 1 ? "rcpt=virtualuser1@example.com:250,fullbox@example.com:452"
                                    : "rcpt=fullbox@example.com:452"));
    CHECK(servers.lmtp_delivered("virtualuser1").size() == 1);   // one copy, whatever the polls
    CHECK(servers.remote_messages("pop3userid1").size() == 1);   // fullbox still lacks it
  }
  // The mailbox problem is solved by sending to another address: only that one gets it now.
  user.write_rc(lmtp_rc("[\"virtualuser1@example.com\", \"virtualuser2@example.com\"]"));
  auto r = user.clamfetch({"-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "rcpt=virtualuser2@example.com:250"));
  CHECK(servers.lmtp_delivered("virtualuser1").size() == 1);
  CHECK(servers.lmtp_delivered("virtualuser2").size() == 1);
  CHECK(servers.remote_messages("pop3userid1").empty());
}

TEST_CASE("defect 7: a message too big for the MTA is quarantined and the postmaster told, not retried for ever") {
  MailServers servers;
  ClamfetchUser user(servers);
  postconf(servers, {"message_size_limit = 40000", "virtual_mailbox_limit = 0"});
  // A bounce (null sender): no bounce of it to try, the postmaster is told at once.
  servers.seed("pop3userid1", "Return-Path: <>\r\n" + make_message("huge@loss", 60000));
  user.write_rc(user.standard_rc());
  auto r = user.clamfetch({"-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "result=to postmaster, quarantined as "));
  servers.wait_queue_empty();
  auto notices = servers.delivered("postmaster");
  REQUIRE(notices.size() == 1);
  CHECK(contains(notices[0], "MTA Reply: 552"));
  CHECK(contains(notices[0], "Quarantine ID: "));
  CHECK(contains(notices[0], "text/rfc822-headers"));
  CHECK(notices[0].size() < 40000);
  CHECK(servers.remote_messages("pop3userid1").empty());
  // The original is kept whole, for the postmaster to release elsewhere.
  auto listed = user.clamfetch({"--quarantine"});
  CHECK(contains(listed.out, "refused by the MTA"));
}

TEST_CASE("defect 7: limits reached inside a message deliver it marked, as clamd does by default") {
  MailServers servers;
  ClamfetchUser user(servers);
  std::mt19937 rng(7);
  namespace corpus = clamfetch::test::corpus;
  std::string z = corpus::zip({{"a.bin", corpus::random_bytes(rng, 3000)},
                               {"b.bin", corpus::random_bytes(rng, 3000)},
                               {"c.bin", corpus::random_bytes(rng, 3000)}});
  servers.seed("pop3userid1", corpus::mixed_message("limits", {corpus::attachment("application/zip", "z.zip", z)}));
  std::string rc = user.standard_rc();
  rc.replace(rc.find("[scan]\n"), 7, "[scan]\nmax_scan_size = \"4000\"\n");
  user.write_rc(rc);
  auto r = user.clamfetch({"-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  servers.wait_queue_empty();
  auto got = servers.delivered("virtualuser1");
  REQUIRE(got.size() == 1);
  CHECK(contains(got[0], "X-Virus-Status: Clean (limits exceeded: Heuristics.Limits.Exceeded"));
  CHECK(servers.remote_messages("pop3userid1").empty());
}

TEST_CASE("defect 7: a message deferred by its own fault backs off and the postmaster is told once") {
  MailServers servers;
  ClamfetchUser user(servers);
  std::mt19937 rng(7);
  namespace corpus = clamfetch::test::corpus;
  std::string z = corpus::zip({{"a.bin", corpus::random_bytes(rng, 3000)},
                               {"b.bin", corpus::random_bytes(rng, 3000)},
                               {"c.bin", corpus::random_bytes(rng, 3000)}});
  servers.seed("pop3userid1", {corpus::mixed_message("limits", {corpus::attachment("application/zip", "z.zip", z)}),
                               make_message("fine@loss", 500)});
  std::string rc = user.standard_rc();
  rc.replace(rc.find("[scan]\n"), 7, "[scan]\nmax_scan_size = \"4000\"\non_limits = \"defer\"\n");
  user.write_rc(rc);
  auto first = user.clamfetch({"-v"});
  INFO(first.err);
  CHECK(first.exit_code == 0);   // the other message was delivered
  CHECK(contains(first.err, "deferred 1 time, next attempt at"));
  auto second = user.clamfetch({"-v"});
  INFO(second.err);
  CHECK(second.exit_code == 1);   // nothing new: the deferred one waits for its next attempt
  CHECK_FALSE(contains(second.err, "reading message"));
  servers.wait_queue_empty();
  auto notices = servers.delivered("postmaster");
  REQUIRE(notices.size() == 1);
  CHECK(contains(notices[0], "Subject: [clamfetch] message localhost/pop3userid1/"));
  CHECK(contains(notices[0], "on_limits"));          // what resolves it
  CHECK(servers.remote_messages("pop3userid1").size() == 1);   // still there, nothing lost
  CHECK(count_message_ids(servers.delivered("virtualuser1"))["fine@loss"] == 1);

  // The postmaster applies the remedy the notice names: the next poll delivers it, back-off or not.
  rc.replace(rc.find("on_limits = \"defer\""), 19, "on_limits = \"accept\"");
  // Only an rc file changed in a later second than the failure counts as its remedy.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  user.write_rc(rc);
  auto fixed = user.clamfetch({"-v"});
  INFO(fixed.err);
  CHECK(fixed.exit_code == 0);
  servers.wait_queue_empty();
  CHECK(servers.delivered("virtualuser1").size() == 2);
  CHECK(servers.remote_messages("pop3userid1").empty());
  CHECK(servers.delivered("postmaster").size() == 1);
}
