// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The poller and the delivery pool built with fakes at their seams (app/ports.hpp): a scripted
// server session and a scripted MTA. The invariant - nothing is acknowledged whose hand-over
// to the MTA was not recorded - under a failure injected at each step (end of DATA refused,
// 4xx, the record failing, the acknowledge failing), and the scopes' handling (a message, a
// folder, an account). The UID store is the real one, in a temp directory.

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <span>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "app/handover.hpp"
#include "app/poller.hpp"
#include "app/ports.hpp"
#include "app/settings.hpp"
#include "app/test_seams.hpp"

namespace fs = std::filesystem;
using namespace clamfetch;
using clamfetch::fetch::MessageRef;

namespace {

struct TempDir {
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "cf-pipeline-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::string path;
};

std::string body(const std::string& uid) {
  return "From: sender@example.org\r\nSubject: message " + uid + "\r\n\r\nbody of " + uid + "\r\n";
}

// The server: folders of messages; what was acknowledged; failures to inject.
struct FakeServer {
  std::map<std::string, std::vector<std::string>> folders;  // folder -> UIDs
  std::map<std::string, Error> list_fails;                    // folder -> error
  std::set<std::string> retrieve_fails;                       // UIDs that fail, Scope::message
  bool acknowledge_fails = false;
  /// Called with what is being acknowledged, before the server forgets it.
  std::function<void(std::span<const MessageRef>)> on_acknowledge;
  std::vector<std::string> acknowledged;                      // "folder/uid"
  std::vector<std::string> listed;                            // folders, in order

  bool was_acknowledged(const std::string& folder, const std::string& uid) const {
    return std::find(acknowledged.begin(), acknowledged.end(), folder + "/" + uid) != acknowledged.end();
  }
};

class FakeSession final : public fetch::Session {
 public:
  explicit FakeSession(FakeServer& server) : server_(server) {}
  Status open() override { return {}; }
  Result<fetch::FolderListing> list(const std::string& folder) override {
    server_.listed.push_back(folder);
    if (auto f = server_.list_fails.find(folder); f != server_.list_fails.end()) return f->second;
    fetch::FolderListing listing;
    listing.uidvalidity = 7;
    uint32_t number = 0;
    for (const auto& uid : server_.folders[folder]) {
      listing.messages.push_back(MessageRef{folder, ++number, uid, body(uid).size(), false, false, 7});
    }
    return listing;
  }
  Status retrieve(std::span<const MessageRef> refs, const fetch::OnMessage& on_message) override {
    for (const auto& ref : refs) {
      bool more = server_.retrieve_fails.count(ref.uid) != 0
                      ? on_message(ref, make_error(Kind::server, Scope::message, "RETR refused"))
                      : on_message(ref, body(ref.uid));
      if (!more) break;
    }
    return {};
  }
  Status acknowledge(std::span<const MessageRef> refs, bool) override {
    if (server_.acknowledge_fails) return make_error(Kind::server, Scope::mailbox, "STORE failed");
    if (server_.on_acknowledge) server_.on_acknowledge(refs);
    for (const auto& ref : refs) server_.acknowledged.push_back(ref.folder + "/" + ref.uid);
    return {};
  }
  Status close() override { return {}; }

 private:
  FakeServer& server_;
};

// The MTA: a reply code per message (by its Subject's UID), 250 unless scripted.
struct FakeMta {
  std::map<std::string, int> codes;      // uid -> reply code
  std::vector<std::string> taken;        // UIDs whose "." was written and answered 2xx
  std::vector<std::string> abandoned;    // UIDs whose end of DATA the gate refused
  std::mutex mutex;

  int code_for(const std::string& uid) {
    auto c = codes.find(uid);
    return c == codes.end() ? 250 : c->second;
  }
};

std::string uid_of(const std::string& data) {
  auto at = data.find("Subject: message ");
  if (at == std::string::npos) return "(notice)";
  at += 17;
  return data.substr(at, data.find('\r', at) - at);
}

class FakeTransport final : public deliver::Transport {
 public:
  explicit FakeTransport(FakeMta& mta) : mta_(mta) {}
  deliver::Outcome send(const deliver::Envelope& env, std::span<const std::string_view> parts) override {
    std::string data;
    for (auto part : parts) data += part;
    std::string uid = uid_of(data);
    int code = mta_.code_for(uid);
    deliver::Outcome out;
    out.stage = deliver::Outcome::Stage::data;
    if (code / 100 == 2 && !before_end_of_data()) {
      std::lock_guard lock(mta_.mutex);
      mta_.abandoned.push_back(uid);
      out.status = deliver::Outcome::Status::unreachable;
      out.reply = {0, "abandoned before the end of DATA"};
      out.per_recipient.assign(env.recipients.size(), deliver::Reply{0, "not sent"});
      return out;
    }
    out.status = code / 100 == 2 ? deliver::Outcome::Status::delivered : deliver::Outcome::Status::temporary;
    out.reply = {code, "scripted"};
    out.per_recipient.assign(env.recipients.size(), out.reply);
    if (code / 100 == 2) {
      std::lock_guard lock(mta_.mutex);
      mta_.taken.push_back(uid);
    }
    return out;
  }
  void close() override {}

 private:
  FakeMta& mta_;
};

rc::Config config_for(rc::Protocol protocol, std::vector<std::string> folders) {
  rc::Config config;
  config.scan.enabled = false;
  config.global.parallel = 1;
  config.global.smtp_sessions = 1;  // one worker: messages reach the MTA in order
  config.global.postmaster = "postmaster@local.test";
  rc::Poll poll;
  poll.server = "mail.test";
  poll.protocol = protocol;
  rc::User user;
  user.username = "u";
  user.is = {"rcpt@local.test"};
  user.folders = std::move(folders);
  poll.users.push_back(user);
  config.polls.push_back(poll);
  return config;
}

struct Pipeline {
  Pipeline(rc::Protocol protocol, std::vector<std::string> folders)
      : config(config_for(protocol, std::move(folders))) {
    log.set_level(Level::error);
  }
  app::Ports ports() {
    app::Ports p;
    p.session = [this](const rc::Poll&, const rc::User&, Log&) { return std::make_unique<FakeSession>(server); };
    p.transport = [this](const rc::User&, const std::string&, Log&) { return std::make_unique<FakeTransport>(mta); };
    return p;
  }
  int poll() {
    app::Poller poller(config, state.path, log, ports());
    poller.set_probe(probe);
    return poller.poll_once({});
  }
  fetch::UidStore store() {
    auto s = fetch::UidStore::open(state.path, app::account_key(config.polls[0], config.polls[0].users[0]));
    REQUIRE(s.ok());
    return std::move(*s);
  }
  rc::Config config;
  TempDir state;
  Log log;
  FakeServer server;
  FakeMta mta;
  app::PipelineProbe* probe = nullptr;
};

// Counts the hand-over's steps and checks, at each, that the server was told to forget
// nothing yet (acknowledging waits for every hand-over of the folder). Runs on the worker.
struct StepProbe final : app::PipelineProbe {
  explicit StepProbe(FakeServer& s) : server(s) {}
  void after_2xx() override { step(); }
  void after_record() override { step(); }
  void step() {
    ++steps;
    if (!server.acknowledged.empty()) ++violations;
  }
  FakeServer& server;
  std::atomic<int> steps{0};
  std::atomic<int> violations{0};
};

}  // namespace

TEST_CASE("every message the MTA took is recorded before it is acknowledged") {
  Pipeline p(rc::Protocol::pop3, {"INBOX"});
  p.server.folders["INBOX"] = {"1", "2", "3"};
  StepProbe probe(p.server);
  p.probe = &probe;
  // At the acknowledge, every message it names is durably recorded (a second reader of the
  // state directory sees it): a kill right then delivers nothing twice.
  int unrecorded = 0;
  p.server.on_acknowledge = [&](std::span<const MessageRef> refs) {
    auto store = fetch::UidStore::open(p.state.path, app::account_key(p.config.polls[0], p.config.polls[0].users[0]));
    for (const auto& ref : refs) {
      if (!store || !store->pending_delete(ref.folder, ref.uid, ref.size)) ++unrecorded;
    }
  };
  CHECK(p.poll() == 0);
  CHECK(unrecorded == 0);
  CHECK(p.server.acknowledged == std::vector<std::string>{"INBOX/1", "INBOX/2", "INBOX/3"});
  CHECK(probe.steps == 6);
  CHECK(probe.violations == 0);
  // POP3: the committed deletions were forgotten after QUIT (a reused UIDL is a new message).
  auto store = p.store();
  for (const char* uid : {"1", "2", "3"}) CHECK_FALSE(store.has_uid("INBOX", uid));
}

TEST_CASE("a 4xx at the end of DATA leaves that message on the server, the rest flows") {
  Pipeline p(rc::Protocol::pop3, {"INBOX"});
  p.server.folders["INBOX"] = {"1", "2", "3"};
  p.mta.codes["2"] = 451;
  CHECK(p.poll() == 0);
  CHECK(p.server.acknowledged == std::vector<std::string>{"INBOX/1", "INBOX/3"});
  CHECK_FALSE(p.store().delivered("INBOX", "2", body("2").size()));
}

TEST_CASE("a record that fails is not acknowledged and stops the account before the next end of DATA") {
  Pipeline p(rc::Protocol::pop3, {"INBOX"});
  // A UID the store refuses to record (Kind::internal): the MTA took it, the record failed.
  p.server.folders["INBOX"] = {"bad uid", "2", "3"};
  CHECK(p.poll() == 23);
  // Nothing more reached the MTA once the account stopped, and nothing was acknowledged.
  CHECK(p.mta.taken == std::vector<std::string>{"bad uid"});
  CHECK(p.server.acknowledged.empty());
}

TEST_CASE("an acknowledge that fails leaves the deletions pending: the next poll deletes without delivering") {
  Pipeline p(rc::Protocol::pop3, {"INBOX"});
  p.server.folders["INBOX"] = {"1", "2"};
  p.server.acknowledge_fails = true;
  CHECK(p.poll() == 0);  // mail was handed on
  CHECK(p.server.acknowledged.empty());
  CHECK(p.store().pending_delete("INBOX", "1", body("1").size()));
  p.server.acknowledge_fails = false;
  p.mta.taken.clear();
  (void)p.poll();
  CHECK(p.mta.taken.empty());
  CHECK(p.server.acknowledged == std::vector<std::string>{"INBOX/1", "INBOX/2"});
}

TEST_CASE("a message-scoped failure skips the message, the folder goes on") {
  Pipeline p(rc::Protocol::pop3, {"INBOX"});
  p.server.folders["INBOX"] = {"1", "2", "3"};
  p.server.retrieve_fails = {"2"};
  CHECK(p.poll() == 0);
  CHECK(p.server.acknowledged == std::vector<std::string>{"INBOX/1", "INBOX/3"});
}

TEST_CASE("a folder-scoped failure skips the folder, the account's next folder goes on") {
  Pipeline p(rc::Protocol::imap, {"A", "B"});
  p.server.folders["B"] = {"1"};
  p.server.list_fails.emplace("A", make_error(Kind::server, Scope::mailbox, "no such folder"));
  CHECK(p.poll() == 0);
  CHECK(p.server.listed == std::vector<std::string>{"A", "B"});
  CHECK(p.server.acknowledged == std::vector<std::string>{"B/1"});
}

TEST_CASE("an account-scoped failure ends the account's poll: its next folder is not polled") {
  Pipeline p(rc::Protocol::imap, {"A", "B"});
  p.server.folders["B"] = {"1"};
  p.server.list_fails.emplace("A", make_error(Kind::protocol, Scope::account, "garbled reply"));
  CHECK(p.poll() == 4);
  CHECK(p.server.listed == std::vector<std::string>{"A"});
  CHECK(p.server.acknowledged.empty());
}
