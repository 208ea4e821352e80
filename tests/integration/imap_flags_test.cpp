// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Issue 15, defect 11: IMAP flags set by other clients, against the fixture's real Dovecot
// (another client's flags are set with doveadm) and Postfix, through the clamfetch binary.
//   (a) Without UIDPLUS a plain EXPUNGE also removes what another client flagged \Deleted:
//       clamfetch leaves those alone and skips the EXPUNGE while there are any.
//   (b) The first run on a folder with fetchall off fetches only unseen messages.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// Another IMAP client's flag change: doveadm flags add|remove FLAG on INBOX message `uid`.
void flags(const MailServers& servers, const std::string& how, const std::string& flag, int uid) {
  auto r = run({"doveadm", "-c", servers.env("DOVECOT_CONF"), "flags", how, "-u", "pop3userid1", flag,
                "mailbox", "INBOX", "uid", std::to_string(uid)});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

/// Seeds `ids` (in order: IMAP UIDs 1, 2, ...) into pop3userid1's INBOX, indexed.
void seed(const MailServers& servers, const std::vector<std::string>& ids) {
  std::vector<std::string> messages;
  for (std::size_t i = 0; i < ids.size(); ++i) messages.push_back(make_message(ids[i], 500 + 100 * i));
  servers.seed("pop3userid1", messages);
  auto r = run({"doveadm", "-c", servers.env("DOVECOT_CONF"), "mailbox", "status", "-u", "pop3userid1",
                "messages", "INBOX"});
  REQUIRE(r.exit_code == 0);
}

/// How many remote messages carry `id`.
int remote_count(const MailServers& servers, const std::string& id) {
  int n = 0;
  for (const auto& m : servers.remote_messages("pop3userid1")) n += contains(m, "<" + id + ">");
  return n;
}

}  // namespace

TEST_CASE("IMAP without UIDPLUS: no EXPUNGE while messages another client flagged deleted are there") {
  MailServers servers(MailServers::Options{.imap_uidplus = false});
  ClamfetchUser user(servers);
  seed(servers, {"other-deleted@imap", "ours-1@imap", "ours-2@imap"});
  flags(servers, "add", "\\Deleted", 1);  // another client's decision, maybe taken back later
  user.write_rc(user.standard_rc("imap", "implicit"));  // nokeep

  auto r = user.clamfetch({"-v", "-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "UID SEARCH DELETED"));  // the capability really is hidden
  CHECK(contains(r.err, "EXPUNGE skipped in INBOX: the server has no UIDPLUS"));
  CHECK(contains(r.err, "flagged \\Deleted by another client: skipped"));
  servers.wait_queue_empty();
  auto counts = count_message_ids(servers.delivered("virtualuser1"));
  CHECK(counts["other-deleted@imap"] == 0);
  CHECK(counts["ours-1@imap"] == 1);
  CHECK(counts["ours-2@imap"] == 1);
  // Before the fix the plain EXPUNGE took the other client's message too.
  CHECK(remote_count(servers, "other-deleted@imap") == 1);

  // The other client changes its mind: the next run delivers that message and, with no
  // foreign \Deleted left, expunges everything clamfetch delivered, without delivering again.
  flags(servers, "remove", "\\Deleted", 1);
  auto again = user.clamfetch({"-v"});
  INFO(again.err);
  CHECK(again.exit_code == 0);
  servers.wait_queue_empty();
  counts = count_message_ids(servers.delivered("virtualuser1"));
  CHECK(counts["other-deleted@imap"] == 1);
  CHECK(counts["ours-1@imap"] == 1);
  CHECK(counts["ours-2@imap"] == 1);
  CHECK(servers.remote_messages("pop3userid1").empty());
}

TEST_CASE("IMAP with UIDPLUS: a message another client flagged deleted is neither fetched nor expunged") {
  MailServers servers;
  ClamfetchUser user(servers);
  seed(servers, {"flagged@imap", "plain@imap"});
  flags(servers, "add", "\\Deleted", 1);
  user.write_rc(user.standard_rc("imap", "implicit"));
  auto r = user.clamfetch({"-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  servers.wait_queue_empty();
  auto counts = count_message_ids(servers.delivered("virtualuser1"));
  CHECK(counts["flagged@imap"] == 0);
  CHECK(counts["plain@imap"] == 1);
  CHECK(remote_count(servers, "flagged@imap") == 1);
  CHECK(remote_count(servers, "plain@imap") == 0);
}

TEST_CASE("IMAP first run with fetchall off: only unseen messages, the seen ones stay known") {
  MailServers servers;
  ClamfetchUser user(servers);
  seed(servers, {"read-1@imap", "new-1@imap", "read-2@imap", "new-2@imap"});
  flags(servers, "add", "\\Seen", 1);  // read in another client before clamfetch's first run
  flags(servers, "add", "\\Seen", 3);
  user.write_rc(user.standard_rc("imap", "implicit"));  // nokeep, fetchall off

  auto r = user.clamfetch({"-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "2 messages for pop3userid1 at localhost"));
  servers.wait_queue_empty();
  auto counts = count_message_ids(servers.delivered("virtualuser1"));
  CHECK(counts["read-1@imap"] == 0);
  CHECK(counts["read-2@imap"] == 0);
  CHECK(counts["new-1@imap"] == 1);
  CHECK(counts["new-2@imap"] == 1);
  // Old mail is not ours to delete: it stays, and only the delivered messages left.
  CHECK(remote_count(servers, "read-1@imap") == 1);
  CHECK(remote_count(servers, "read-2@imap") == 1);
  CHECK(servers.remote_messages("pop3userid1").size() == 2);

  // Nothing new: nothing delivered (exit 1), the seen messages are not taken now either.
  auto second = user.clamfetch({"-v"});
  INFO(second.err);
  CHECK(second.exit_code == 1);

  // Mail that arrives later is new mail, whatever its flags.
  seed(servers, {"later@imap"});
  auto third = user.clamfetch({"-v"});
  INFO(third.err);
  CHECK(third.exit_code == 0);
  servers.wait_queue_empty();
  counts = count_message_ids(servers.delivered("virtualuser1"));
  CHECK(counts["later@imap"] == 1);
  CHECK(counts["read-1@imap"] == 0);
  CHECK(servers.delivered("virtualuser1").size() == 3);

  // fetchall (-a) takes the old ones too.
  auto all = user.clamfetch({"-a", "-v"});
  INFO(all.err);
  CHECK(all.exit_code == 0);
  servers.wait_queue_empty();
  counts = count_message_ids(servers.delivered("virtualuser1"));
  CHECK(counts["read-1@imap"] == 1);
  CHECK(counts["read-2@imap"] == 1);
  CHECK(servers.remote_messages("pop3userid1").empty());
}

TEST_CASE("IMAP UIDVALIDITY change with keep is a first run again and seen mail is not delivered again") {
  MailServers servers;
  ClamfetchUser user(servers);
  seed(servers, {"kept-1@imap", "kept-2@imap"});
  user.write_rc(user.standard_rc("imap", "implicit", "  keep = true\n"));
  auto first = user.clamfetch({"-v"});
  INFO(first.err);
  CHECK(first.exit_code == 0);  // both delivered and marked \Seen on the server

  // The server renumbers the folder (a restore, a migration): every UID the store holds is
  // void. Before, every kept message was delivered again; now the \Seen ones are old mail.
  auto renumber = run({"doveadm", "-c", servers.env("DOVECOT_CONF"), "mailbox", "update", "-u",
                       "pop3userid1", "--uid-validity", "4242", "INBOX"});
  INFO(renumber.err);
  REQUIRE(renumber.exit_code == 0);
  auto second = user.clamfetch({"-v"});
  INFO(second.err);
  CHECK(contains(second.err, "UIDVALIDITY of INBOX changed"));
  CHECK(second.exit_code == 1);
  seed(servers, {"after@imap"});
  auto third = user.clamfetch({"-v"});
  INFO(third.err);
  CHECK(third.exit_code == 0);
  servers.wait_queue_empty();
  auto counts = count_message_ids(servers.delivered("virtualuser1"));
  CHECK(counts["kept-1@imap"] == 1);
  CHECK(counts["kept-2@imap"] == 1);
  CHECK(counts["after@imap"] == 1);
  CHECK(servers.remote_messages("pop3userid1").size() == 3);
}

TEST_CASE("clamfetch -c before the first run changes nothing: the first run still leaves seen mail alone") {
  MailServers servers;
  ClamfetchUser user(servers);
  seed(servers, {"read-before@imap", "unread@imap"});
  flags(servers, "add", "\\Seen", 1);
  user.write_rc(user.standard_rc("imap", "implicit"));  // nokeep
  auto check = user.clamfetch({"-c"});
  INFO(check.err);
  CHECK(check.exit_code == 0);  // mail waits
  // A -c that saved the folder's state made the real first run no first run: the old, read
  // message was delivered and deleted.
  auto r = user.clamfetch({"-v"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  servers.wait_queue_empty();
  auto counts = count_message_ids(servers.delivered("virtualuser1"));
  CHECK(counts["read-before@imap"] == 0);
  CHECK(counts["unread@imap"] == 1);
  CHECK(remote_count(servers, "read-before@imap") == 1);
}

TEST_CASE("IMAP UIDVALIDITY change without keep: mail still on the server is delivered even if read meanwhile") {
  MailServers servers;
  ClamfetchUser user(servers);
  seed(servers, {"waiting@imap"});
  user.write_rc(user.standard_rc("imap", "implicit"));  // nokeep
  servers.stop_postfix();
  auto down = user.clamfetch({"-v"});   // the MTA is down: the message stays, undelivered
  INFO(down.err);
  CHECK(down.exit_code == 10);
  servers.start_postfix();
  flags(servers, "add", "\\Seen", 1);   // read in webmail meanwhile
  auto renumber = run({"doveadm", "-c", servers.env("DOVECOT_CONF"), "mailbox", "update", "-u",
                       "pop3userid1", "--uid-validity", "4242", "INBOX"});
  REQUIRE(renumber.exit_code == 0);
  auto r = user.clamfetch({"-v"});
  INFO(r.err);
  CHECK(contains(r.err, "UIDVALIDITY of INBOX changed"));
  CHECK(r.exit_code == 0);
  servers.wait_queue_empty();
  CHECK(count_message_ids(servers.delivered("virtualuser1"))["waiting@imap"] == 1);
  CHECK(remote_count(servers, "waiting@imap") == 0);
}
