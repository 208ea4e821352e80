// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "app/handover.hpp"

#include <utility>

namespace clamfetch::app {

AccountLedger::AccountLedger(fetch::UidStore& store, bool keep, HandoverGate* gate, HandoverProbe* probe)
    : store_(store), keep_(keep), gate_(gate), probe_(probe) {}

std::vector<std::string> AccountLedger::accepted(const fetch::MessageRef& ref) {
  std::lock_guard lock(store_mutex_);
  return store_.accepted(ref.folder, ref.uid);
}

Result<fetch::UidStore::Deferral> AccountLedger::note_deferral(const fetch::MessageRef& ref, std::time_t now,
                                                               const std::string& reason) {
  std::lock_guard lock(store_mutex_);
  return store_.note_deferral(ref.folder, ref.uid, ref.size, now, reason);
}

Status AccountLedger::mark_notified(const fetch::MessageRef& ref) {
  std::lock_guard lock(store_mutex_);
  return store_.mark_notified(ref.folder, ref.uid);
}

bool AccountLedger::stopped() const {
  std::lock_guard lock(mutex_);
  return stopped_;
}

std::vector<fetch::MessageRef> AccountLedger::acknowledgeable() const {
  std::lock_guard lock(mutex_);
  return acknowledgeable_;
}

Handover::Handover(AccountLedger& ledger, fetch::MessageRef ref)
    : ledger_(ledger), ref_(std::move(ref)), lock_(ledger.handover_mutex_, std::defer_lock) {}

Handover::~Handover() { finish(); }

bool Handover::pass_end_of_data() {
  if (step_ != Step::started) return false;
  if (!lock_.owns_lock()) lock_.lock();
  // A hung scan is ending the process: nothing new may reach the MTA, since its 2xx might
  // not be recorded in time (the message stays on the server).
  if (ledger_.gate_ != nullptr && !in_gate_) {
    if (!ledger_.gate_->enter()) return false;
    in_gate_ = true;
  }
  // The account's UID store failed meanwhile: this delivery could not be recorded, so it is
  // abandoned before the MTA can take it (the message stays on the server).
  return !ledger_.stopped();
}

Status Handover::record_failed(const Error& error) {
  // No further delivery of this account could be recorded either: the account stops.
  Error stopping = with_scope(error, Scope::account);
  std::lock_guard lock(ledger_.mutex_);
  ledger_.stopped_ = true;
  return stopping;
}

Status Handover::handed_on() {
  if (step_ != Step::started) return make_error(Kind::internal, Scope::message, "hand-over already ended");
  if (ledger_.probe_ != nullptr) ledger_.probe_->after_2xx();
  // Durably note the hand-over before the server may forget the message.
  Status recorded = [&] {
    std::lock_guard lock(ledger_.store_mutex_);
    return ledger_.store_.record(ref_.folder, ref_.uid, !ledger_.keep_, ref_.size);
  }();
  if (recorded) step_ = Step::recorded;
  else recorded = record_failed(recorded.error());
  if (ledger_.probe_ != nullptr) ledger_.probe_->after_record();
  return recorded;
}

Status Handover::partly_accepted(const std::vector<std::string>& recipients) {
  if (step_ != Step::started) return make_error(Kind::internal, Scope::message, "hand-over already ended");
  Status noted = [&] {
    std::lock_guard lock(ledger_.store_mutex_);
    return ledger_.store_.record_accepted(ref_.folder, ref_.uid, ref_.size, recipients);
  }();
  if (!noted) return record_failed(noted.error());
  return noted;
}

bool Handover::finish() {
  if (step_ == Step::finished) return false;
  bool recorded = step_ == Step::recorded;
  step_ = Step::finished;
  if (in_gate_) {
    ledger_.gate_->leave();
    in_gate_ = false;
  }
  if (lock_.owns_lock()) lock_.unlock();
  if (recorded) {
    std::lock_guard lock(ledger_.mutex_);
    ledger_.acknowledgeable_.push_back(ref_);
  }
  return recorded;
}

bool HandoverGate::enter() {
  std::lock_guard lock(mutex_);
  if (closed_) return false;
  ++in_progress_;
  return true;
}

void HandoverGate::leave() {
  std::lock_guard lock(mutex_);
  if (in_progress_ > 0 && --in_progress_ == 0) done_.notify_all();
}

void HandoverGate::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
}

bool HandoverGate::drain(std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  return done_.wait_for(lock, limit, [&] { return in_progress_ == 0; });
}

}  // namespace clamfetch::app
