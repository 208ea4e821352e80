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

}  // namespace

TEST_CASE("recorded UIDs survive save and reopen with their pending-delete flag") {
  TempDir tmp;
  {
    UidStore store = open_store(tmp.path);
    CHECK_FALSE(store.delivered("INBOX", "000000016b02d66b"));
    REQUIRE(store.record("INBOX", "000000016b02d66b", false).ok());
    REQUIRE(store.record("INBOX", "000000026b02d66b", true).ok());
    REQUIRE(store.record("Lists/clam av", "17", false).ok());
    REQUIRE(store.save().ok());
  }
  UidStore store = open_store(tmp.path);
  CHECK(store.delivered("INBOX", "000000016b02d66b"));
  CHECK_FALSE(store.pending_delete("INBOX", "000000016b02d66b"));
  CHECK(store.delivered("INBOX", "000000026b02d66b"));
  CHECK(store.pending_delete("INBOX", "000000026b02d66b"));
  CHECK(store.delivered("Lists/clam av", "17"));
  CHECK_FALSE(store.delivered("INBOX", "17"));
  CHECK_FALSE(store.delivered("Lists/clam av", "000000016b02d66b"));
}

TEST_CASE("files are 0600 in a 0700 directory and named by a hash of the account") {
  TempDir tmp;
  UidStore store = open_store(tmp.path);
  REQUIRE(store.record("INBOX", "1", false).ok());
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
    REQUIRE(store.record("INBOX", "a1", false).ok());
    REQUIRE(store.save().ok());
    REQUIRE(store.record("INBOX", "a2", true).ok());
    REQUIRE(store.record("INBOX", "a3", false).ok());
    // "crash": the store is dropped without save()
  }
  fs::path journal = store_file(tmp.path).string() + ".journal";
  REQUIRE(fs::exists(journal));
  UidStore store = open_store(tmp.path);
  CHECK(store.delivered("INBOX", "a1"));
  CHECK(store.delivered("INBOX", "a2"));
  CHECK(store.pending_delete("INBOX", "a2"));
  CHECK(store.delivered("INBOX", "a3"));
  REQUIRE(store.save().ok());
  CHECK_FALSE(fs::exists(journal));  // folded into the file
  UidStore again = open_store(tmp.path);
  CHECK(again.delivered("INBOX", "a3"));
}

TEST_CASE("a torn last journal line (killed mid-append) is ignored and the rest replayed") {
  TempDir tmp;
  {
    UidStore store = open_store(tmp.path);
    REQUIRE(store.record("INBOX", "b1", false).ok());
  }
  fs::path journal;  // the only file so far: nothing was saved
  for (const auto& entry : fs::directory_iterator(tmp.path / "uids")) journal = entry.path();
  REQUIRE(journal.extension() == ".journal");
  {
    std::ofstream out(journal, std::ios::app | std::ios::binary);
    out << "uid k 0 INBOX b2";  // no newline: record() never returned
  }
  UidStore store = open_store(tmp.path);
  CHECK(store.delivered("INBOX", "b1"));
  CHECK_FALSE(store.delivered("INBOX", "b2"));
}

TEST_CASE("a crash between the temp write and the rename leaves the old store intact") {
  TempDir tmp;
  {
    UidStore store = open_store(tmp.path);
    REQUIRE(store.record("INBOX", "old1", false).ok());
    REQUIRE(store.save().ok());
  }
  fs::path file = store_file(tmp.path);
  std::string before = slurp(file);

  SECTION("a half-written temp file from the crash is not read") {
    std::ofstream(file.string() + ".tmp", std::ios::binary) << "clamfetch-uids 1\nfolder 0 INB";
    UidStore store = open_store(tmp.path);
    CHECK(store.delivered("INBOX", "old1"));
    REQUIRE(store.record("INBOX", "new1", false).ok());
    REQUIRE(store.save().ok());  // the stale temp file is simply overwritten
    CHECK_FALSE(fs::exists(file.string() + ".tmp"));
    CHECK(open_store(tmp.path).delivered("INBOX", "new1"));
  }
  SECTION("a save that cannot write its temp file fails with Kind::state, old file untouched") {
    fs::create_directory(file.string() + ".tmp");  // in the way of the temp file
    UidStore store = open_store(tmp.path);
    store.prune("INBOX", {});
    auto saved = store.save();
    REQUIRE_FALSE(saved.ok());
    CHECK(saved.error().kind == Kind::state);
    CHECK(saved.error().text.find(file.string() + ".tmp") != std::string::npos);
    CHECK(slurp(file) == before);
    fs::remove(file.string() + ".tmp");
    CHECK(open_store(tmp.path).delivered("INBOX", "old1"));
  }
}

TEST_CASE("prune forgets UIDs no longer on the server and only in that folder") {
  TempDir tmp;
  UidStore store = open_store(tmp.path);
  for (const char* uid : {"u1", "u2", "u3"}) REQUIRE(store.record("INBOX", uid, false).ok());
  REQUIRE(store.record("Sent", "u1", false).ok());
  store.prune("INBOX", {"u2", "u9"});
  CHECK_FALSE(store.delivered("INBOX", "u1"));
  CHECK(store.delivered("INBOX", "u2"));
  CHECK_FALSE(store.delivered("INBOX", "u3"));
  CHECK(store.delivered("Sent", "u1"));
  REQUIRE(store.save().ok());
  UidStore reloaded = open_store(tmp.path);
  CHECK_FALSE(reloaded.delivered("INBOX", "u1"));
  CHECK(reloaded.delivered("INBOX", "u2"));
}

TEST_CASE("a UIDVALIDITY change forgets the folder's UIDs also across a crash") {
  TempDir tmp;
  {
    UidStore store = open_store(tmp.path);
    CHECK_FALSE(store.set_uidvalidity("INBOX", 1000));
    REQUIRE(store.record("INBOX", "5", false).ok());
    REQUIRE(store.save().ok());
    CHECK_FALSE(store.set_uidvalidity("INBOX", 1000));
    CHECK(store.delivered("INBOX", "5"));
    CHECK(store.set_uidvalidity("INBOX", 2000));
    CHECK_FALSE(store.delivered("INBOX", "5"));
    REQUIRE(store.record("INBOX", "6", false).ok());
    // crash: the file still says 1000 with UID 5, the journal has 6 under 2000
  }
  UidStore store = open_store(tmp.path);
  CHECK_FALSE(store.delivered("INBOX", "5"));
  CHECK(store.delivered("INBOX", "6"));
  CHECK_FALSE(store.set_uidvalidity("INBOX", 2000));
  CHECK(store.delivered("INBOX", "6"));
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
  REQUIRE(store.record("INBOX", "x1", false).ok());
  REQUIRE(store.save().ok());
  fs::path journal = store_file(tmp.path).string() + ".journal";
  fs::create_symlink("/dev/full", journal);  // every write: ENOSPC
  auto recorded = store.record("INBOX", "x2", false);
  REQUIRE_FALSE(recorded.ok());
  CHECK(recorded.error().kind == Kind::state);
  CHECK(recorded.error().text.find("No space left on device") != std::string::npos);
  CHECK(recorded.error().text.find(journal.string()) != std::string::npos);
  CHECK_FALSE(store.delivered("INBOX", "x2"));
}

TEST_CASE("a corrupt store file is Kind::state with file and line") {
  TempDir tmp;
  {
    UidStore store = open_store(tmp.path);
    REQUIRE(store.record("INBOX", "c1", false).ok());
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
  CHECK_FALSE(store.record("INBOX", "has space", false).ok());
  CHECK_FALSE(store.record("INBOX", std::string(71, 'x'), false).ok());
  CHECK_FALSE(store.record("INBOX", "", false).ok());
  CHECK(store.record("INBOX", std::string(70, 'x'), false).ok());
}
