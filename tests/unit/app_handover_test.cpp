// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The hand-over (app/handover.hpp) on its own: a message becomes acknowledgeable only through
// a recorded hand-over; a closed gate or a stopped account abandons the end of DATA; one
// message of an account at a time between the end of DATA and the record.

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "app/handover.hpp"

namespace fs = std::filesystem;
using namespace clamfetch;
using clamfetch::app::AccountLedger;
using clamfetch::app::Handover;
using clamfetch::app::HandoverGate;
using clamfetch::fetch::MessageRef;
using namespace std::chrono_literals;

namespace {

struct Store {
  Store() {
    std::string pattern = (fs::temp_directory_path() / "cf-handover-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
    auto opened = fetch::UidStore::open(path, "pop3://u@h:995");
    REQUIRE(opened.ok());
    store.emplace(std::move(*opened));
  }
  ~Store() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::string path;
  std::optional<fetch::UidStore> store;
};

MessageRef ref(const std::string& uid) { return MessageRef{"INBOX", 1, uid, 100, false, false, 0}; }

}  // namespace

TEST_CASE("a hand-over that was not recorded is not acknowledgeable") {
  Store s;
  AccountLedger ledger(*s.store, false);
  {
    Handover h(ledger, ref("1"));
    CHECK(h.pass_end_of_data());
    // the MTA answered 4xx: no handed_on()
    CHECK_FALSE(h.finish());
  }
  CHECK(ledger.acknowledgeable().empty());
  Handover h(ledger, ref("2"));
  CHECK(h.pass_end_of_data());
  REQUIRE(h.handed_on().ok());
  CHECK(h.finish());
  REQUIRE(ledger.acknowledgeable().size() == 1);
  CHECK(ledger.acknowledgeable()[0].uid == "2");
  CHECK(s.store->pending_delete("INBOX", "2", 100));
}

TEST_CASE("a closed gate abandons the end of DATA") {
  Store s;
  HandoverGate gate;
  AccountLedger ledger(*s.store, false, &gate);
  gate.close();
  Handover h(ledger, ref("1"));
  CHECK_FALSE(h.pass_end_of_data());
  CHECK_FALSE(h.finish());
  CHECK(ledger.acknowledgeable().empty());
}

TEST_CASE("a failed record stops the account: no later message passes the end of DATA") {
  Store s;
  AccountLedger ledger(*s.store, false);
  {
    Handover h(ledger, ref("bad uid"));
    CHECK(h.pass_end_of_data());
    Status recorded = h.handed_on();
    REQUIRE_FALSE(recorded.ok());
    CHECK(stops(recorded.error()) == Stops::account);
    CHECK_FALSE(h.finish());
  }
  CHECK(ledger.stopped());
  Handover next(ledger, ref("2"));
  CHECK_FALSE(next.pass_end_of_data());
  CHECK(ledger.acknowledgeable().empty());
}

TEST_CASE("the probe sees the 2xx before the record and the record before the acknowledge") {
  Store s;
  struct Probe final : app::HandoverProbe {
    Probe(fetch::UidStore& st, AccountLedger*& l) : store(st), ledger(l) {}
    void after_2xx() override {
      before = store.delivered("INBOX", "1", 100);
      listed_before = !ledger->acknowledgeable().empty();
    }
    void after_record() override { after = store.delivered("INBOX", "1", 100); }
    fetch::UidStore& store;
    AccountLedger*& ledger;
    bool before = true, after = false, listed_before = true;
  };
  AccountLedger* ledger_ptr = nullptr;
  Probe probe(*s.store, ledger_ptr);
  AccountLedger ledger(*s.store, false, nullptr, &probe);
  ledger_ptr = &ledger;
  Handover h(ledger, ref("1"));
  REQUIRE(h.pass_end_of_data());
  REQUIRE(h.handed_on().ok());
  CHECK_FALSE(probe.before);
  CHECK_FALSE(probe.listed_before);
  CHECK(probe.after);
  CHECK(h.finish());
}

TEST_CASE("one message of an account at a time between the end of DATA and the record") {
  Store s;
  AccountLedger ledger(*s.store, false);
  Handover first(ledger, ref("1"));
  REQUIRE(first.pass_end_of_data());
  std::atomic<bool> second_passed{false};
  std::thread other([&] {
    Handover second(ledger, ref("2"));
    second_passed = second.pass_end_of_data();
    (void)second.handed_on();
    second.finish();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK_FALSE(second_passed);  // waits for the first's record
  REQUIRE(first.handed_on().ok());
  first.finish();
  other.join();
  CHECK(second_passed);
  CHECK(ledger.acknowledgeable().size() == 2);
}

TEST_CASE("the hand-over gate: closed, it admits nothing and drains what is in progress", "[app][handover]") {
  HandoverGate gate;
  CHECK(gate.drain(0ms));
  REQUIRE(gate.enter());
  REQUIRE(gate.enter());
  gate.leave();
  gate.close();
  CHECK_FALSE(gate.enter());
  // One hand-over still in progress: drain waits for it, up to its limit.
  auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(gate.drain(200ms));
  CHECK(std::chrono::steady_clock::now() - start >= 200ms);
  std::thread recorder([&] {
    std::this_thread::sleep_for(100ms);
    gate.leave();
  });
  CHECK(gate.drain(5s));
  recorder.join();
}
