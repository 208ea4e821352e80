// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// The delivering side of a poll: a pool of workers that scan, route and hand messages to the
// MTA, each keeping its own MTA connections (global.smtp_sessions at once). Retrieval feeds
// it through a bounded queue, so fetching, scanning and delivering overlap.

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/handover.hpp"
#include "app/ports.hpp"
#include "app/work_queue.hpp"
#include "core/log.hpp"
#include "core/message.hpp"
#include "fetch/fetch.hpp"
#include "rc/rc.hpp"
#include "scan/scan.hpp"
#include "scan/scan_guard.hpp"

namespace clamfetch::app {

/// Per-account state of one folder's poll, shared between the account's thread and the
/// workers: what is in flight, what was handed on, the last failure. The invariant's state
/// (UID store, hand-over lock, what may be acknowledged) is the ledger's (handover.hpp).
struct AccountRun {
  const rc::Poll* poll = nullptr;
  const rc::User* user = nullptr;
  std::string name;                 ///< "user@server"
  AccountLedger* ledger = nullptr;

  std::mutex mutex;
  std::condition_variable idle;
  std::size_t in_flight = 0;
  unsigned retrieved = 0;                   ///< handed on: delivered, diverted or dropped
  std::optional<Error> error;               ///< the last failure
  bool stop = false;                        ///< a failure that must end the account's poll

  /// Notes the failure; one that stops the account (stops(e) >= Stops::account) ends its poll.
  void fail(Error e);
  /// True once a failure stopped the account (or its ledger: a record failed).
  bool stopped();
  /// Blocks until every message submitted for this account is finished.
  void wait_idle();
};

struct Job {
  AccountRun* account = nullptr;
  fetch::MessageRef ref;
  Message message;
  std::size_t index = 0;   ///< 1-based, for "reading message U@H:I of N"
  std::size_t total = 0;
};

class DeliveryPool {
 public:
  /// `scanner` may be null when scanning is disabled. Each worker opens its MTA connections
  /// through `transports`. `guard` (poison-message protection of in-process scans; may be
  /// null: unguarded) must outlive the pool. Starts global.smtp_sessions workers.
  DeliveryPool(const rc::Config& config, scan::Scanner* scanner, const scan::Allowlist& allowlist,
               std::string quarantine_dir, Log& log, TransportFactory transports,
               scan::ScanGuard* guard = nullptr);
  /// Finishes queued jobs, closes MTA connections, joins the workers.
  ~DeliveryPool();
  DeliveryPool(const DeliveryPool&) = delete;
  DeliveryPool& operator=(const DeliveryPool&) = delete;

  /// Queue a message (blocks while the queue is full). Counts it in account->in_flight.
  void submit(Job job);

 private:
  void work();

  const rc::Config& config_;
  scan::Scanner* scanner_;
  const scan::Allowlist& allowlist_;
  std::string quarantine_dir_;
  Log& log_;
  TransportFactory transports_;
  scan::ScanGuard* guard_;
  WorkQueue<Job> queue_;
  std::vector<std::thread> workers_;
};

}  // namespace clamfetch::app
