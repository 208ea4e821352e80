// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Quarantine, release and --scan, against the real Dovecot + Postfix and libclamav, with
// clamfetch run as the fixture's unprivileged user.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "data/corpus/scan_corpus.hpp"
#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The false-positive marker of the test signatures, spelled out in two halves.
std::string fp_marker() { return std::string("CLAMFETCH-FALSE-") + "POSITIVE-MARKER"; }

std::string false_positive(const std::string& id) {
  std::string msg = make_message(id, 500);
  return msg + "Quarterly figures attached. " + fp_marker() + "\r\n";
}

std::vector<std::string> ids_in(const std::string& listing) {
  std::vector<std::string> ids;
  std::regex line("^([0-9a-f]{12})  ");
  std::istringstream in(listing);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_search(l, m, line)) ids.push_back(m[1]);
  }
  return ids;
}

std::string id_of(const std::string& listing, const std::string& virus) {
  std::istringstream in(listing);
  for (std::string l; std::getline(in, l);) {
    if (contains(l, virus)) return l.substr(0, 12);
  }
  return "";
}

std::size_t count_with(const std::vector<std::string>& files, const std::string& needle) {
  return std::count_if(files.begin(), files.end(), [&](const auto& f) { return contains(f, needle); });
}

// Rebuilds a Dovecot Maildir's UID list the way a restore or migration does: the list and
// indexes go, so numbering starts at UID 1 again. With `keep_uidvalidity` the new list keeps
// the old UIDVALIDITY (POP3 UIDLs here are UID + UIDVALIDITY: the next message then reuses
// the first UIDL); without it Dovecot picks a new UIDVALIDITY.
void rebuild_uid_list(const std::string& maildir, bool keep_uidvalidity) {
  std::string header = read_file(maildir + "/dovecot-uidlist");
  header = header.substr(0, header.find('\n'));
  std::smatch v;
  REQUIRE(std::regex_search(header, v, std::regex(" (V[0-9]+) ")));
  struct stat owner {};
  REQUIRE(stat(maildir.c_str(), &owner) == 0);
  for (const auto& entry : fs::directory_iterator(maildir)) {
    std::string name = entry.path().filename().string();
    if (name == "dovecot-uidlist" || name.rfind("dovecot.index", 0) == 0) fs::remove(entry.path());
  }
  if (!keep_uidvalidity) return;
  std::string list = maildir + "/dovecot-uidlist";
  std::ofstream(list) << "3 " << v[1] << " N1\n";
  REQUIRE(chown(list.c_str(), owner.st_uid, owner.st_gid) == 0);
}

// The uid= of the first "delivery" log line in a -v run's stderr.
std::string delivered_uid(const std::string& err) {
  std::smatch m;
  return std::regex_search(err, m, std::regex("delivery account=\\S+ uid=(\\S+) ")) ? m[1].str() : "";
}

}  // namespace

TEST_CASE("infected and false-positive mail is quarantined, listed, released, deleted") {
  MailServers servers;
  ClamfetchUser user(servers);
  std::string fp = false_positive("fp1@q");
  servers.seed("pop3userid1", infected_message("eicar1@q"));
  servers.seed("pop3userid1", fp);
  user.write_rc(user.standard_rc());

  auto run1 = user.clamfetch({"-v"});
  INFO(run1.err);
  REQUIRE(run1.exit_code == 0);
  servers.wait_queue_empty();
  CHECK(servers.delivered("virtualuser1").empty());
  auto reports = servers.delivered("postmaster");
  REQUIRE(reports.size() == 2);
  CHECK(servers.remote_messages("pop3userid1").empty());

  auto list = user.clamfetch({"--quarantine"});
  INFO(list.out);
  CHECK(list.exit_code == 0);
  auto ids = ids_in(list.out);
  REQUIRE(ids.size() == 2);
  std::string fp_id = id_of(list.out, "Clamfetch.Test.FalsePositive");
  std::string eicar_id = id_of(list.out, "Clamfetch.Test.EICAR");
  REQUIRE(!fp_id.empty());
  REQUIRE(!eicar_id.empty());
  // Each report names its quarantine id and the command that releases it.
  CHECK(count_with(reports, "clamfetch --release " + fp_id) == 1);
  CHECK(count_with(reports, "clamfetch --release " + eicar_id) == 1);

  // Files: directory 0700, entries 0600.
  std::string qdir = user.home() + "/quarantine";
  struct stat st {};
  REQUIRE(stat(qdir.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  REQUIRE(stat((qdir + "/" + fp_id + ".eml").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  auto show = user.clamfetch({"--quarantine-show", fp_id});
  CHECK(show.exit_code == 0);
  CHECK(contains(show.out, "Message-ID: <fp1@q>"));
  CHECK(contains(show.out, "Virus Name: Clamfetch.Test.FalsePositive"));

  // Release with Postfix down: exit 10, entry kept.
  servers.stop_postfix();
  auto down = user.clamfetch({"--release", fp_id});
  CHECK(down.exit_code == 10);
  CHECK(ids_in(user.clamfetch({"--quarantine"}).out).size() == 2);
  servers.start_postfix();

  auto released = user.clamfetch({"--release", fp_id});
  INFO(released.err);
  CHECK(released.exit_code == 0);
  servers.wait_queue_empty();
  auto got = servers.delivered("virtualuser1");
  REQUIRE(got.size() == 1);
  CHECK(contains(got[0], "X-Virus-Status: Released (Clamfetch.Test.FalsePositive"));
  CHECK(body_of(lf_to_crlf(got[0])) == body_of(fp));
  auto after = ids_in(user.clamfetch({"--quarantine"}).out);
  CHECK(after == std::vector<std::string>{eicar_id});

  auto unknown = user.clamfetch({"--release", "0123456789ab"});
  CHECK(unknown.exit_code == 1);
  CHECK(contains(unknown.err, "no quarantined message with id 0123456789ab"));

  CHECK(user.clamfetch({"--quarantine-delete", "--all"}).exit_code == 0);
  auto empty = user.clamfetch({"--quarantine"});
  CHECK(contains(empty.out, "quarantine is empty"));
}

TEST_CASE("a run killed after the report but before the acknowledge sends no second report") {
  MailServers servers;
  ClamfetchUser user(servers);
  servers.seed("pop3userid1", infected_message("eicar2@q"));
  user.write_rc(user.standard_rc());
  // -k leaves it on the server as a kill before DELE/QUIT would; removing the UID store
  // makes the next run see it as new, exactly as a kill before the UID record would.
  REQUIRE(user.clamfetch({"-k"}).exit_code == 0);
  servers.wait_queue_empty();
  REQUIRE(servers.delivered("postmaster").size() == 1);
  fs::remove_all(user.home() + "/uids");
  REQUIRE(servers.remote_messages("pop3userid1").size() == 1);

  auto second = user.clamfetch({"-v"});
  INFO(second.err);
  CHECK(second.exit_code == 0);
  CHECK(contains(second.err, "already quarantined"));
  servers.wait_queue_empty();
  CHECK(servers.delivered("postmaster").size() == 1);
  CHECK(servers.remote_messages("pop3userid1").empty());
}

TEST_CASE("killed right after the report 2xx - the next run only acknowledges") {
  MailServers servers;
  ClamfetchUser user(servers);
  servers.seed("pop3userid1", infected_message("eicar3@q"));
  user.write_rc(user.standard_rc());
  // The test hook SIGKILLs clamfetch after the first 2xx (the postmaster report), before
  // the UID record and the DELE: the quarantine entry exists, the server still has the mail.
  auto killed = run({clamfetch_binary()}, servers.env("TEST_USER"),
                    {{"CLAMFETCH_HOME", user.home()}, {"CLAMFETCH_TEST_KILL_AT", "after_2xx:1"}});
  CHECK(killed.exit_code == 128 + 9);
  servers.wait_queue_empty();
  REQUIRE(servers.delivered("postmaster").size() == 1);
  REQUIRE(servers.remote_messages("pop3userid1").size() == 1);

  auto next = user.clamfetch({"-v"});
  INFO(next.err);
  CHECK(next.exit_code == 0);
  CHECK(contains(next.err, "already quarantined"));
  servers.wait_queue_empty();
  CHECK(servers.delivered("postmaster").size() == 1);
  CHECK(servers.remote_messages("pop3userid1").empty());
  CHECK(ids_in(user.clamfetch({"--quarantine"}).out).size() == 1);
}

// Runs `first`, then `second` (another infected message of the same size) after the UID list
// was rebuilt: both must be quarantined and reported, whatever UID the second one gets.
static void quarantine_both_across_rebuild(const std::string& protocol, bool keep_uidvalidity) {
  MailServers servers;
  ClamfetchUser user(servers);
  std::string first = infected_message("reuse-a@q");
  std::string second = infected_message("reuse-b@q");
  REQUIRE(first.size() == second.size());
  REQUIRE(first != second);
  servers.seed("pop3userid1", first);
  user.write_rc(user.standard_rc(protocol));
  auto run1 = user.clamfetch({"-v"});
  INFO(run1.err);
  REQUIRE(run1.exit_code == 0);
  servers.wait_queue_empty();
  REQUIRE(servers.delivered("postmaster").size() == 1);
  REQUIRE(servers.remote_messages("pop3userid1").empty());
  // A run over the empty mailbox: the UID leaves clamfetch's store (as it does in real life
  // long before a reuse), so only the quarantine could mistake the next message for this one.
  REQUIRE(user.clamfetch({}).exit_code == 1);

  rebuild_uid_list(servers.dir() + "/remote/pop3userid1", keep_uidvalidity);
  servers.seed("pop3userid1", second);
  auto run2 = user.clamfetch({"-v"});
  INFO(run2.err);
  CHECK(run2.exit_code == 0);
  // Same UID (and for POP3 the very same UIDL), same size: the case the fix is about.
  CHECK(delivered_uid(run2.err) == delivered_uid(run1.err));
  CHECK_FALSE(contains(run2.err, "already quarantined"));
  servers.wait_queue_empty();
  auto reports = servers.delivered("postmaster");
  REQUIRE(reports.size() == 2);
  CHECK(count_with(reports, "reuse-b@q") == 1);
  auto ids = ids_in(user.clamfetch({"--quarantine"}).out);
  CHECK(ids.size() == 2);
  int stored_second = 0;
  for (const auto& id : ids) stored_second += contains(user.clamfetch({"--quarantine-show", id}).out, "<reuse-b@q>");
  CHECK(stored_second == 1);
  CHECK(servers.remote_messages("pop3userid1").empty());
}

TEST_CASE("IMAP UIDVALIDITY reset: another infected message with the same UID and size is quarantined too") {
  quarantine_both_across_rebuild("imap", false);
}

TEST_CASE("POP3 UIDL reused: another infected message with the same UIDL and size is quarantined too") {
  quarantine_both_across_rebuild("pop3", true);
}

TEST_CASE("quarantine_keep expires old entries and only those") {
  MailServers servers;
  ClamfetchUser user(servers);
  servers.seed("pop3userid1", infected_message("old@q"));
  servers.seed("pop3userid1", false_positive("new@q"));
  user.write_rc(user.standard_rc("pop3", "implicit", "", "") + "");
  REQUIRE(user.clamfetch({}).exit_code == 0);
  auto list = user.clamfetch({"--quarantine"}).out;
  std::string old_id = id_of(list, "Clamfetch.Test.EICAR");
  std::string new_id = id_of(list, "Clamfetch.Test.FalsePositive");
  REQUIRE(!old_id.empty());
  // Age one entry by 31 days.
  std::string meta = user.home() + "/quarantine/" + old_id + ".meta";
  std::string text = read_file(meta);
  auto pos = text.find("date=");
  auto end = text.find('\n', pos);
  long date = std::stol(text.substr(pos + 5, end - pos - 5));
  text.replace(pos, end - pos, "date=" + std::to_string(date - 31L * 86400));
  std::ofstream(meta, std::ios::trunc) << text;

  auto run = user.clamfetch({});
  INFO(run.err);
  CHECK(contains(run.err, "quarantine: expired " + old_id));
  CHECK(ids_in(user.clamfetch({"--quarantine"}).out) == std::vector<std::string>{new_id});
  CHECK_FALSE(fs::exists(user.home() + "/quarantine/" + old_id + ".eml"));
}

TEST_CASE("scan prints clamscan's lines and exit codes, and the allowlist decision") {
  MailServers servers;
  ClamfetchUser user(servers);
  user.write_rc(user.standard_rc() + "");
  std::string dir = user.home();
  std::ofstream(dir + "/clean.eml") << make_message("c@scan", 1000);
  std::ofstream(dir + "/virus.eml") << infected_message("v@scan");
  auto clean = user.clamfetch({"--scan", dir + "/clean.eml"});
  CHECK(clean.exit_code == 0);
  CHECK(contains(clean.out, dir + "/clean.eml: OK"));
  auto found = user.clamfetch({"--scan", dir + "/clean.eml", dir + "/virus.eml"});
  CHECK(found.exit_code == 1);
  CHECK(contains(found.out, dir + "/virus.eml: Clamfetch.Test.EICAR.UNOFFICIAL FOUND"));
  auto missing = user.clamfetch({"--scan", dir + "/nope.eml"});
  CHECK(missing.exit_code == 2);

  std::string rc = user.standard_rc();
  rc.replace(rc.find("[scan]\n"), 7, "[scan]\nallowlist = [\"To:^trusted@example\\\\.com$\", \"From:^scanner@lab\\\\.example$\"]\n");
  user.write_rc(rc);
  auto to = user.clamfetch({"--scan", "--rcpt", "trusted@example.com", dir + "/clean.eml"});
  CHECK(contains(to.out, "allowlisted, would not be scanned"));
  auto mixed = user.clamfetch({"--scan", "--rcpt", "trusted@example.com", "--rcpt", "other@example.com", dir + "/clean.eml"});
  CHECK(contains(mixed.out, "would be scanned"));
  auto from = user.clamfetch({"--scan", "--sender", "scanner@lab.example", "--rcpt", "other@example.com", dir + "/clean.eml"});
  CHECK(contains(from.out, "allowlisted, would not be scanned"));
}

TEST_CASE("scan over the scan corpus gives the in-process verdicts in clamscan's form") {
  MailServers servers;
  ClamfetchUser user(servers);
  user.write_rc(user.standard_rc());
  std::vector<std::string> args{"--scan"};
  std::map<std::string, std::string> expected;
  int n = 0;
  auto add = [&](const std::string& message, const std::string& verdict) {
    std::string path = user.home() + "/corpus" + std::to_string(n++) + ".eml";
    std::ofstream(path, std::ios::binary) << message;
    args.push_back(path);
    expected[path] = verdict;
  };
  // Names as the in-process scanner gives them; unsigned databases may append ".UNOFFICIAL".
  for (const auto& c : clamfetch::test::corpus::infected_cases()) add(c.message, c.expected);
  for (const auto& m : clamfetch::test::corpus::clean_messages(30)) add(m, "OK");
  auto r = user.clamfetch(args);
  INFO(r.err);
  CHECK(r.exit_code == 1);  // something was found
  std::map<std::string, std::string> got;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    auto colon = line.find(": ");
    if (colon != std::string::npos) got[line.substr(0, colon)] = line.substr(colon + 2);
  }
  CHECK(got.size() == expected.size());
  for (const auto& [path, verdict] : expected) {
    INFO(path << " expected " << verdict << " got " << got[path]);
    if (verdict == "OK") {
      CHECK(got[path] == "OK");
    } else {
      CHECK(got[path].rfind(verdict, 0) == 0);
      CHECK(got[path].ends_with(" FOUND"));
    }
  }
}
