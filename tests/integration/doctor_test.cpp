// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// clamfetch --doctor against the real Dovecot, Postfix and libclamav: every step of a good
// setup passes and leaves the mailbox and the MTA untouched; each broken piece (CA, password,
// recipient, database, MTA, a database without EICAR) is named with its fetchmail exit code.
#include <catch2/catch.hpp>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  if (pos == std::string::npos) throw std::runtime_error("not in rc: " + from);
  return text.replace(pos, from.size(), to);
}

/// A file or directory in the clamfetch user's home, owned by that user.
void give_to_user(const MailServers& servers, const std::string& path) {
  const passwd* pw = getpwnam(servers.env("TEST_USER").c_str());
  if (pw == nullptr) throw std::runtime_error("no test user");
  for (const auto& p : fs::recursive_directory_iterator(path)) {
    if (chown(p.path().c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown");
  }
  if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown");
}

/// A signature directory in the user's home holding one .ndb file with `line`.
std::string database_with(const MailServers& servers, const ClamfetchUser& user, const std::string& line) {
  std::string dir = user.home() + "/db";
  fs::create_directories(dir);
  std::ofstream(dir + "/custom.ndb") << line << "\n";
  give_to_user(servers, dir);
  return dir;
}

/// Maildir files of the remote user whose flags include S (\Seen).
int seen_files(const MailServers& servers, const std::string& user) {
  int n = 0;
  for (const char* sub : {"/new", "/cur"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(servers.env("REMOTE") + "/" + user + sub, ec)) {
      std::string name = e.path().filename().string();
      auto flags = name.find(":2,");
      if (flags != std::string::npos && name.find('S', flags) != std::string::npos) ++n;
    }
  }
  return n;
}

RunResult doctor(const ClamfetchUser& user) { return user.clamfetch({"--doctor", "-f", user.rc_path()}); }

}  // namespace

TEST_CASE("doctor: a good setup passes every step and changes nothing (POP3 and IMAP, implicit TLS and STARTTLS)") {
  MailServers servers;
  ClamfetchUser user(servers);
  servers.seed("pop3userid1", {make_message("doctor-1@test", 500), make_message("doctor-2@test", 700)});

  user.write_rc(user.standard_rc("pop3", "implicit"));
  RunResult pop = doctor(user);
  INFO(pop.out << pop.err);
  CHECK(pop.exit_code == 0);
  CHECK_FALSE(contains(pop.out, " FAIL "));
  CHECK(contains(pop.out, "pop3userid1@localhost dns      OK   localhost ->"));
  CHECK(contains(pop.out, "pop3userid1@localhost connect  OK   localhost:" + servers.env("POP3S_PORT")));
  CHECK(contains(pop.out, "pop3userid1@localhost tls      OK   TLSv1."));
  CHECK(contains(pop.out, "host name localhost verified"));
  CHECK(contains(pop.out, "pop3userid1@localhost login    OK   pop3userid1 logged in with "));
  CHECK(contains(pop.out, "pop3userid1@localhost folder   OK   INBOX: 2 messages, "));
  CHECK(contains(pop.out, "pop3userid1@localhost mta      OK   127.0.0.1:" + servers.env("SMTP_PORT") + ": 220 "));
  CHECK(contains(pop.out, "pop3userid1@localhost rcpt     OK   <virtualuser1@example.com>: 250 "));
  CHECK(contains(pop.out, "scanner eicar    OK   EICAR test message detected as "));
  CHECK(contains(pop.out, "state dir      OK   "));

  user.write_rc(user.standard_rc("imap", "implicit"));
  RunResult imap = doctor(user);
  INFO(imap.out << imap.err);
  CHECK(imap.exit_code == 0);
  CHECK(contains(imap.out, "pop3userid1@localhost login    OK   pop3userid1 logged in with LOGIN"));
  CHECK(contains(imap.out, "pop3userid1@localhost folder   OK   INBOX: 2 messages, 2 unseen"));

  // STARTTLS: the facts are those of the upgraded session.
  for (const std::string protocol : {"pop3", "imap"}) {
    user.write_rc(user.standard_rc(protocol, "starttls"));
    RunResult r = doctor(user);
    INFO(protocol << " STARTTLS\n" << r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "pop3userid1@localhost tls      OK   TLSv1."));
    CHECK(contains(r.out, "pop3userid1@localhost folder   OK   INBOX: 2 messages"));
  }

  // Nothing fetched, marked or deleted; nothing delivered.
  CHECK(servers.remote_messages("pop3userid1").size() == 2);
  CHECK(seen_files(servers, "pop3userid1") == 0);
  servers.wait_queue_empty();
  CHECK(servers.delivered("virtualuser1").empty());
  CHECK(servers.delivered("postmaster").empty());
}

TEST_CASE("doctor: a CA that did not sign the server's certificate fails at TLS, exit 2") {
  MailServers servers;
  ClamfetchUser user(servers);
  std::string other = user.home() + "/other-ca";
  fs::create_directories(other);
  fs::copy_file(servers.env("OTHER_CA_FILE"), other + "/ca.pem");
  give_to_user(servers, other);
  user.write_rc(replaced(user.standard_rc("pop3", "implicit"), user.home() + "/ca.pem", other + "/ca.pem"));
  RunResult r = doctor(user);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.out, "pop3userid1@localhost tls      FAIL certificate verify failed"));
  CHECK(contains(r.out, "; the server presents subject CN=localhost; issuer CN=clamfetch test CA; expires "));
  CHECK(contains(r.out, "change: ca_file must name the CA that signed the server's certificate"));
  CHECK_FALSE(contains(r.out, "login    "));  // nothing sent after TLS failed
}

TEST_CASE("doctor: a wrong password fails at login, exit 3, and the password is not shown") {
  MailServers servers;
  ClamfetchUser user(servers);
  user.write_rc(replaced(user.standard_rc("pop3", "implicit"), "pop3password1", "wrong-secret-77"));
  RunResult r = doctor(user);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 3);
  CHECK(contains(r.out, "pop3userid1@localhost tls      OK   "));
  CHECK(contains(r.out, "pop3userid1@localhost login    FAIL authentication failed"));
  CHECK(contains(r.out, "change: username = \"pop3userid1\" and its password"));
  CHECK_FALSE(contains(r.out + r.err, "wrong-secret-77"));
}

TEST_CASE("doctor: an unknown is address is named with Postfix's 550 reply, exit 10") {
  MailServers servers;
  ClamfetchUser user(servers);
  user.write_rc(replaced(user.standard_rc("pop3", "implicit"), "is = \"virtualuser1@example.com\"",
                         "is = [\"virtualuser1@example.com\", \"nosuchuser@example.com\"]"));
  RunResult r = doctor(user);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 10);
  CHECK(contains(r.out, "rcpt     OK   <virtualuser1@example.com>: 250 "));
  CHECK(contains(r.out, "rcpt     FAIL <nosuchuser@example.com>: 550 5.1.1 <nosuchuser@example.com>: "
                        "Recipient address rejected: User unknown in virtual mailbox table"));
  CHECK(contains(r.out, "change: is = \"nosuchuser@example.com\""));
  servers.wait_queue_empty();
  CHECK(servers.delivered("virtualuser1").empty());
}

TEST_CASE("doctor: an unreadable signature database fails at the scanner, exit 23") {
  MailServers servers;
  ClamfetchUser user(servers);
  std::string db = database_with(servers, user, "Clamfetch.Test.Other:0:*:636c616d66657463682d6e6f7468696e67");
  chmod((db + "/custom.ndb").c_str(), 0);
  user.write_rc(replaced(user.standard_rc("pop3", "implicit"), CLAMFETCH_SOURCE_DIR "/tests/data/signatures", db));
  RunResult r = doctor(user);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 23);
  CHECK(contains(r.out, "scanner eicar    FAIL EICAR test message not scanned: "));
  CHECK(contains(r.out, "pop3userid1@localhost login    OK"));  // the account's steps still ran
}

TEST_CASE("doctor: Postfix stopped fails at the MTA, exit 10") {
  MailServers servers;
  ClamfetchUser user(servers);
  user.write_rc(user.standard_rc("pop3", "implicit"));
  servers.stop_postfix();
  RunResult r = doctor(user);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 10);
  CHECK(contains(r.out, "pop3userid1@localhost mta      FAIL connect to 127.0.0.1:" + servers.env("SMTP_PORT")));
  CHECK(contains(r.out, "change: smtphost = \"127.0.0.1:" + servers.env("SMTP_PORT") + "\""));
  CHECK(contains(r.out, "scanner eicar    OK"));  // later steps still ran
}

TEST_CASE("doctor: a database that does not detect EICAR is a failure, exit 23") {
  MailServers servers;
  ClamfetchUser user(servers);
  std::string db = database_with(servers, user, "Clamfetch.Test.Other:0:*:636c616d66657463682d6e6f7468696e67");
  user.write_rc(replaced(user.standard_rc("pop3", "implicit"), CLAMFETCH_SOURCE_DIR "/tests/data/signatures", db));
  RunResult r = doctor(user);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 23);
  CHECK(contains(r.out, "scanner database OK   " + db + ": no official database"));
  CHECK(contains(r.out, "scanner eicar    FAIL EICAR test message NOT detected"));
}
