// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Which listed messages a poll retrieves, deletes without retrieving, or remembers as old
// mail: a pure function of the listing, the rc user and the UID store (app/poller.cpp).

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "fetch/fetch.hpp"
#include "rc/rc.hpp"

namespace clamfetch::app {

/// Which listed messages to retrieve, which to delete without delivering again, and which
/// to remember as known (already \Seen when a folder is first listed).
struct Plan {
  std::vector<fetch::MessageRef> retrieve;
  std::vector<fetch::MessageRef> delete_only;
  std::vector<fetch::MessageRef> known;
  uint64_t bytes = 0;
  bool fetchlimit_hit = false;
};

/// What plan_folder needs besides the listing.
struct PlanInput {
  const rc::User& user;
  const fetch::UidStore& store;
  bool first_run = false;  ///< no state for the folder, or its UIDVALIDITY changed
  std::time_t now = 0;
  const std::string& account;
  Log& log;
  /// When the rc file last changed: a deferral noted in an earlier second is retried at once,
  /// since the change may be its remedy (on_fail = "accept", a limit raised).
  std::time_t config_changed = 0;
};

/// The UID from which the next poll of an IMAP folder must list again (FolderSync): the
/// lowest listed or rejected UID the store holds nothing about (new mail not yet delivered,
/// skipped over `limit` or as \Deleted by another client, left by fetchlimit), else the
/// SELECT's UIDNEXT. Below it every message is delivered, known, or has retry state that the
/// store rechecks (UidStore::unsettled). Called once the plan was carried out: a retrieved
/// message counts as done only if its delivery or deferral was recorded. Pure.
uint32_t settled_below(const fetch::FolderListing& listing, const fetch::UidStore& store,
                       const std::string& folder);

/// The plan for one listed folder. Logs skipped messages (deferred, flagged \Deleted by
/// another client, over `limit`, rejected by the listing). Does not block.
Plan plan_folder(const fetch::FolderListing& listing, const PlanInput& in);

}  // namespace clamfetch::app
