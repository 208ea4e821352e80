// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// plan_folder: what one poll does with each listed message, from the listing, the rc user and
// the UID store alone (a real store in a temp directory, no server).

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "app/plan.hpp"

namespace fs = std::filesystem;
using clamfetch::Level;
using clamfetch::Log;
using clamfetch::app::Plan;
using clamfetch::app::plan_folder;
using clamfetch::app::PlanInput;
using clamfetch::fetch::FolderListing;
using clamfetch::fetch::MessageRef;
using clamfetch::fetch::UidStore;

namespace {

constexpr std::time_t kNow = 1'800'000'000;

struct Fixture {
  Fixture() {
    std::string pattern = (fs::temp_directory_path() / "cf-plan-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    auto opened = UidStore::open(dir.string(), "pop3://u@h:995");
    REQUIRE(opened.ok());
    store.emplace(std::move(opened).value());
    log.set_level(Level::verbose);
    REQUIRE(log.use_file((dir / "log").string()).ok());
  }
  ~Fixture() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
  std::time_t config_changed = 0;
  Plan plan(bool first_run = false) {
    PlanInput in{user, *store, first_run, kNow, account, log};
    in.config_changed = config_changed;
    return plan_folder(listing, in);
  }
  void add(const std::string& uid, uint64_t size, bool seen = false, bool deleted = false) {
    listing.messages.push_back(MessageRef{"INBOX", static_cast<uint32_t>(listing.messages.size() + 1),
                                          uid, size, seen, deleted});
  }
  std::string logged() const {
    std::ifstream in(dir / "log");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  fs::path dir;
  std::optional<UidStore> store;
  Log log;
  clamfetch::rc::User user;
  FolderListing listing;
  std::string account = "u@h";
};

std::vector<std::string> uids(const std::vector<MessageRef>& refs) {
  std::vector<std::string> out;
  for (const auto& r : refs) out.push_back(r.uid + "/" + std::to_string(r.size));
  return out;
}

using V = std::vector<std::string>;

}  // namespace

TEST_CASE("plan: a delete-pending mark deletes only a message of the recorded size") {
  Fixture f;
  REQUIRE(f.store->record("INBOX", "same", true, 100).ok());
  REQUIRE(f.store->record("INBOX", "reused", true, 100).ok());
  f.add("same", 100);
  f.add("reused", 250);  // a new message under a UIDL the store remembers
  f.add("new", 10);
  Plan p = f.plan();
  CHECK(uids(p.delete_only) == V{"same/100"});
  CHECK(uids(p.retrieve) == V{"reused/250", "new/10"});
  CHECK(p.bytes == 260);

  SECTION("keep: a pending mark is only skipped") {
    f.user.keep = true;
    Plan k = f.plan();
    CHECK(k.delete_only.empty());
    CHECK(uids(k.retrieve) == V{"reused/250", "new/10"});
  }
}

TEST_CASE("plan: a UID listed twice is retrieved, never deleted on an ambiguous mark") {
  Fixture f;
  REQUIRE(f.store->record("INBOX", "dup", true, 100).ok());
  f.add("dup", 100);
  f.add("dup", 100);
  Plan p = f.plan();
  CHECK(p.delete_only.empty());
  CHECK(uids(p.retrieve) == V{"dup/100", "dup/100"});
}

TEST_CASE("plan: keep mode skips what was delivered at that size, fetchall takes it again") {
  Fixture f;
  f.user.keep = true;
  REQUIRE(f.store->record("INBOX", "k", false, 100).ok());
  f.add("k", 100);
  f.add("k2", 5);
  CHECK(uids(f.plan().retrieve) == V{"k2/5"});
  f.listing.messages[0].size = 101;  // the UID came back on another message
  CHECK(uids(f.plan().retrieve) == V{"k/101", "k2/5"});
  f.listing.messages[0].size = 100;
  f.user.fetchall = true;
  CHECK(uids(f.plan().retrieve) == V{"k/100", "k2/5"});
}

TEST_CASE("plan: first run with fetchall off remembers seen messages as known") {
  Fixture f;
  f.add("1", 10, true);
  f.add("2", 20, false);
  f.add("3", 30, true);
  Plan first = f.plan(true);
  CHECK(uids(first.known) == V{"1/10", "3/30"});
  CHECK(uids(first.retrieve) == V{"2/20"});
  CHECK(first.delete_only.empty());

  SECTION("a later run takes seen messages the store does not know") {
    Plan later = f.plan(false);
    CHECK(later.known.empty());
    CHECK(uids(later.retrieve) == V{"1/10", "2/20", "3/30"});
  }
  SECTION("known messages are skipped later, and never deleted") {
    REQUIRE(f.store->record_known(first.known).ok());
    Plan later = f.plan(false);
    CHECK(uids(later.retrieve) == V{"2/20"});
    CHECK(later.delete_only.empty());
  }
  SECTION("fetchall takes everything, also on the first run") {
    f.user.fetchall = true;
    Plan all = f.plan(true);
    CHECK(all.known.empty());
    CHECK(uids(all.retrieve) == V{"1/10", "2/20", "3/30"});
  }
}

TEST_CASE("plan: what another client flagged deleted is left alone, ours is deleted again") {
  Fixture f;
  REQUIRE(f.store->record("INBOX", "ours", true, 10).ok());
  f.add("ours", 10, false, true);
  f.add("theirs", 20, false, true);
  Plan p = f.plan();
  CHECK(uids(p.delete_only) == V{"ours/10"});
  CHECK(p.retrieve.empty());
  CHECK(f.logged().find("message theirs in INBOX is flagged \\Deleted by another client: skipped") !=
        std::string::npos);
}

TEST_CASE("plan: a deferred message waits for its back-off, also with fetchall") {
  Fixture f;
  REQUIRE(f.store->note_deferral("INBOX", "d", 100, kNow - 1000, "452 4.2.2 over quota").ok());
  REQUIRE(f.store->note_deferral("INBOX", "d", 100, kNow - 60, "452 4.2.2 over quota").ok());
  f.add("d", 100);
  f.add("x", 1);
  CHECK(uids(f.plan().retrieve) == V{"x/1"});
  CHECK(f.logged().find("message u@h:d deferred 2 times (452 4.2.2 over quota), next attempt at ") !=
        std::string::npos);
  f.user.fetchall = true;
  CHECK(uids(f.plan().retrieve) == V{"x/1"});

  SECTION("due: retried") {
    REQUIRE(f.store->note_deferral("INBOX", "d", 100, kNow - 600, "again").ok());  // count 3: 20 min
    CHECK(uids(f.plan().retrieve) == V{"x/1"});
    REQUIRE(f.store->note_deferral("INBOX", "e", 7, kNow - 301, "once").ok());  // count 1: 5 min
    f.add("e", 7);
    CHECK(uids(f.plan().retrieve) == V{"x/1", "e/7"});
  }
  SECTION("the rc file changed since the last failure (perhaps its remedy): retried at once") {
    f.config_changed = kNow - 59;   // a second after the last failure
    CHECK(uids(f.plan().retrieve) == V{"d/100", "x/1"});
    f.config_changed = kNow - 60;   // the same second: taken for before it, still backing off
    CHECK(uids(f.plan().retrieve) == V{"x/1"});
  }
  SECTION("another size under the same UID is another message: not held back") {
    f.listing.messages[0].size = 200;
    CHECK(uids(f.plan().retrieve) == V{"d/200", "x/1"});
  }
}

TEST_CASE("plan: limit leaves large messages, fetchlimit stops the plan") {
  Fixture f;
  f.user.limit = 50;
  f.user.fetchlimit = 2;
  f.add("a", 10);
  f.add("big", 500);
  f.add("b", 20);
  f.add("c", 30);
  Plan p = f.plan();
  CHECK(uids(p.retrieve) == V{"a/10", "b/20"});
  CHECK(p.fetchlimit_hit);
}

TEST_CASE("settled_below: the lowest listed UID the store knows nothing about, else UIDNEXT") {
  using clamfetch::app::settled_below;
  Fixture f;
  f.store->set_uidvalidity("INBOX", 7);
  f.listing.sync.uidnext = 20;
  f.add("10", 100);
  f.add("11", 100);
  f.add("12", 100);
  REQUIRE(f.store->record("INBOX", "10", false, 100).ok());
  REQUIRE(f.store->note_deferral("INBOX", "11", 100, kNow, "451").ok());
  // 12: not delivered (skipped over a limit, flagged \Deleted by another client, a failure
  // that left nothing behind): the next poll lists from it again.
  CHECK(settled_below(f.listing, *f.store, "INBOX") == 12);
  REQUIRE(f.store->record("INBOX", "12", false, 100).ok());
  CHECK(settled_below(f.listing, *f.store, "INBOX") == 20);
  f.listing.rejected.push_back("15");  // listed, unusable: left on the server, looked at again
  CHECK(settled_below(f.listing, *f.store, "INBOX") == 15);
  f.listing.without_uid = true;  // a message of unknown UID: nothing can be taken as done
  CHECK(settled_below(f.listing, *f.store, "INBOX") == 1);
}
