// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// UidStore: durability across reopen, journal replay after a crash, atomic replacement, and
// the failures that must surface as Kind::state. Each test works in its own temp directory.

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "fetch/fetch.hpp"

namespace fs = std::filesystem;
using clamfetch::Kind;
using clamfetch::fetch::MessageRef;
using clamfetch::fetch::UidStore;

namespace {

constexpr char kKey[] = "pop3://user1@pop.example.com:995";

struct TempDir {
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "cf-uids-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  fs::path path;
};

UidStore open_store(const fs::path& dir) {
  auto store = UidStore::open(dir.string(), kKey);
  INFO((store ? "" : store.error().text));
  REQUIRE(store.ok());
  return std::move(store).value();
}

/// The one store file of the account (the name is a hash of the key).
fs::path store_file(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(dir / "uids")) {
    std::string name = entry.path().filename().string();
    if (name.find('.') == std::string::npos) return entry.path();
  }
  FAIL("no store file in " << dir);
  return {};
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// A listing of `uids` in `folder`, each of `size` octets.
std::vector<MessageRef> refs(const std::string& folder, std::vector<std::string> uids,
                             uint64_t size = 100) {
  std::vector<MessageRef> out;
  uint32_t number = 0;
  for (auto& uid : uids) out.push_back(MessageRef{folder, ++number, uid, size});
  return out;
}

MessageRef ref(const std::string& uid, uint64_t size, const std::string& folder = "INBOX") {
  return MessageRef{folder, 1, uid, size};
}

}  // namespace

TEST_CASE("recorded UIDs survive save and reopen with their pending-delete flag") {
  TempDir tmp;
  {
    UidStore store = open_store(tmp.path);
    CHECK_FALSE(store.delivered("INBOX", "000000016b02d66b", 100));
    REQUIRE(store.record("INBOX", "000000016b02d66b", false, 100).ok());
    REQUIRE(store.record("INBOX", "000000026b02d66b", true, 100).ok());
    REQUIRE(store.record("Lists/clam av", "17", false, 100).ok());
    REQUIRE(store.save().ok());
  }
  UidStore store = open_store(tmp.path);
  CHECK(store.delivered("INBOX", "000000016b02d66b", 100));
  CHECK_FALSE(store.pending_delete("INBOX", "000000016b02d66b", 100));
  CHECK(store.delivered("INBOX", "000000026b02d66b", 100));
  CHECK(store.pending_delete("INBOX", "000000026b02d66b", 100));
  CHECK(store.delivered("Lists/clam av", "17", 100));
  CHECK_FALSE(store.delivered("INBOX", "17", 100));
  CHECK_FALSE(store.delivered("Lists/clam av", "000000016b02d66b", 100));
}

TEST_CASE("files are 0600 in a 0700 directory and named by a hash of the account") {
  TempDir tmp;
  UidStore store = open_store(tmp.path);
  REQUIRE(store.record("INBOX", "1", false, 100).ok());
  REQUIRE(store.save().ok());
  struct stat st {};
  REQUIRE(stat((tmp.path / "uids").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  fs::path file = store_file(tmp.path);
  REQUIRE(stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(file.filename().string().size() == 64);
  CHECK(file.filename().string().find("user1") == std::string::npos);
}

TEST_CASE("a run killed after record() and before save() is replayed from the journal") {
  TempDir tmp;
  {
    UidStore store = open_store(tmp.path);
    REQUIRE(store.record("INBOX", "a1", false, 100).ok());
    REQUIRE(store.save().ok());
    REQUIRE(store.record("INBOX", "a2", true, 100).ok());
    REQUIRE(store.record("INBOX", "a3", false, 100).ok());
    // "crash": the store is dropped without save()
  }
  fs::path journal = store_file(tmp.path).string() + ".journal";
  REQUIRE(fs::exists(journal));
  UidStore store = open_store(tmp.path);
  CHECK(store.delivered("INBOX", "a1", 100));
  CHECK(store.delivered("INBOX", "a2", 100));
  CHECK(store.pending_delete("INBOX", "a2", 100));
  CHECK(store.delivered("INBOX", "a3", 100));
  REQUIRE(store.save().ok());
  CHECK_FALSE(fs::exists(journal));  // folded into the file
  UidStore again = open_store(tmp.path);
  CHECK(again.delivered("INBOX", "a3", 100));
}

TEST_CASE("a torn last journal line (killed mid-append) is ignored and the rest replayed") {
  TempDir tmp;
  {
    UidStore store = open_store(tmp.path);
    REQUIRE(store.record("INBOX", "b1", false, 100).ok());
  }
  fs::path journal;  // the only file so far: nothing was saved
  for (const auto& entry : fs::directory_iterator(tmp.path / "uids")) journal = entry.path();
  REQUIRE(journal.extension() == ".journal");
  {
    std::ofstream out(journal, std::ios::app | std::ios::binary);
    out << "uid k 0 INBOX b2";  // no newline: record() never returned
  }
  UidStore store = open_store(tmp.path);
  CHECK(store.delivered("INBOX", "b1", 100));
  CHECK_FALSE(store.delivered("INBOX", "b2", 100));
}

TEST_CASE("a crash between the temp write and the rename leaves the old store intact") {
  TempDir tmp;
  {
    UidStore store = open_store(tmp.path);
    REQUIRE(store.record("INBOX", "old1", false, 100).ok());
    REQUIRE(store.save().ok());
  }
  fs::path file = store_file(tmp.path);
  std::string before = slurp(file);

  SECTION("a half-written temp file from the crash is not read") {
    std::ofstream(file.string() + ".tmp", std::ios::binary) << "clamfetch-uids 1\nfolder 0 INB";
    UidStore store = open_store(tmp.path);
    CHECK(store.delivered("INBOX", "old1", 100));
    REQUIRE(store.record("INBOX", "new1", false, 100).ok());
    REQUIRE(store.save().ok());  // the stale temp file is simply overwritten
    CHECK_FALSE(fs::exists(file.string() + ".tmp"));
    CHECK(open_store(tmp.path).delivered("INBOX", "new1", 100));
  }
  SECTION("a save that cannot write its temp file fails with Kind::state, old file untouched") {
    fs::create_directory(file.string() + ".tmp");  // in the way of the temp file
    UidStore store = open_store(tmp.path);
    store.prune("INBOX", std::vector<MessageRef>{});
    auto saved = store.save();
    REQUIRE_FALSE(saved.ok());
    CHECK(saved.error().kind == Kind::state);
    CHECK(saved.error().text.find(file.string() + ".tmp") != std::string::npos);
    CHECK(slurp(file) == before);
    fs::remove(file.string() + ".tmp");
    CHECK(open_store(tmp.path).delivered("INBOX", "old1", 100));
  }
}

TEST_CASE("prune forgets UIDs no longer on the server and only in that folder") {
  TempDir tmp;
  UidStore store = open_store(tmp.path);
  for (const char* uid : {"u1", "u2", "u3"}) REQUIRE(store.record("INBOX", uid, false, 100).ok());
  REQUIRE(store.record("Sent", "u1", false, 100).ok());
  store.prune("INBOX", refs("INBOX", {"u2", "u9"}));
  CHECK_FALSE(store.delivered("INBOX", "u1", 100));
  CHECK(store.delivered("INBOX", "u2", 100));
  CHECK_FALSE(store.delivered("INBOX", "u3", 100));
  CHECK(store.delivered("Sent", "u1", 100));
  REQUIRE(store.save().ok());
  UidStore reloaded = open_store(tmp.path);
  CHECK_FALSE(reloaded.delivered("INBOX", "u1", 100));
  CHECK(reloaded.delivered("INBOX", "u2", 100));
}

TEST_CASE("a UIDVALIDITY change forgets the folder's UIDs also across a crash") {
  TempDir tmp;
  {
    UidStore store = open_store(tmp.path);
    CHECK_FALSE(store.set_uidvalidity("INBOX", 1000));
    REQUIRE(store.record("INBOX", "5", false, 100).ok());
    REQUIRE(store.save().ok());
    CHECK_FALSE(store.set_uidvalidity("INBOX", 1000));
    CHECK(store.delivered("INBOX", "5", 100));
    CHECK(store.set_uidvalidity("INBOX", 2000));
    CHECK_FALSE(store.delivered("INBOX", "5", 100));
    REQUIRE(store.record("INBOX", "6", false, 100).ok());
    // crash: the file still says 1000 with UID 5, the journal has 6 under 2000
  }
  UidStore store = open_store(tmp.path);
  CHECK_FALSE(store.delivered("INBOX", "5", 100));
  CHECK(store.delivered("INBOX", "6", 100));
  CHECK_FALSE(store.set_uidvalidity("INBOX", 2000));
  CHECK(store.delivered("INBOX", "6", 100));
}

TEST_CASE("an unusable state directory is Kind::state naming the path") {
  TempDir tmp;
  std::ofstream(tmp.path / "uids") << "a file where the directory belongs";
  auto store = UidStore::open(tmp.path.string(), kKey);
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().kind == Kind::state);
  CHECK(store.error().text == "cannot create directory " + (tmp.path / "uids").string() +
                                  ": Not a directory");
}

TEST_CASE("a full disk while recording is Kind::state and the UID does not count") {
  TempDir tmp;
  UidStore store = open_store(tmp.path);
  REQUIRE(store.record("INBOX", "x1", false, 100).ok());
  REQUIRE(store.save().ok());
  fs::path journal = store_file(tmp.path).string() + ".journal";
  fs::create_symlink("/dev/full", journal);  // every write: ENOSPC
  auto recorded = store.record("INBOX", "x2", false, 100);
  REQUIRE_FALSE(recorded.ok());
  CHECK(recorded.error().kind == Kind::state);
  CHECK(recorded.error().text.find("No space left on device") != std::string::npos);
  CHECK(recorded.error().text.find(journal.string()) != std::string::npos);
  CHECK_FALSE(store.delivered("INBOX", "x2", 100));
}

TEST_CASE("a corrupt store file is Kind::state with file and line") {
  TempDir tmp;
  {
    UidStore store = open_store(tmp.path);
    REQUIRE(store.record("INBOX", "c1", false, 100).ok());
    REQUIRE(store.save().ok());
  }
  fs::path file = store_file(tmp.path);
  std::ofstream(file, std::ios::app) << "garbage line\n";
  auto store = UidStore::open(tmp.path.string(), kKey);
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().kind == Kind::state);
  CHECK(store.error().text == file.string() + ":4: corrupt UID store line");
}

TEST_CASE("malformed UIDs are refused and never written") {
  TempDir tmp;
  UidStore store = open_store(tmp.path);
  CHECK_FALSE(store.record("INBOX", "has space", false, 100).ok());
  CHECK_FALSE(store.record("INBOX", std::string(71, 'x'), false, 100).ok());
  CHECK_FALSE(store.record("INBOX", "", false, 100).ok());
  CHECK(store.record("INBOX", std::string(70, 'x'), false, 100).ok());
}

TEST_CASE("a mark counts only for the size it was recorded with (a reused UIDL is a new message)") {
  TempDir tmp;
  {
    UidStore store = open_store(tmp.path);
    REQUIRE(store.record("INBOX", "h1", true, 100).ok());
    REQUIRE(store.record("INBOX", "k1", false, 300).ok());
    CHECK(store.pending_delete("INBOX", "h1", 100));
    CHECK_FALSE(store.pending_delete("INBOX", "h1", 101));
    CHECK_FALSE(store.delivered("INBOX", "h1", 101));
    CHECK_FALSE(store.delivered("INBOX", "k1", 299));
    // killed: the sizes come back from the journal
  }
  UidStore store = open_store(tmp.path);
  CHECK(store.pending_delete("INBOX", "h1", 100));
  CHECK_FALSE(store.pending_delete("INBOX", "h1", 200));
  CHECK(store.delivered("INBOX", "k1", 300));
  REQUIRE(store.save().ok());
  UidStore saved = open_store(tmp.path);
  CHECK(saved.pending_delete("INBOX", "h1", 100));
  CHECK_FALSE(saved.delivered("INBOX", "h1", 200));
  CHECK(slurp(store_file(tmp.path)).rfind("clamfetch-uids 2\n", 0) == 0);
}

TEST_CASE("forget() drops committed deletions, also across a kill (journal)") {
  TempDir tmp;
  {
    UidStore store = open_store(tmp.path);
    REQUIRE(store.record("INBOX", "d1", true, 100).ok());
    REQUIRE(store.record("INBOX", "d2", true, 100).ok());
    REQUIRE(store.save().ok());
    REQUIRE(store.forget(std::vector<MessageRef>{ref("d1", 100), ref("gone", 5)}).ok());
    CHECK_FALSE(store.delivered("INBOX", "d1", 100));
    CHECK(store.pending_delete("INBOX", "d2", 100));
  }
  UidStore store = open_store(tmp.path);
  CHECK_FALSE(store.delivered("INBOX", "d1", 100));
  CHECK_FALSE(store.pending_delete("INBOX", "d1", 100));
  CHECK(store.pending_delete("INBOX", "d2", 100));
}

TEST_CASE("a version 1 store and journal are read, and their unknown sizes trust the mark") {
  TempDir tmp;
  {
    UidStore store = open_store(tmp.path);
    REQUIRE(store.record("INBOX", "seed", false, 1).ok());
    REQUIRE(store.save().ok());
  }
  fs::path file = store_file(tmp.path);
  std::ofstream(file, std::ios::binary | std::ios::trunc)
      << "clamfetch-uids 1\nfolder 7 INBOX\nuid k v1kept\nuid d v1del\n";
  std::ofstream(file.string() + ".journal", std::ios::binary) << "uid d 7 INBOX v1journal\n";
  UidStore store = open_store(tmp.path);
  CHECK(store.delivered("INBOX", "v1kept", 12345));
  CHECK_FALSE(store.pending_delete("INBOX", "v1kept", 12345));
  CHECK(store.pending_delete("INBOX", "v1del", 1));
  CHECK(store.pending_delete("INBOX", "v1journal", 99));
  CHECK_FALSE(store.delivered("INBOX", "seed", 1));  // the v1 file replaced it
  REQUIRE(store.save().ok());
  std::string text = slurp(file);
  CHECK(text == "clamfetch-uids 2\nfolder 7 INBOX\nuid d v1del 0\nuid d v1journal 0\n"
                "uid k v1kept 0\n");
  CHECK(open_store(tmp.path).delivered("INBOX", "v1kept", 5));
}

TEST_CASE("a UIDL listed twice keeps a mark per size, and prune drops the sizes no longer listed") {
  TempDir tmp;
  UidStore store = open_store(tmp.path);
  REQUIRE(store.record("INBOX", "dup", false, 100).ok());
  REQUIRE(store.record("INBOX", "dup", false, 200).ok());
  CHECK(store.delivered("INBOX", "dup", 100));
  CHECK(store.delivered("INBOX", "dup", 200));
  CHECK_FALSE(store.delivered("INBOX", "dup", 300));
  store.prune("INBOX", std::vector<MessageRef>{ref("dup", 200), ref("dup", 300)});
  CHECK_FALSE(store.delivered("INBOX", "dup", 100));
  CHECK(store.delivered("INBOX", "dup", 200));
  REQUIRE(store.save().ok());
  CHECK(open_store(tmp.path).delivered("INBOX", "dup", 200));
  store.prune("INBOX", std::vector<MessageRef>{ref("dup", 300)});
  CHECK_FALSE(store.delivered("INBOX", "dup", 200));
}

TEST_CASE("messages seen before the first run are known, not delivered, and survive a kill") {
  TempDir tmp;
  {
    UidStore store = open_store(tmp.path);
    CHECK_FALSE(store.has_folder("INBOX"));
    store.set_uidvalidity("INBOX", 9);
    CHECK(store.has_folder("INBOX"));
    REQUIRE(store.record_known(refs("INBOX", {"1", "2"}, 50)).ok());
    CHECK(store.known("INBOX", "1", 50));
    CHECK_FALSE(store.known("INBOX", "1", 51));
    CHECK_FALSE(store.delivered("INBOX", "1", 50));
    CHECK_FALSE(store.pending_delete("INBOX", "1", 50));
  }
  UidStore store = open_store(tmp.path);
  CHECK(store.has_folder("INBOX"));
  CHECK_FALSE(store.set_uidvalidity("INBOX", 9));
  CHECK(store.known("INBOX", "2", 50));
  REQUIRE(store.record("INBOX", "2", true, 50).ok());  // fetched with fetchall: ours now
  CHECK_FALSE(store.known("INBOX", "2", 50));
  CHECK(store.pending_delete("INBOX", "2", 50));
  REQUIRE(store.save().ok());
  UidStore saved = open_store(tmp.path);
  CHECK(saved.known("INBOX", "1", 50));
  CHECK(saved.pending_delete("INBOX", "2", 50));
}

TEST_CASE("accepted recipients add up, survive a kill and a save, and go with the delivery") {
  TempDir tmp;
  {
    UidStore store = open_store(tmp.path);
    CHECK(store.accepted("INBOX", "m1").empty());
    REQUIRE(store.record_accepted("INBOX", "m1", 100, {"a@example.org"}).ok());
    REQUIRE(store.record_accepted("INBOX", "m1", 100, {"b c@example.org", "a@example.org"}).ok());
    CHECK(store.accepted("INBOX", "m1") == std::vector<std::string>{"a@example.org", "b c@example.org"});
    CHECK_FALSE(store.delivered("INBOX", "m1", 100));
  }
  UidStore store = open_store(tmp.path);
  CHECK(store.accepted("INBOX", "m1") == std::vector<std::string>{"a@example.org", "b c@example.org"});
  REQUIRE(store.save().ok());
  CHECK(open_store(tmp.path).accepted("INBOX", "m1").size() == 2);
  // A different size is another message under a reused UID: a fresh set.
  REQUIRE(store.record_accepted("INBOX", "m1", 999, {"z@example.org"}).ok());
  CHECK(store.accepted("INBOX", "m1") == std::vector<std::string>{"z@example.org"});
  REQUIRE(store.record("INBOX", "m1", false, 999).ok());
  CHECK(store.accepted("INBOX", "m1").empty());
  CHECK_FALSE(store.record_accepted("INBOX", "bad uid", 1, {"a@b"}).ok());
}

TEST_CASE("prune drops accepted recipients and deferrals of a size no longer listed") {
  TempDir tmp;
  UidStore store = open_store(tmp.path);
  REQUIRE(store.record_accepted("INBOX", "r1", 100, {"a@example.org"}).ok());
  REQUIRE(store.note_deferral("INBOX", "r1", 100, 1000, "452 try later").ok());
  store.prune("INBOX", std::vector<MessageRef>{ref("r1", 100)});
  CHECK(store.accepted("INBOX", "r1").size() == 1);
  CHECK(store.deferral("INBOX", "r1").has_value());
  store.prune("INBOX", std::vector<MessageRef>{ref("r1", 101)});
  CHECK(store.accepted("INBOX", "r1").empty());
  CHECK_FALSE(store.deferral("INBOX", "r1").has_value());
}

TEST_CASE("deferrals count up, restart for another size, and are cleared by record()") {
  TempDir tmp;
  UidStore store = open_store(tmp.path);
  CHECK_FALSE(store.deferral("INBOX", "f1").has_value());
  auto first = store.note_deferral("INBOX", "f1", 100, 1000, "Heuristics.Limits.Exceeded");
  REQUIRE(first.ok());
  CHECK(first->count == 1);
  CHECK(first->first == 1000);
  CHECK(first->last == 1000);
  auto second = store.note_deferral("INBOX", "f1", 100, 1600, "552 message too large");
  REQUIRE(second.ok());
  CHECK(second->count == 2);
  CHECK(second->first == 1000);
  CHECK(second->last == 1600);
  CHECK(second->reason == "552 message too large");
  CHECK_FALSE(second->notified);
  auto other = store.note_deferral("INBOX", "f1", 200, 2000, "new message, same UIDL");
  REQUIRE(other.ok());
  CHECK(other->count == 1);
  CHECK(other->first == 2000);
  REQUIRE(store.record("INBOX", "f1", true, 200).ok());
  CHECK_FALSE(store.deferral("INBOX", "f1").has_value());
}

TEST_CASE("a deferral and its notice survive a kill (journal) and a save") {
  TempDir tmp;
  {
    UidStore store = open_store(tmp.path);
    REQUIRE(store.note_deferral("Lists/a b", "7", 4096, 5000, "scan error: limits exceeded").ok());
    REQUIRE(store.note_deferral("Lists/a b", "7", 4096, 5300, "scan error: limits exceeded").ok());
    REQUIRE(store.mark_notified("Lists/a b", "7").ok());
    // killed before save()
  }
  UidStore store = open_store(tmp.path);
  auto d = store.deferral("Lists/a b", "7");
  REQUIRE(d.has_value());
  CHECK(d->count == 2);
  CHECK(d->first == 5000);
  CHECK(d->last == 5300);
  CHECK(d->size == 4096);
  CHECK(d->notified);
  CHECK(d->reason == "scan error: limits exceeded");
  REQUIRE(store.save().ok());
  auto saved = open_store(tmp.path).deferral("Lists/a b", "7");
  REQUIRE(saved.has_value());
  CHECK(saved->count == 2);
  CHECK(saved->notified);
  CHECK(saved->reason == "scan error: limits exceeded");
  auto none = store.mark_notified("INBOX", "nothing");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().kind == Kind::internal);
}

TEST_CASE("the next attempt backs off from 5 minutes, doubling, to at most a day") {
  UidStore::Deferral d;
  d.last = 100000;
  d.count = 1;
  CHECK(UidStore::next_attempt(d) == 100000 + 300);
  d.count = 2;
  CHECK(UidStore::next_attempt(d) == 100000 + 600);
  d.count = 3;
  CHECK(UidStore::next_attempt(d) == 100000 + 1200);
  d.count = 9;
  CHECK(UidStore::next_attempt(d) == 100000 + 76800);
  d.count = 10;
  CHECK(UidStore::next_attempt(d) == 100000 + 86400);
  d.count = 4000000000u;
  CHECK(UidStore::next_attempt(d) == 100000 + 86400);
}

TEST_CASE("IMAP sync state survives save and reopen, and is dropped when the store changed under it") {
  TempDir dir;
  clamfetch::fetch::FolderSync sync{7, 12, 10, 99, 12};
  {
    UidStore store = open_store(dir.path);
    store.set_uidvalidity("INBOX", 7);
    for (const char* uid : {"3", "5", "11"}) REQUIRE(store.record("INBOX", uid, false, 100).ok());
    store.set_sync("INBOX", sync);
    REQUIRE(store.save().ok());
  }
  {
    UidStore store = open_store(dir.path);
    auto back = store.sync("INBOX");
    REQUIRE(back.has_value());
    CHECK(back->uidnext == 12);
    CHECK(back->exists == 10);
    CHECK(back->highestmodseq == 99);
    CHECK(back->settled_below == 12);
    CHECK_FALSE(store.sync("Other").has_value());
    // One more delivery recorded after the state was written (a run killed before save):
    // the state no longer describes the store, so the next poll lists the folder in full.
    REQUIRE(store.record("INBOX", "12", false, 100).ok());
  }
  UidStore store = open_store(dir.path);
  CHECK_FALSE(store.sync("INBOX").has_value());
}

TEST_CASE("a corrupt IMAP sync state is ignored, never taken for a store error") {
  TempDir dir;
  {
    UidStore store = open_store(dir.path);
    store.set_uidvalidity("INBOX", 7);
    REQUIRE(store.record("INBOX", "3", false, 100).ok());
    store.set_sync("INBOX", clamfetch::fetch::FolderSync{7, 4, 1, 0, 4});
    REQUIRE(store.save().ok());
  }
  fs::path sync_file = store_file(dir.path).string() + ".sync";
  REQUIRE(fs::exists(sync_file));
  std::ofstream(sync_file) << "clamfetch-sync 1\nfolder INBOX 7 x\n";
  UidStore store = open_store(dir.path);
  CHECK_FALSE(store.sync("INBOX").has_value());
  CHECK(store.delivered("INBOX", "3", 100));
}

TEST_CASE("unsettled lists UIDs with retry state or a pending delete, prune_gone drops vanished ones") {
  TempDir dir;
  UidStore store = open_store(dir.path);
  store.set_uidvalidity("INBOX", 7);
  REQUIRE(store.record("INBOX", "2", false, 100).ok());    // kept: settled
  REQUIRE(store.record("INBOX", "4", true, 100).ok());     // delete pending
  REQUIRE(store.note_deferral("INBOX", "6", 100, 1000, "MTA said 451").ok());
  REQUIRE(store.record_known(refs("INBOX", {"8"})).ok());  // known: settled
  REQUIRE(store.note_deferral("INBOX", "30", 100, 1000, "MTA said 451").ok());
  CHECK(store.unsettled("INBOX", 20) == std::vector<uint32_t>{4, 6});
  store.prune_gone("INBOX", {{3, 4}}, std::nullopt);
  CHECK_FALSE(store.has_uid("INBOX", "4"));
  CHECK(store.has_uid("INBOX", "2"));
  store.prune_gone("INBOX", {}, std::vector<uint32_t>{2, 30});
  CHECK(store.has_uid("INBOX", "2"));
  CHECK(store.has_uid("INBOX", "30"));
  CHECK_FALSE(store.has_uid("INBOX", "6"));
  CHECK_FALSE(store.has_uid("INBOX", "8"));
}
