// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Quarantine identity: the same message (key, UIDVALIDITY, bytes) finds its entry again, so a
// rerun after a kill does not report twice; another message reusing the UID and size does not.

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>

#include "app/quarantine.hpp"

using namespace clamfetch::app;

namespace {

struct TempQuarantine {
  std::string dir;
  TempQuarantine() {
    char tmpl[] = "/tmp/cfquar.XXXXXX";
    dir = mkdtemp(tmpl);
  }
  ~TempQuarantine() { std::filesystem::remove_all(dir); }
};

QuarantineEntry entry_for(const std::string& key, uint32_t uidvalidity, uint64_t size) {
  QuarantineEntry e;
  e.key = key;
  e.uid = "1";
  e.size = size;
  e.uidvalidity = uidvalidity;
  e.virus = "Test.Virus";
  return e;
}

}  // namespace

TEST_CASE("the same message gets its entry back, another one with the same UID and size does not",
          "[app][quarantine]") {
  TempQuarantine t;
  Quarantine q(t.dir + "/q");
  std::string a = "Subject: a\r\n\r\nbody A\r\n";
  std::string b = "Subject: b\r\n\r\nbody B\r\n";
  REQUIRE(a.size() == b.size());

  auto first = q.put(entry_for("s/u/1", 0, a.size()), a);
  REQUIRE(first.ok());
  CHECK(valid_quarantine_id(first->id));
  REQUIRE(q.mark_reported(first->id).ok());
  // A rerun (after a kill) with the same bytes: the reported entry, not a new one.
  auto again = q.put(entry_for("s/u/1", 0, a.size()), a);
  REQUIRE(again.ok());
  CHECK(again->id == first->id);
  CHECK(again->reported);

  // A reused POP3 UIDL: same key and size, other bytes.
  auto reused = q.put(entry_for("s/u/1", 0, b.size()), b);
  REQUIRE(reused.ok());
  CHECK(reused->id != first->id);
  CHECK_FALSE(reused->reported);
  // An IMAP UIDVALIDITY reset: same key, size and even bytes, another folder generation.
  auto reset = q.put(entry_for("s/u/1", 7, a.size()), a);
  REQUIRE(reset.ok());
  CHECK(reset->id != first->id);
  CHECK_FALSE(reset->reported);

  auto all = q.list();
  REQUIRE(all.ok());
  CHECK(all->size() == 3);
  CHECK(q.facts(reset->id)->uidvalidity == 7);
  CHECK(q.facts(first->id)->sha256.size() == 64);
}
