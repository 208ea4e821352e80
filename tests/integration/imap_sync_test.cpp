// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Issue 21, point 1: IMAP polls that ask only for what changed, against the fixture's real
// Dovecot (with CONDSTORE/QRESYNC, its default, and with both hidden) and Postfix, through
// the clamfetch binary. The protocol trace (-v -v) shows what was sent: an unchanged folder
// costs a SELECT and no FETCH; new mail after many kept messages is listed from the first
// new UID on; a message another client expunged leaves the UID store. Every command added
// for this (ENABLE, SELECT parameters, UID SEARCH, UID FETCH n:*) is checked against the
// strict grammar of tests/fake/grammar.hpp as it was sent.

#include <catch2/catch.hpp>

#include <dirent.h>

#include <sstream>
#include <string>
#include <vector>

#include "fake/grammar.hpp"
#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;
namespace grammar = clamfetch::test::grammar;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// Seeds `count` messages "<tag><i>@sync" into pop3userid1's INBOX (UIDs in order), indexed.
void seed(const MailServers& servers, const std::string& tag, int count) {
  std::vector<std::string> messages;
  for (int i = 0; i < count; ++i) messages.push_back(make_message(tag + std::to_string(i) + "@sync", 300));
  servers.seed("pop3userid1", messages);
  auto r = run({"doveadm", "-c", servers.env("DOVECOT_CONF"), "mailbox", "status", "-u", "pop3userid1",
                "messages", "INBOX"});
  REQUIRE(r.exit_code == 0);
}

/// Another client expunges INBOX message `uid`.
void expunge(const MailServers& servers, int uid) {
  auto r = run({"doveadm", "-c", servers.env("DOVECOT_CONF"), "expunge", "-u", "pop3userid1",
                "mailbox", "INBOX", "uid", std::to_string(uid)});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

/// The commands clamfetch sent, from its -v -v trace ("account: IMAP> 3 SELECT INBOX").
std::vector<std::string> sent_commands(const std::string& trace) {
  std::vector<std::string> out;
  std::istringstream lines(trace);
  for (std::string line; std::getline(lines, line);) {
    std::size_t at = line.find(": IMAP> ");
    if (at != std::string::npos) out.push_back(line.substr(at + 8));
  }
  return out;
}

/// Every command of the trace that starts with `verb` (after the tag), e.g. "UID FETCH".
std::vector<std::string> commands(const std::string& trace, const std::string& verb) {
  std::vector<std::string> out;
  for (const auto& c : sent_commands(trace)) {
    std::size_t space = c.find(' ');
    if (space != std::string::npos && c.compare(space + 1, verb.size(), verb) == 0) out.push_back(c);
  }
  return out;
}

/// The commands this feature sends, checked byte for byte as the server got them.
void check_grammar(const std::string& trace) {
  for (const std::string verb : {"SELECT", "ENABLE", "UID FETCH", "UID SEARCH"}) {
    for (const auto& c : commands(trace, verb)) {
      INFO(c);
      CHECK(grammar::imap_checker()(c + "\r\n").empty());
    }
  }
}

/// The "uid" lines of the account's UID store file (not its journal or sync state).
std::string store_uid_lines(const ClamfetchUser& user) {
  std::string dir = user.home() + "/uids";
  std::string out;
  DIR* d = opendir(dir.c_str());
  REQUIRE(d != nullptr);
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.size() != 64) continue;  // the store itself: a SHA-256 in hex, no suffix
    std::istringstream lines(read_file(dir + "/" + name));
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("uid ", 0) == 0) out += line + "\n";
    }
  }
  closedir(d);
  return out;
}

}  // namespace

TEST_CASE("IMAP keep with QRESYNC: unchanged folder without FETCH, new mail by UID range, VANISHED prunes") {
  MailServers servers;
  ClamfetchUser user(servers);
  seed(servers, "old", 40);
  user.write_rc(user.standard_rc("imap", "implicit", "  keep = true\n"));
  auto first = user.clamfetch({"-v"});
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(contains(store_uid_lines(user), "uid k 7 "));

  // Nothing changed: one SELECT (CONDSTORE), no FETCH at all.
  auto empty = user.clamfetch({"-v", "-v"});
  INFO(empty.err);
  CHECK(empty.exit_code == 1);
  CHECK(commands(empty.err, "ENABLE QRESYNC").size() == 1);
  auto selects = commands(empty.err, "SELECT");
  REQUIRE(selects.size() == 1);
  CHECK(contains(selects[0], "CONDSTORE"));
  CHECK(commands(empty.err, "UID FETCH").empty());
  CHECK(commands(empty.err, "UID SEARCH").empty());
  check_grammar(empty.err);

  // New mail after the 40 kept messages: listed from UID 41 on, the old ones not again.
  seed(servers, "new", 2);
  auto fresh = user.clamfetch({"-v", "-v"});
  INFO(fresh.err);
  CHECK(fresh.exit_code == 0);
  auto fetches = commands(fresh.err, "UID FETCH");
  REQUIRE_FALSE(fetches.empty());
  CHECK(contains(fetches[0], "UID FETCH 41:* (UID RFC822.SIZE FLAGS)"));
  for (const auto& f : fetches) CHECK_FALSE(contains(f, "FETCH 1:*"));
  check_grammar(fresh.err);
  servers.wait_queue_empty();
  auto counts = count_message_ids(servers.delivered("virtualuser1"));
  CHECK(counts.size() == 42);
  for (const auto& [id, n] : counts) CHECK(n == 1);

  // Another client expunges message 7: EXISTS drops, QRESYNC's VANISHED (EARLIER) says
  // which, the store forgets it; nothing is listed.
  expunge(servers, 7);
  auto pruned = user.clamfetch({"-v", "-v"});
  INFO(pruned.err);
  CHECK(pruned.exit_code == 1);
  fetches = commands(pruned.err, "UID FETCH");
  REQUIRE(fetches.size() == 1);
  CHECK(contains(fetches[0], "UID FETCH 1:42 (UID) (CHANGEDSINCE "));
  CHECK(contains(fetches[0], " VANISHED)"));
  CHECK(commands(pruned.err, "UID SEARCH").empty());
  check_grammar(pruned.err);
  std::string uids = store_uid_lines(user);
  CHECK_FALSE(contains(uids, "uid k 7 "));
  CHECK(contains(uids, "uid k 8 "));
  CHECK(contains(uids, "uid k 42 "));
}

TEST_CASE("IMAP keep without CONDSTORE or QRESYNC: plain SELECT, EXISTS tells a deletion, UID SEARCH prunes") {
  MailServers servers(MailServers::Options{.imap_qresync = false});
  ClamfetchUser user(servers);
  seed(servers, "old", 5);
  user.write_rc(user.standard_rc("imap", "implicit", "  keep = true\n"));
  auto first = user.clamfetch({"-v"});
  INFO(first.err);
  REQUIRE(first.exit_code == 0);

  auto empty = user.clamfetch({"-v", "-v"});
  INFO(empty.err);
  CHECK(empty.exit_code == 1);
  auto selects = commands(empty.err, "SELECT");
  REQUIRE(selects.size() == 1);
  CHECK_FALSE(contains(selects[0], "("));  // the capabilities really are hidden
  CHECK(commands(empty.err, "ENABLE").empty());
  CHECK(commands(empty.err, "UID FETCH").empty());
  CHECK(commands(empty.err, "UID SEARCH").empty());

  // One message expunged elsewhere and one new: EXISTS stays 5, but only one of them is new,
  // so the folder's UIDs are asked for once and the store forgets UID 2.
  expunge(servers, 2);
  seed(servers, "new", 1);
  auto changed = user.clamfetch({"-v", "-v"});
  INFO(changed.err);
  CHECK(changed.exit_code == 0);
  auto fetches = commands(changed.err, "UID FETCH");
  REQUIRE_FALSE(fetches.empty());
  CHECK(contains(fetches[0], "UID FETCH 6:* (UID RFC822.SIZE FLAGS)"));
  CHECK(commands(changed.err, "UID SEARCH").size() == 1);
  check_grammar(changed.err);
  std::string uids = store_uid_lines(user);
  CHECK_FALSE(contains(uids, "uid k 2 "));
  CHECK(contains(uids, "uid k 6 "));
  servers.wait_queue_empty();
  auto counts = count_message_ids(servers.delivered("virtualuser1"));
  CHECK(counts.size() == 6);
  for (const auto& [id, n] : counts) CHECK(n == 1);
}
