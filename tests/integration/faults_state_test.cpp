// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Reliability (issue 7): the state directory failing. $CLAMFETCH_HOME on a full 1 MB tmpfs,
// and the UID store's directory made unwritable: the run stops before acknowledging anything
// it cannot record, exits 23 naming the reason, and loses nothing (at most the message in
// flight arrives twice on the next run). Tests run as root; clamfetch as the fixture's user.
#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "support/clamfetch_user.hpp"
#include "support/servers.hpp"

using namespace clamfetch::test;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::vector<std::string> seed(const MailServers& servers, const std::string& tag, int n) {
  std::vector<std::string> ids, messages;
  for (int i = 0; i < n; ++i) {
    ids.push_back(tag + std::to_string(i) + "@faults");
    messages.push_back(make_message(ids.back(), 3000));
  }
  servers.seed("pop3userid1", messages);
  return ids;
}

// A 1 MB tmpfs mounted on the fixture's CLAMFETCH_HOME for the test's lifetime (before the
// ClamfetchUser fills it with its CA file and rc file).
class SmallDisk {
 public:
  explicit SmallDisk(const std::string& dir) : dir_(dir) {
    std::filesystem::create_directories(dir);
    if (mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=1m,mode=0700") != 0) {
      throw std::runtime_error("cannot mount a tmpfs on " + dir + ": " + std::strerror(errno));
    }
  }
  ~SmallDisk() { umount2(dir_.c_str(), MNT_DETACH); }
  // Takes every free byte (as root: the reserve too).
  void fill() const {
    std::ofstream filler(dir_ + "/filler", std::ios::binary);
    std::string block(4096, 'x');
    while (filler.write(block.data(), block.size()) && filler.flush()) {}
  }

 private:
  std::string dir_;
};

void account_for(const MailServers& servers, const std::vector<std::string>& ids, int max_duplicates) {
  servers.wait_queue_empty();
  auto counts = count_message_ids(servers.delivered("virtualuser1"));
  int duplicates = 0;
  for (const auto& id : ids) {
    INFO(id);
    CHECK(counts[id] >= 1);
    duplicates += counts[id] > 1 ? counts[id] - 1 : 0;
  }
  CHECK(duplicates <= max_duplicates);
}

}  // namespace

TEST_CASE("CLAMFETCH_HOME on a full disk: exit 23 with the reason, nothing acknowledged or lost") {
  MailServers servers;
  SmallDisk disk(servers.dir() + "/cfhome");
  ClamfetchUser user(servers);
  user.write_rc(user.standard_rc());
  auto first_ids = seed(servers, "before-full", 3);
  REQUIRE(user.clamfetch({}).exit_code == 0);  // the state directory exists and works

  auto ids = seed(servers, "diskfull", 5);
  disk.fill();
  auto full = user.clamfetch({"-v"});
  INFO(full.err);
  CHECK(full.exit_code == 23);
  CHECK(contains(full.err, "No space left on device"));
  CHECK(servers.remote_messages("pop3userid1").size() == 5);  // none acknowledged
  servers.wait_queue_empty();
  // The record failed for at most the one message handed to the MTA; nothing else was sent.
  CHECK(servers.delivered("virtualuser1").size() <= 3 + 1);

  std::filesystem::remove(user.home() + "/filler");
  auto after = user.clamfetch({});
  INFO(after.err);
  CHECK(after.exit_code == 0);
  CHECK(servers.remote_messages("pop3userid1").empty());
  ids.insert(ids.end(), first_ids.begin(), first_ids.end());
  account_for(servers, ids, 1);
}

TEST_CASE("the UID store made unwritable: exit 23 with the reason, nothing acknowledged or lost") {
  MailServers servers;
  ClamfetchUser user(servers);
  user.write_rc(user.standard_rc("imap"));
  auto first_ids = seed(servers, "before-ro", 3);
  REQUIRE(user.clamfetch({}).exit_code == 0);

  auto ids = seed(servers, "readonly", 5);
  std::string uids = user.home() + "/uids";
  REQUIRE(chmod(uids.c_str(), 0500) == 0);
  auto refused = user.clamfetch({"-v"});
  INFO(refused.err);
  CHECK(refused.exit_code == 23);
  CHECK(contains(refused.err, "Permission denied"));
  CHECK(contains(refused.err, uids));
  CHECK(servers.remote_messages("pop3userid1").size() == 5);
  servers.wait_queue_empty();
  CHECK(servers.delivered("virtualuser1").size() <= 3 + 1);

  REQUIRE(chmod(uids.c_str(), 0700) == 0);
  auto after = user.clamfetch({});
  INFO(after.err);
  CHECK(after.exit_code == 0);
  CHECK(servers.remote_messages("pop3userid1").empty());
  ids.insert(ids.end(), first_ids.begin(), first_ids.end());
  account_for(servers, ids, 1);
}
