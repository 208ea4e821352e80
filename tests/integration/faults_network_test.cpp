// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Reliability (issue 7): the server connection dropped in the middle of RETR / FETCH. A TCP
// proxy (tests/support/proxy.hpp) between clamfetch and the real Dovecot cuts the stream after
// N bytes from the server — TLS passes through it, the certificate still names localhost. A
// real server cannot be told to do that. Nothing is lost, and the next (direct) run delivers
// every message exactly once.
#include <catch2/catch.hpp>

#include <map>
#include <regex>

#include "support/clamfetch_user.hpp"
#include "support/proxy.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;

namespace {

void cut_mid_transfer(const std::string& protocol, bool keep) {
  MailServers servers;
  ClamfetchUser user(servers);
  std::vector<std::string> ids, messages;
  for (int i = 0; i < 30; ++i) {
    ids.push_back("cut" + std::to_string(i) + "." + protocol + "@faults");
    messages.push_back(make_message(ids.back(), 8000));
  }
  servers.seed("pop3userid1", messages);
  std::string port_key = protocol == "imap" ? "IMAPS_PORT" : "POP3S_PORT";
  std::string keep_line = keep ? "  keep = true\n" : "";
  // One proxy port for every run, so that every run polls through the same rc file.
  CuttingProxy proxy(servers.port(port_key), 0);
  std::string rc = user.standard_rc(protocol, "implicit", keep_line);
  rc.replace(rc.find("port = " + servers.env(port_key)), 7 + servers.env(port_key).size(),
             "port = " + std::to_string(proxy.port()));
  user.write_rc(rc);

  // Cut points: inside the TLS handshake, early in the first message, and deep in the batch
  // (each run gets further; messages 8 KB each after a few KB of handshake and listing).
  int cuts = 0;
  for (std::size_t cut : {1500u, 12000u, 60000u, 100000u}) {
    proxy.set_cut_after(cut);
    auto r = user.clamfetch({"-v"});
    INFO(protocol << " cut after " << cut << " bytes\n" << r.err);
    CHECK(proxy.cuts() == ++cuts);
    CHECK(r.exit_code < 128);  // an error or partial success, never a crash
  }

  // The proxy now relays untouched: as good as direct, on the same account.
  proxy.set_cut_after(0);
  auto clean = user.clamfetch({"-v"});
  INFO(clean.err);
  CHECK(clean.exit_code == 0);
  servers.wait_queue_empty(60);
  auto counts = count_message_ids(servers.delivered("virtualuser1"));
  for (const auto& id : ids) {
    INFO(id);
    CHECK(counts[id] == 1);  // a dropped connection is no reason to deliver twice
  }
  CHECK(counts.size() == ids.size());
  CHECK(servers.remote_messages("pop3userid1").size() == (keep ? ids.size() : 0u));
}

}  // namespace

TEST_CASE("connection cut mid-RETR (POP3S)") { cut_mid_transfer("pop3", false); }
TEST_CASE("connection cut mid-FETCH (IMAPS)") { cut_mid_transfer("imap", false); }
TEST_CASE("connection cut mid-FETCH (IMAPS) keep") { cut_mid_transfer("imap", true); }
