// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// plan_folder: the fate of each listed message (see plan.hpp).

#include "app/plan.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string_view>
#include <unordered_map>

namespace clamfetch::app {
namespace {

enum class Action { retrieve, delete_only, known, skip };

std::string local_time(std::time_t t) {
  std::tm tm{};
  localtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
  return text;
}

// The fate of one listed message. A mark counts only for the size it was recorded with: a
// POP3 UIDL can come back on a different message, which must then be retrieved, not deleted
// blind. A UIDL listed twice makes every mark on it ambiguous: no blind delete then either.
Action classify(const fetch::MessageRef& ref, bool duplicate, const PlanInput& in) {
  const rc::User& user = in.user;
  if (in.store.pending_delete(ref.folder, ref.uid, ref.size)) {
    // Delivered by an earlier run that lost the connection before QUIT: only delete it now.
    if (user.keep) return Action::skip;
    if (!duplicate) return Action::delete_only;
    in.log.verbose(in.account + ": UID " + ref.uid + " listed more than once: retrieved again, "
                   "not deleted on the strength of an earlier delivery");
  } else if (ref.deleted) {
    // fetchmail's habit: what another client flagged \Deleted is left alone.
    in.log.verbose(in.account + ": message " + ref.uid + " in " + ref.folder +
                   " is flagged \\Deleted by another client: skipped");
    return Action::skip;
  } else if (!user.fetchall && (in.store.delivered(ref.folder, ref.uid, ref.size) ||
                                in.store.known(ref.folder, ref.uid, ref.size))) {
    return Action::skip;
  } else if (in.first_run && !user.fetchall && ref.seen) {
    return Action::known;  // read before clamfetch ever looked: not new mail (IMAP only)
  }
  if (auto d = in.store.deferral(ref.folder, ref.uid); d && d->size == ref.size) {
    std::time_t due = fetch::UidStore::next_attempt(*d);
    if (due > in.now && d->last >= in.config_changed) {  // rc changed after it: retry
      in.log.verbose("message " + in.account + ":" + ref.uid + " deferred " + std::to_string(d->count) +
                     (d->count == 1 ? " time (" : " times (") + d->reason + "), next attempt at " +
                     local_time(due));
      return Action::skip;
    }
  }
  return Action::retrieve;
}

}  // namespace

Plan plan_folder(const fetch::FolderListing& listing, const PlanInput& in) {
  Plan plan;
  // How often each UID is listed: a hash of views, no copies (at 100,000 messages a map of
  // copied UIDs was a third of the decision's cost on every POP3 poll).
  std::unordered_map<std::string_view, int> listed;
  listed.reserve(listing.messages.size());
  for (const auto& ref : listing.messages) ++listed[ref.uid];
  for (const auto& ref : listing.messages) {
    Action action = classify(ref, listed[ref.uid] > 1, in);
    if (action == Action::delete_only) plan.delete_only.push_back(ref);
    if (action == Action::known) plan.known.push_back(ref);
    if (action != Action::retrieve) continue;
    if (in.user.limit != 0 && ref.size > in.user.limit) {
      in.log.info("skipping message " + in.account + ":" + std::to_string(ref.number) + " (" +
                  std::to_string(ref.size) + " octets) over limit " + std::to_string(in.user.limit) +
                  ", left on the server");
      continue;
    }
    if (in.user.fetchlimit != 0 && plan.retrieve.size() >= in.user.fetchlimit) {
      plan.fetchlimit_hit = true;
      break;
    }
    plan.retrieve.push_back(ref);
    plan.bytes += ref.size;
  }
  for (const auto& uid : listing.rejected) {
    in.log.warning(in.account + ": message skipped, left on the server (" + uid.substr(0, 120) + ")");
  }
  return plan;
}

uint32_t settled_below(const fetch::FolderListing& listing, const fetch::UidStore& store,
                       const std::string& folder) {
  if (listing.without_uid) return listing.complete ? 1 : listing.from_uid;
  uint32_t below = listing.sync.uidnext;
  auto lower = [&](const std::string& uid) {
    char* end = nullptr;
    unsigned long number = std::strtoul(uid.c_str(), &end, 10);
    if (end == uid.c_str() || *end != '\0' || number == 0 || number > UINT32_MAX) return;
    if (!store.has_uid(folder, uid)) below = std::min(below, static_cast<uint32_t>(number));
  };
  for (const auto& ref : listing.messages) lower(ref.uid);
  for (const auto& uid : listing.rejected) lower(uid);
  return std::max<uint32_t>(below, 1);
}

}  // namespace clamfetch::app
