// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// IMAP session, part 3: polls that ask only for what changed. SELECT (with CONDSTORE, or
// QRESYNC parameters after ENABLE QRESYNC, RFC 7162) tells whether the folder changed since
// the last poll; then only UIDs from the first unsettled one on are listed ("n:*"), plus the
// few UIDs below it the UID store still has business with. What was deleted meanwhile comes
// from QRESYNC's VANISHED (EARLIER), or, when EXISTS shows that messages went and the server
// has no QRESYNC, from one UID SEARCH ALL. No command line grows with the folder.

#include <strings.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "fetch/imap_internal.hpp"

namespace clamfetch::fetch::imap {

namespace {

constexpr std::size_t kRecheckPerCommand = 1000;  // UIDs per rechecking UID FETCH

struct VanishedFree {
  void operator()(mailimap_qresync_vanished* p) const { mailimap_qresync_vanished_free(p); }
};
using VanishedPtr = std::unique_ptr<mailimap_qresync_vanished, VanishedFree>;
struct CapabilityDataFree {
  void operator()(mailimap_capability_data* p) const { mailimap_capability_data_free(p); }
};
using CapabilityDataPtr = std::unique_ptr<mailimap_capability_data, CapabilityDataFree>;

void add_ranges(const mailimap_set* set, std::vector<UidRange>& out) {
  if (set == nullptr || set->set_list == nullptr) return;
  for (clistiter* cur = clist_begin(set->set_list); cur != nullptr; cur = clist_next(cur)) {
    const auto* item = static_cast<const mailimap_set_item*>(clist_content(cur));
    if (item == nullptr) continue;
    uint32_t first = std::min(item->set_first, item->set_last);
    uint32_t last = std::max(item->set_first, item->set_last);
    if (first == 0) first = last;  // "*" is 0 to libetpan: the highest UID, unknown here
    if (first != 0) out.push_back({first, last == 0 ? UINT32_MAX : last});
  }
}

// The capability list of "ENABLE QRESYNC". Null on allocation failure.
CapabilityDataPtr qresync_capability() {
  clist* list = clist_new();
  if (list == nullptr) return nullptr;
  char* name = strdup("QRESYNC");
  // libetpan names both a function and a struct mailimap_capability.
  struct mailimap_capability* cap =
      name == nullptr ? nullptr : mailimap_capability_new(MAILIMAP_CAPABILITY_NAME, nullptr, name);
  if (cap == nullptr || clist_append(list, cap) != 0) {
    if (cap != nullptr) mailimap_capability_free(cap);
    else free(name);
    clist_free(list);
    return nullptr;
  }
  CapabilityDataPtr data(mailimap_capability_data_new(list));
  if (!data) {
    mailimap_capability_free(cap);
    clist_free(list);
  }
  return data;
}

}  // namespace

Result<bool> ImapSession::enable_qresync() {
  if (qresync_tried_) return qresync_enabled_;
  qresync_tried_ = true;
  if (!has_extension(imap_.get(), "QRESYNC") || !has_extension(imap_.get(), "ENABLE")) return false;
  CapabilityDataPtr wanted = qresync_capability();
  if (!wanted) return make_error(Kind::internal, Scope::account, prefix() + "out of memory");
  mailimap_capability_data* result = nullptr;
  int r = mailimap_enable(imap_.get(), wanted.get(), &result);
  CapabilityDataPtr enabled(result);
  if (r == MAILIMAP_ERROR_EXTENSION) return false;  // NO/BAD: the plain path then
  if (r != MAILIMAP_NO_ERROR) return fail(r, "ENABLE QRESYNC");
  for (clistiter* cur = enabled && enabled->cap_list != nullptr ? clist_begin(enabled->cap_list)
                                                                 : nullptr;
       cur != nullptr; cur = clist_next(cur)) {
    const auto* cap = static_cast<const struct mailimap_capability*>(clist_content(cur));
    if (cap != nullptr && cap->cap_type == MAILIMAP_CAPABILITY_NAME && cap->cap_data.cap_name != nullptr &&
        strcasecmp(cap->cap_data.cap_name, "QRESYNC") == 0) {
      qresync_enabled_ = true;
    }
  }
  log_.verbose(prefix() + (qresync_enabled_ ? "QRESYNC enabled" : "QRESYNC not enabled"));
  return qresync_enabled_;
}

Status ImapSession::select_folder(const std::string& folder, FolderListing& listing) {
  if (Status status = require(State::authenticated, "list"); !status) return status;
  // EXPUNGE acts on the selected folder only: commit the previous one's deletions first.
  if (!deleted_.empty() && folder != folder_) {
    if (Status status = expunge_deleted(); !status) return status;
  }
  Result<bool> qresync = enable_qresync();
  if (!qresync) return qresync.error();
  std::string name = mailbox_name(folder);
  uint64_t modseq = 0;
  int r = MAILIMAP_NO_ERROR;
  // SELECT folder (CONDSTORE): HIGHESTMODSEQ comes with it. (libetpan's SELECT with QRESYNC
  // parameters leaves out the parentheses RFC 7162 asks for: "SELECT INBOX QRESYNC (1 2)".
  // VANISHED comes from a UID FETCH instead, and only when messages went.)
  if (*qresync || has_extension(imap_.get(), "CONDSTORE")) {
    r = mailimap_select_condstore(imap_.get(), name.c_str(), &modseq);
  } else {
    r = mailimap_select(imap_.get(), name.c_str());
  }
  if (r == MAILIMAP_ERROR_SELECT || r == MAILIMAP_ERROR_EXTENSION) {
    if (!deleted_.empty()) {
      log_.warning(prefix() + std::to_string(deleted_.size()) + " messages stay marked deleted in " +
                   folder_ + ": it could not be selected again");
      deleted_.clear();
    }
    folder_.clear();
    return make_error(Kind::server, Scope::mailbox,
                      prefix() + "cannot select folder " + folder + ": " +
                          printable(imap_->imap_response));
  }
  if (r != MAILIMAP_NO_ERROR) return fail(r, "SELECT " + folder);
  folder_ = folder;
  const mailimap_selection_info* selection = imap_->imap_selection_info;
  listing.uidvalidity = selection == nullptr ? 0 : selection->sel_uidvalidity;
  if (listing.uidvalidity == 0) {
    return make_error(Kind::protocol, Scope::mailbox,
                      prefix() + "server sent no UIDVALIDITY for folder " + folder);
  }
  listing.sync.uidvalidity = listing.uidvalidity;
  listing.sync.uidnext = selection->sel_uidnext;
  listing.sync.exists = selection->sel_exists;
  listing.sync.highestmodseq = modseq;
  return {};
}

Status ImapSession::recheck_uids(const std::vector<uint32_t>& recheck, FolderListing& listing) {
  if (listing.sync.exists > 0) {
    for (std::size_t done = 0; done < recheck.size(); done += kRecheckPerCommand) {
      std::size_t end = std::min(recheck.size(), done + kRecheckPerCommand);
      SetPtr set = uid_set(std::set<uint32_t>(recheck.begin() + static_cast<std::ptrdiff_t>(done),
                                              recheck.begin() + static_cast<std::ptrdiff_t>(end)));
      if (!set) return make_error(Kind::internal, Scope::account, prefix() + "out of memory");
      Status status = fetch_listing(listing, set.get(), 1, "UID FETCH of rechecked UIDs");
      if (!status) return status;
    }
  }
  // A UID no FETCH answered for is gone: UIDs are not reused within a UIDVALIDITY. (A
  // response without its UID could be any of them: then none is taken for gone.)
  if (listing.without_uid) return {};
  std::set<uint32_t> returned;
  for (const MessageRef& ref : listing.messages) returned.insert(parse_uid(ref.uid));
  for (const std::string& uid : listing.rejected) returned.insert(parse_uid(uid));
  for (uint32_t uid : recheck) {
    if (returned.count(uid) == 0) listing.vanished.push_back({uid, uid});
  }
  return {};
}

Status ImapSession::fetch_vanished(const FolderSync& known, FolderListing& listing) {
  // UID FETCH 1:<last UIDNEXT - 1> (UID) (CHANGEDSINCE <modseq> VANISHED): the FETCHes of
  // messages whose flags changed are not needed (sink none); VANISHED (EARLIER) is.
  SetPtr set(mailimap_set_new_interval(1, known.uidnext - 1));
  FetchTypePtr type(mailimap_fetch_type_new_fetch_att_list_empty());
  if (!set || !type) return make_error(Kind::internal, Scope::account, prefix() + "out of memory");
  mailimap_fetch_att* uid = mailimap_fetch_att_new_uid();
  if (uid == nullptr || mailimap_fetch_type_new_fetch_att_list_add(type.get(), uid) != MAILIMAP_NO_ERROR) {
    if (uid != nullptr) mailimap_fetch_att_free(uid);
    return make_error(Kind::internal, Scope::account, prefix() + "out of memory");
  }
  clist* result = nullptr;
  mailimap_qresync_vanished* vanished = nullptr;
  int r = mailimap_uid_fetch_qresync(imap_.get(), set.get(), type.get(), known.highestmodseq,
                                     &result, &vanished);
  FetchListPtr owned(result);
  VanishedPtr owned_vanished(vanished);
  if (hostile()) return fail(r, "UID FETCH (CHANGEDSINCE VANISHED)");
  if (r == MAILIMAP_ERROR_UID_FETCH || r == MAILIMAP_ERROR_EXTENSION) {
    log_.warning(prefix() + "UID FETCH (VANISHED) in " + folder_ + " failed: " +
                 printable(imap_->imap_response));
    return search_present(listing);
  }
  if (r != MAILIMAP_NO_ERROR) return fail(r, "UID FETCH (CHANGEDSINCE VANISHED)");
  if (vanished != nullptr) add_ranges(vanished->qr_known_uids, listing.vanished);
  return {};
}

Status ImapSession::search_present(FolderListing& listing) {
  SearchKeyPtr key(mailimap_search_key_new_all());
  if (!key) return make_error(Kind::internal, Scope::account, prefix() + "out of memory");
  clist* result = nullptr;
  int r = mailimap_uid_search(imap_.get(), nullptr, key.get(), &result);
  SearchResultPtr owned(result);
  if (r == MAILIMAP_ERROR_UID_SEARCH) {
    // The store keeps the UIDs of what went a little longer: pruning is housekeeping.
    log_.warning(prefix() + "UID SEARCH ALL in " + folder_ + " failed: " +
                 printable(imap_->imap_response));
    return {};
  }
  if (r != MAILIMAP_NO_ERROR) return fail(r, "UID SEARCH ALL");
  std::vector<uint32_t> present;
  for (clistiter* cur = owned ? clist_begin(owned.get()) : nullptr; cur != nullptr;
       cur = clist_next(cur)) {
    const auto* uid = static_cast<const uint32_t*>(clist_content(cur));
    if (uid != nullptr) present.push_back(*uid);
  }
  std::sort(present.begin(), present.end());
  listing.present = std::move(present);
  return {};
}

Status ImapSession::list_whole_folder(const std::string& folder, FolderListing& listing) {
  const FolderSync sync = listing.sync;
  const uint32_t uidvalidity = listing.uidvalidity;
  listing = FolderListing{};  // what a failed delta listing gathered is dropped
  listing.sync = sync;
  listing.uidvalidity = uidvalidity;
  if (sync.exists > 0) {
    SetPtr all(mailimap_set_new_interval(1, 0));
    if (!all) return make_error(Kind::internal, Scope::account, prefix() + "out of memory");
    Status status = fetch_listing(listing, all.get(), 1, "UID FETCH 1:* (UID RFC822.SIZE FLAGS)");
    if (!status) return status.error();
  }
  log_.verbose(prefix() + folder + ": " + std::to_string(listing.messages.size()) +
               " messages, UIDVALIDITY " + std::to_string(listing.uidvalidity));
  return {};
}

Result<FolderListing> ImapSession::list_changes(const std::string& folder, const FolderSync& known,
                                                const std::vector<uint32_t>& recheck) {
  FolderListing listing;
  if (Status status = select_folder(folder, listing); !status) return status.error();
  const FolderSync now = listing.sync;
  auto whole = [&]() -> Result<FolderListing> {
    if (Status status = list_whole_folder(folder, listing); !status) return status.error();
    return listing;
  };
  if (known.uidvalidity == 0 || now.uidvalidity != known.uidvalidity || known.uidnext == 0 ||
      now.uidnext == 0 || now.uidnext < known.uidnext) {
    return whole();  // nothing to build on (or a server without UIDNEXT): as list() does
  }
  listing.complete = false;
  uint32_t from = std::max<uint32_t>(known.settled_below, 1);
  listing.from_uid = from;
  // A server that refuses the recheck (BAD for a long UID set, NO for expunged UIDs) would
  // refuse it again at every poll and hold the folder's new mail back: list it whole instead.
  if (Status status = recheck_uids(recheck, listing); !status) {
    log_.verbose(prefix() + folder + ": " + status.error().text + "; listing the folder in full");
    return whole();
  }
  std::size_t new_mail = 0;  // messages from the last UIDNEXT on, rejected ones included
  if (now.exists > 0 && now.uidnext > from) {
    SetPtr range(mailimap_set_new_interval(from, 0));  // from:*
    if (!range) return make_error(Kind::internal, Scope::account, prefix() + "out of memory");
    std::string what = "UID FETCH " + std::to_string(from) + ":* (UID RFC822.SIZE FLAGS)";
    if (Status status = fetch_listing(listing, range.get(), from, what); !status) {
      return status.error();
    }
  }
  for (const MessageRef& ref : listing.messages) new_mail += parse_uid(ref.uid) >= known.uidnext;
  for (const std::string& uid : listing.rejected) new_mail += parse_uid(uid) >= known.uidnext;
  // More messages than the old count plus the new ones: some came in below the remembered
  // UIDNEXT (a server that did not advance it, or rewound it). Expunges only ever lower
  // EXISTS, so this never happens by itself: trust nothing and list the folder whole.
  if (now.exists > known.exists + new_mail) {
    log_.verbose(prefix() + folder + ": " + std::to_string(now.exists) + " messages where " +
                 std::to_string(known.exists + new_mail) + " were expected; listing it in full");
    return whole();
  }
  // EXISTS tells whether older messages went: it is the old count plus what came. Only then
  // is the server asked which: QRESYNC's VANISHED (EARLIER) names them in ranges, else the
  // folder's whole UID list.
  bool lost = listing.without_uid || now.exists != known.exists + new_mail;
  bool by_vanished = lost && qresync_enabled_ && known.highestmodseq != 0 && known.uidnext > 1;
  Status asked = by_vanished ? fetch_vanished(known, listing) : lost ? search_present(listing) : Status{};
  if (!asked) {
    log_.verbose(prefix() + folder + ": " + asked.error().text + "; listing the folder in full");
    return whole();
  }
  log_.verbose(prefix() + folder + ": UIDVALIDITY " + std::to_string(listing.uidvalidity) +
               ", UIDNEXT " + std::to_string(now.uidnext) + ", " +
               std::to_string(now.exists) + " messages, " +
               std::to_string(listing.messages.size()) + " listed from UID " +
               std::to_string(from) + (by_vanished ? ", deletions by QRESYNC" : ""));
  return listing;
}

}  // namespace clamfetch::fetch::imap
