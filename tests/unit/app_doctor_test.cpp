// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The pure part of clamfetch --doctor: verdicts, texts and the exit code.
#include <catch2/catch.hpp>

#include "app/doctor.hpp"

using namespace clamfetch;
using namespace clamfetch::app::doctor;

namespace {
constexpr std::time_t kNow = 1'800'000'000;
constexpr std::time_t kDay = 86400;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("doctor exit code: 0 with warnings only, else the first failure's") {
  std::vector<Check> checks{ok("a@b", "dns", "x"), warn("a@b", "size", "y", "z")};
  CHECK(exit_code_of(checks) == 0);
  checks.push_back(fail("a@b", "tls", Kind::tls, "certificate verify failed", "ca_file"));
  checks.push_back(fail("a@b", "rcpt", Kind::mta, "550", "is"));
  CHECK(exit_code_of(checks) == 2);
  CHECK(summary(checks) == "1 OK, 1 WARN, 2 FAIL");
}

TEST_CASE("doctor line format: subject, step, verdict, text, and the remedy under it") {
  CHECK(format(ok("u@h", "dns", "h -> 127.0.0.1")) == "u@h dns      OK   h -> 127.0.0.1\n");
  CHECK(format(fail("u@h", "login", Kind::auth, "refused", "password")) ==
        "u@h login    FAIL refused\n      change: password\n");
}

TEST_CASE("doctor TLS: the facts, and a warning when the certificate expires within 14 days") {
  fetch::TlsFacts f{"TLSv1.3", "TLS_AES_256_GCM_SHA384", "CN=localhost", "CN=Test CA",
                    kNow + 100 * kDay, "localhost", false};
  Check c = tls_check("u@h", f, kNow);
  CHECK(c.health == Health::ok);
  CHECK(has(c.text, "TLSv1.3 TLS_AES_256_GCM_SHA384; subject CN=localhost; issuer CN=Test CA"));
  CHECK(has(c.text, "(in 100 days)"));
  CHECK(has(c.text, "host name localhost verified; no pin"));
  CHECK(presented_text(f) == "the server presents subject CN=localhost; issuer CN=Test CA; expires 2027-04-25");
  f.not_after = kNow + 3 * kDay;
  f.pinned = true;
  c = tls_check("u@h", f, kNow);
  CHECK(c.health == Health::warn);
  CHECK(has(c.text, "fingerprint pin matched"));
}

TEST_CASE("doctor open remedies name the setting to change") {
  rc::Poll poll;
  poll.server = "mail.example.net";
  poll.ca_file = "/etc/ca.pem";
  rc::User user;
  user.username = "joe";
  auto remedy = [&](Kind k, const std::string& text) { return open_remedy(Error{Scope::account, k, text}, poll, user); };
  CHECK(has(remedy(Kind::tls, "certificate verify failed: unable to get local issuer certificate"),
            "ca_file = \"/etc/ca.pem\""));
  CHECK(has(remedy(Kind::tls, "host name mismatch: certificate is not valid for x"), "server = \"mail.example.net\""));
  CHECK(has(remedy(Kind::tls, "fingerprint mismatch"), "fingerprint"));
  CHECK(has(remedy(Kind::auth, "authentication failed"), "username = \"joe\" and its password"));
}

TEST_CASE("doctor size: MTA SIZE against limit and max_file_size") {
  deliver::Extensions ext;
  ext.size = true;
  ext.size_max = 10240000;
  const uint64_t m25 = 25ull << 20;
  // No limit: larger messages would be refused by the MTA (bounced), not left on the server.
  Check c = size_check("u@h", ext, 0, m25, rc::OnOversize::accept);
  CHECK(c.health == Health::warn);
  CHECK(has(c.remedy, "limit = 10240000"));
  CHECK(has(c.text, "MTA SIZE 10240000 octets, limit none, max_file_size 25M"));
  CHECK(size_check("u@h", ext, 20000000, m25, rc::OnOversize::accept).health == Health::warn);
  CHECK(size_check("u@h", ext, 10240000, m25, rc::OnOversize::accept).health == Health::ok);
  // The MTA takes more than is scanned and on_oversize accepts it: delivered unscanned.
  c = size_check("u@h", ext, 10240000, 1 << 20, rc::OnOversize::accept);
  CHECK(c.health == Health::warn);
  CHECK(has(c.remedy, "unscanned"));
  CHECK(size_check("u@h", ext, 10240000, 1 << 20, rc::OnOversize::defer).health == Health::ok);
  // Both at once: Postfix's 100M over no limit and over max_file_size.
  ext.size_max = 100ull << 20;
  c = size_check("u@h", ext, 0, m25, rc::OnOversize::accept);
  CHECK(c.health == Health::warn);
  CHECK(has(c.remedy, "limit = 104857600"));
  CHECK(has(c.remedy, "; messages over max_file_size are delivered unscanned"));
  deliver::Extensions unlimited;
  CHECK(size_check("u@h", unlimited, 0, m25, rc::OnOversize::accept).health == Health::warn);
  CHECK(size_check("u@h", unlimited, m25, m25, rc::OnOversize::accept).health == Health::ok);
}

TEST_CASE("doctor rcpt: 2xx OK, 4xx WARN, 5xx FAIL with the MTA's text and exit 10") {
  CHECK(rcpt_check("u@h", "a@example.com", {250, "2.1.5 Ok"}, "127.0.0.1:25").health == Health::ok);
  CHECK(rcpt_check("u@h", "a@example.com", {451, "4.3.0 try later"}, "127.0.0.1:25").health == Health::warn);
  Check c = rcpt_check("u@h", "nobody@example.com",
                       {550, "5.1.1 <nobody@example.com>: Recipient address rejected: User unknown"}, "127.0.0.1:25");
  CHECK(c.health == Health::fail);
  CHECK(exit_code(c.kind) == 10);
  CHECK(c.text == "<nobody@example.com>: 550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown");
  CHECK(has(c.remedy, "is = \"nobody@example.com\""));
}

TEST_CASE("doctor database: unreadable FAIL, older than 7 days WARN as freshclam") {
  scan::DatabaseFacts f;
  f.error = "/db: Permission denied";
  Check c = database_check("/db", f, kNow);
  CHECK(c.health == Health::fail);
  CHECK(exit_code(c.kind) == 23);
  f = scan::DatabaseFacts{};
  CHECK(database_check("/db", f, kNow).health == Health::fail);  // no signature files
  f.official = true;
  f.version = "27000";
  f.official_files = 2;
  f.built = kNow - 7 * kDay;
  c = database_check("/db", f, kNow);
  CHECK(c.health == Health::ok);
  CHECK(has(c.text, "version 27000"));
  f.built = kNow - 8 * kDay;
  c = database_check("/db", f, kNow);
  CHECK(c.health == Health::warn);
  CHECK(has(c.text, "(8 days old)"));
  CHECK(has(c.remedy, "freshclam"));
}

TEST_CASE("doctor clamd database date from its VERSION reply") {
  auto t = clamd_database_time("ClamAV 1.4.6/27000/Thu Jan 15 08:00:00 2027");
  REQUIRE(t);
  CHECK(clamd_database_check("ClamAV 1.4.6/27000/Thu Jan 15 08:00:00 2027", *t + 2 * kDay).health == Health::ok);
  CHECK(clamd_database_check("ClamAV 1.4.6/27000/Thu Jan 15 08:00:00 2027", *t + 9 * kDay).health == Health::warn);
  CHECK_FALSE(clamd_database_time("clamd"));
  CHECK(clamd_database_check("clamd", kNow).health == Health::warn);
}

TEST_CASE("doctor EICAR: only a detection is OK, a miss is a FAIL with exit 23") {
  Verdict v;
  v.status = Verdict::Status::infected;
  v.virus = "Eicar-Test-Signature";
  CHECK(eicar_check(v).health == Health::ok);
  v.status = Verdict::Status::clean;
  Check c = eicar_check(v);
  CHECK(c.health == Health::fail);
  CHECK(exit_code(c.kind) == 23);
  CHECK(has(c.text, "NOT detected"));
  v.status = Verdict::Status::error;
  v.reason = "no signatures";
  CHECK(eicar_check(v).health == Health::fail);
  // The message carries the test file base64-encoded, never the plain string.
  std::string m = eicar_message();
  CHECK(has(m, "Content-Transfer-Encoding: base64"));
  CHECK_FALSE(has(m, std::string("EICAR-STANDARD") + "-ANTIVIRUS"));
}

TEST_CASE("doctor state directory: owner, mode, writability and free space") {
  DirFacts d{true, true, 040700, 1000, true};
  CHECK(state_check("/s", d, 1000).health == Health::ok);
  CHECK(state_check("/s", d, 1001).health == Health::fail);
  d.mode = 040755;
  Check c = state_check("/s", d, 1000);
  CHECK(c.health == Health::warn);
  CHECK(has(c.text, "mode 0755"));
  CHECK(state_check("/s", DirFacts{}, 1000).health == Health::warn);  // created on the first run
  d.mode = 040700;
  d.writable = false;
  CHECK(state_check("/s", d, 1000).health == Health::fail);
  CHECK(space_check("/s", 512 << 10).health == Health::fail);
  CHECK(space_check("/s", 50ull << 20).health == Health::warn);
  CHECK(space_check("/s", 500ull << 20).health == Health::ok);
}
