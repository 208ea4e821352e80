// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// The hand-over: the one place that owns the invariant "a message leaves the server only
// after the MTA took it and that is recorded". For one message it goes
//
//   pass_end_of_data()  may the transport write the final "."? (the account's lock, the
//                       watchdog's gate, the account not stopped)
//   handed_on()         the MTA said 2xx for every recipient (or the message was disposed of
//                       by policy): the UID is recorded in the account's store
//   finish()            the lock and the gate are let go; a recorded message joins the
//                       account's acknowledgeable list
//
// and AccountLedger::acknowledgeable() is the only list the poller acknowledges. Nothing else
// in app/ touches the UID store's delivery records, the account's hand-over lock or the gate.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "deliver/deliver.hpp"
#include "fetch/fetch.hpp"

namespace clamfetch::app {

/// Counts hand-overs to the MTA in progress (from right before the end of DATA until the UID
/// record) and can stop new ones, so that a process about to end lets the MTA's 2xx it is
/// waiting for reach the UID store first. Thread-safe.
class HandoverGate {
 public:
  /// True: a hand-over may start, counted until leave(). False once closed (abandon it).
  bool enter();
  /// Ends a hand-over that enter() admitted.
  void leave();
  /// From now on enter() returns false. Never blocks beyond a short lock.
  void close();
  /// Waits until no admitted hand-over is left, or `limit` passed. True when none is left.
  bool drain(std::chrono::milliseconds limit);

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  unsigned in_progress_ = 0;
  bool closed_ = false;
};

/// Where a hand-over reports its steps, for the fault-injection trials (kill at an exact
/// point). Production runs without one. Called on the delivering thread.
class HandoverProbe {
 public:
  virtual ~HandoverProbe() = default;
  /// The MTA took the message; its UID is not recorded yet.
  virtual void after_2xx() {}
  /// The UID record was attempted (recorded, or the account stopped).
  virtual void after_record() {}
};

/// One account's side of the invariant, for one folder's poll: its UID store (not
/// thread-safe: every use goes through here), its hand-over lock, whether it stopped, and the
/// messages that may be acknowledged. Thread-safe.
class AccountLedger {
 public:
  /// `keep`: acknowledged messages stay on the server (marked seen), so no delete is pending.
  /// `gate` (null: none) is closed when a hung scan ends the process. `probe` may be null.
  AccountLedger(fetch::UidStore& store, bool keep, HandoverGate* gate = nullptr,
                HandoverProbe* probe = nullptr);

  /// Recipients an earlier poll delivered the message to while others answered 4xx.
  std::vector<std::string> accepted(const fetch::MessageRef& ref);
  /// Notes a deferral of the message's own making (UidStore::note_deferral).
  Result<fetch::UidStore::Deferral> note_deferral(const fetch::MessageRef& ref, std::time_t now,
                                                  const std::string& reason);
  /// Notes that the postmaster was told about the deferral (UidStore::mark_notified).
  Status mark_notified(const fetch::MessageRef& ref);

  /// True once a record failed: nothing more of this account may reach the MTA.
  bool stopped() const;
  /// The messages whose hand-over was recorded, in the order they were: what may leave the
  /// server. Read it once every hand-over of the account finished.
  std::vector<fetch::MessageRef> acknowledgeable() const;

 private:
  friend class Handover;
  fetch::UidStore& store_;
  bool keep_;
  HandoverGate* gate_;
  HandoverProbe* probe_;
  std::mutex store_mutex_;  // the UidStore is not thread-safe; workers of one account share it
  /// Held from a message's end of DATA until its UID is recorded: at any moment at most one
  /// message of the account is delivered but not yet recorded, so a kill duplicates at most
  /// one message per account. Scanning and the transfers themselves overlap.
  std::mutex handover_mutex_;
  mutable std::mutex mutex_;  // stopped_, acknowledgeable_
  bool stopped_ = false;
  std::vector<fetch::MessageRef> acknowledgeable_;
};

/// One message's hand-over (see the top of this file). Given to the transport as its
/// end-of-data gate. Used by one thread; finish() (or the destructor) ends it.
class Handover final : public deliver::EndOfDataGate {
 public:
  Handover(AccountLedger& ledger, fetch::MessageRef ref);
  ~Handover() override;
  Handover(const Handover&) = delete;
  Handover& operator=(const Handover&) = delete;

  /// Right before the end of DATA: takes the account's hand-over lock (kept until finish()),
  /// enters the watchdog's gate. False when the gate is closed or the account stopped: the
  /// message is abandoned before the MTA can take it.
  bool pass_end_of_data() override;

  /// The MTA said 2xx for every recipient (or the message is disposed of without the MTA):
  /// records the UID. Errors: the record failed, with Scope::account (the account stops; the
  /// message stays on the server).
  Status handed_on();
  /// Some recipients have the message, the others are retried: records who has it, so the
  /// retry does not give them a second copy. Errors: as handed_on(); not acknowledgeable.
  Status partly_accepted(const std::vector<std::string>& recipients);

  /// Ends the hand-over: lets go of the gate and the lock; a recorded message joins the
  /// ledger's acknowledgeable list. True when it did. Idempotent.
  bool finish();

 private:
  enum class Step { started, recorded, finished };
  Status record_failed(const Error& error);

  AccountLedger& ledger_;
  fetch::MessageRef ref_;
  Step step_ = Step::started;
  std::unique_lock<std::mutex> lock_;
  bool in_gate_ = false;
};

}  // namespace clamfetch::app
