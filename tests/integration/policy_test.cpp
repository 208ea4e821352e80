// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Delivery policy through the real binary: virus_action's arguments, clamav-milter's
// log_infected / log_clean.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The value of header `name` (one line) in a test message.
std::string headers_value(const std::string& msg, const std::string& name) {
  auto pos = msg.find("\n" + name + ": ");
  if (pos == std::string::npos) return "";
  pos += name.size() + 3;
  return msg.substr(pos, msg.find("\r\n", pos) - pos);
}

}  // namespace

TEST_CASE("virus_action runs with clamav-milter's seven arguments in order") {
  MailServers servers;
  ClamfetchUser user(servers);
  std::string out = user.home() + "/action.out";
  std::string script = user.home() + "/action.sh";
  std::ofstream(script) << "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > " + out + "\n";
  REQUIRE(chmod(script.c_str(), 0755) == 0);
  std::string msg = infected_message("action@policy");
  msg = "Return-Path: <mallory@remote.example>\r\n" + msg;
  servers.seed("pop3userid1", msg);
  std::string rc = user.standard_rc();
  rc.replace(rc.find("[scan]\n"), 7, "[scan]\nvirus_action = \"" + script + "\"\n");
  user.write_rc(rc);

  auto r = user.clamfetch({});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto args = lines_of(read_file(out));
  REQUIRE(args.size() == 7);
  CHECK(args[0] == "Clamfetch.Test.EICAR.UNOFFICIAL");
  CHECK(contains(args[1], "localhost/pop3userid1/"));   // message key server/account/UID
  CHECK(args[2] == "mallory@remote.example");             // sender
  CHECK(args[3] == "virtualuser1@example.com");           // destination
  CHECK(args[4] == headers_value(msg, "Subject"));
  CHECK(args[5] == "<action@policy>");
  CHECK(args[6] == headers_value(msg, "Date"));
}

// The antispam case that used to sit here asserted a loss (a RCPT 550 "user unknown" taken as
// spam, the message deleted undelivered). antispam now applies to MAIL FROM only: see
// loss_mta_test.cpp, "defect 1".

TEST_CASE("log_infected full and log_clean basic shape the scan log lines") {
  MailServers servers;
  ClamfetchUser user(servers);
  servers.seed("pop3userid1", make_message("clean@policy", 800));
  servers.seed("pop3userid1", infected_message("virus@policy"));
  std::string rc = user.standard_rc();
  rc.replace(rc.find("[scan]\n"), 7, "[scan]\nlog_infected = \"full\"\nlog_clean = \"basic\"\n");
  user.write_rc(rc);
  auto r = user.clamfetch({});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  bool clean_line = false;
  bool infected_line = false;
  for (const auto& line : lines_of(r.err)) {
    if (!contains(line, "scan: account=pop3userid1@localhost")) continue;
    if (contains(line, "verdict=clean")) {
      clean_line = true;
      CHECK_FALSE(contains(line, "subject="));  // basic: no envelope details
    }
    if (contains(line, "INFECTED")) {
      infected_line = true;
      CHECK(contains(line, "to=<virtualuser1@example.com>"));
      CHECK(contains(line, "message-id=<virus@policy>"));
      CHECK(contains(line, "subject="));
    }
  }
  CHECK(clean_line);
  CHECK(infected_line);

  // The defaults: infected basic, clean off.
  servers.seed("pop3userid1", make_message("clean2@policy", 800));
  user.write_rc(user.standard_rc());
  auto d = user.clamfetch({});
  CHECK_FALSE(contains(d.err, "scan: account="));
}
