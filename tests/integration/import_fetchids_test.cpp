// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Issue 20, point 2: switching from fetchmail without a flood. Debian's fetchmail polls the
// real Dovecot over POP3S in keep mode and delivers to the real Postfix; then
// `clamfetch --import-fetchmailrc` converts its rc file and imports its .fetchids, and the
// first clamfetch run delivers nothing again; mail that arrives afterwards is delivered once.

#include <catch2/catch.hpp>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;

namespace {

void write_as(const std::string& path, const std::string& text, const std::string& owner, mode_t mode) {
  std::ofstream(path, std::ios::binary) << text;
  const passwd* pw = getpwnam(owner.c_str());
  REQUIRE(pw != nullptr);
  REQUIRE(chown(path.c_str(), pw->pw_uid, pw->pw_gid) == 0);
  REQUIRE(chmod(path.c_str(), mode) == 0);
}

// fetchmail's own rc file for the fixture: POP3S, keep, certificate checked against the
// fixture's CA (fetchmail ignores IP SANs: poll localhost), Postfix as the SMTP host.
std::string fetchmailrc(const MailServers& servers, const std::string& ca) {
  return "set postmaster \"postmaster@example.com\"\nset no bouncemail\n"
         "poll localhost with protocol POP3 port " + servers.env("POP3S_PORT") + " uidl\n"
         "  user \"pop3userid1\" there with password \"pop3password1\" is \"virtualuser1@example.com\" here\n"
         "  options keep ssl sslcertck sslcertfile \"" + ca + "\"\n"
         "  smtphost 127.0.0.1/" + servers.env("SMTP_PORT") + "\n";
}

// The converted rc with the test signature database (the converted one names the system's,
// which has no signatures here: every message would be deferred, and "delivered nothing"
// would prove nothing).
std::string with_test_database(std::string toml) {
  return toml + "\n[scan]\ndatabase = \"" CLAMFETCH_SOURCE_DIR "/tests/data/signatures\"\n";
}

}  // namespace

TEST_CASE("fetchmail's .fetchids imported: the first clamfetch run delivers nothing, new mail once") {
  MailServers servers;
  ClamfetchUser user(servers);
  const std::string test_user = servers.env("TEST_USER");
  servers.seed("pop3userid1", {make_message("fm-1@test", 300), make_message("fm-2@test", 400),
                               make_message("fm-3@test", 500)});

  // fetchmail delivers the three and keeps them on the server, remembering their UIDLs.
  const std::string fm_rc = user.home() + "/fetchmailrc";
  const std::string ids = user.home() + "/fetchids";
  write_as(fm_rc, fetchmailrc(servers, user.home() + "/ca.pem"), test_user, 0700);
  auto fm = run({"/usr/bin/fetchmail", "-f", fm_rc, "--idfile", ids, "--pidfile", user.home() + "/fm.pid",
                 "--nosyslog", "--nodetach"},
                test_user, {{"HOME", user.home()}, {"FETCHMAILHOME", user.home()}});
  INFO("fetchmail: " << fm.out << fm.err);
  REQUIRE(fm.exit_code == 0);
  servers.wait_queue_empty();
  REQUIRE(servers.delivered("virtualuser1").size() == 3);
  REQUIRE(servers.remote_messages("pop3userid1").size() == 3);
  INFO(".fetchids: " << read_file(ids));

  // The switch: convert the rc file and import the UIDs.
  auto imported = run({clamfetch_binary(), "--import-fetchmailrc", fm_rc, "--fetchids", ids}, test_user,
                      {{"CLAMFETCH_HOME", user.home()}});
  INFO("import: " << imported.err);
  REQUIRE(imported.exit_code == 0);
  CHECK(imported.err.find("imported 3 UIDs for pop3userid1@localhost\n") != std::string::npos);
  user.write_rc(with_test_database(imported.out));

  // The first clamfetch run: everything on the server was delivered by fetchmail already.
  auto first = user.clamfetch({"-v"});
  INFO("first run: " << first.err);
  CHECK(first.exit_code == 1);
  servers.wait_queue_empty();
  CHECK(servers.delivered("virtualuser1").size() == 3);

  // New mail after the switch is delivered, once.
  servers.seed("pop3userid1", make_message("after-switch@test", 600));
  auto second = user.clamfetch({"-v"});
  INFO("second run: " << second.err);
  CHECK(second.exit_code == 0);
  auto third = user.clamfetch({});
  CHECK(third.exit_code == 1);
  servers.wait_queue_empty();
  auto counts = count_message_ids(servers.delivered("virtualuser1"));
  CHECK(counts["after-switch@test"] == 1);
  CHECK(counts["fm-1@test"] == 1);
  CHECK(counts["fm-2@test"] == 1);
  CHECK(counts["fm-3@test"] == 1);
  CHECK(servers.remote_messages("pop3userid1").size() == 4);  // keep

  // Importing again (the default file: $FETCHMAILHOME/.fetchids) overwrites nothing that
  // clamfetch recorded and adds nothing twice.
  REQUIRE(rename(ids.c_str(), (user.home() + "/.fetchids").c_str()) == 0);
  auto again = run({clamfetch_binary(), "--import-fetchmailrc", fm_rc}, test_user,
                   {{"CLAMFETCH_HOME", user.home()}, {"FETCHMAILHOME", user.home()}});
  INFO("second import: " << again.err);
  CHECK(again.exit_code == 0);
  CHECK(again.err.find("imported 0 UIDs for pop3userid1@localhost (3 already in clamfetch's UID store, "
                       "left as they were)\n") != std::string::npos);
  auto fourth = user.clamfetch({});
  CHECK(fourth.exit_code == 1);
}
