// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The UID store's pruning (what left the server leaves the store) and its per-folder sync
// state (IMAP): what the last poll's SELECT said and below which UID everything is done
// with, so that the next poll asks the server only for what changed. The sync state is a
// cache next to the store, never the store itself:
//
// File (<store file>.sync), written atomically by save():
//   clamfetch-sync 1
//   folder <folder> <uidvalidity> <uidnext> <exists> <highestmodseq> <settled_below> <entries>
// <entries> is the number of UID entries the folder had in the store when the line was
// written: a store edited, replaced or rolled back since does not match, and the folder is
// then listed in full. A missing or malformed file is the same as no state (a full listing),
// so an older clamfetch, which ignores this file, cannot make a newer one skip mail.

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/atomic_file.hpp"
#include "core/escape.hpp"
#include "fetch/fetch.hpp"

namespace clamfetch::fetch {
namespace {

constexpr char kSyncHeader[] = "clamfetch-sync 1";

bool parse_u64(const std::string& text, uint64_t& value) {
  if (text.empty() || text.size() > 20 || text.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  errno = 0;
  value = std::strtoull(text.c_str(), nullptr, 10);
  return errno == 0;
}

bool parse_u32(const std::string& text, uint32_t& value) {
  uint64_t wide = 0;
  if (!parse_u64(text, wide) || wide > UINT32_MAX) return false;
  value = static_cast<uint32_t>(wide);
  return true;
}

// The folder name as percent_escape() wrote it.
bool unescape_name(const std::string& text, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return false;
    uint32_t byte = 0;
    for (std::size_t j = i + 1; j <= i + 2; ++j) {
      char c = text[j];
      int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (digit < 0) return false;
      byte = byte * 16 + static_cast<uint32_t>(digit);
    }
    out += static_cast<char>(byte);
    i += 2;
  }
  return true;
}

// One "folder ..." line into `name` and `state`; false when malformed.
bool parse_sync_line(const std::string& line, std::string& name, UidStore::SyncState& state) {
  std::istringstream in(line);
  std::vector<std::string> t;
  for (std::string token; in >> token;) t.push_back(token);
  uint64_t entries = 0;
  FolderSync& s = state.sync;
  if (t.size() != 8 || t[0] != "folder" || !unescape_name(t[1], name) ||
      !parse_u32(t[2], s.uidvalidity) || !parse_u32(t[3], s.uidnext) ||
      !parse_u32(t[4], s.exists) || !parse_u64(t[5], s.highestmodseq) ||
      !parse_u32(t[6], s.settled_below) || !parse_u64(t[7], entries)) {
    return false;
  }
  state.entries = static_cast<std::size_t>(entries);
  return true;
}

bool empty_entry(const UidStore::Entry& entry) {
  return entry.mark == UidStore::Mark::none && entry.accepted.empty() && !entry.deferral;
}

}  // namespace

void UidStore::prune(const std::string& folder, std::span<const MessageRef> listed) {
  auto it = folders_.find(folder);
  if (it == folders_.end()) return;
  // Listed (UID, size) pairs, sorted: a UID listed twice has several. No copy of the UIDs:
  // at 100,000 messages a map of copies cost more than the rest of an empty POP3 poll.
  std::vector<std::pair<std::string_view, uint64_t>> sizes;
  sizes.reserve(listed.size());
  for (const MessageRef& ref : listed) sizes.emplace_back(ref.uid, ref.size);
  std::sort(sizes.begin(), sizes.end());
  auto& uids = it->second.uids;
  for (auto item = uids.begin(); item != uids.end();) {
    // Not a structured binding: clang 14 cannot capture one in the lambda below.
    const auto range = std::equal_range(
        sizes.begin(), sizes.end(), std::pair<std::string_view, uint64_t>(item->first, 0),
        [](const auto& a, const auto& b) { return a.first < b.first; });
    const auto first = range.first, last = range.second;
    auto listed_with = [&](uint64_t size) {
      return std::any_of(first, last, [size](const auto& p) { return p.second == size; });
    };
    Entry& e = item->second;
    bool found = first != last;
    if (found) {
      // A mark (or retry state) for a size no longer listed belongs to a message that is gone.
      std::size_t before = e.sizes.size();
      std::erase_if(e.sizes, [&](uint64_t size) { return size != 0 && !listed_with(size); });
      if (e.sizes.size() != before) changed_ = true;
      if (e.sizes.empty()) e.mark = Mark::none;
      if (!e.accepted.empty() && !listed_with(e.accepted_size)) {
        e.accepted.clear();
        changed_ = true;
      }
      if (e.deferral && !listed_with(e.deferral->size)) {
        e.deferral.reset();
        changed_ = true;
      }
    }
    if (!found || empty_entry(e)) {
      item = uids.erase(item);
      changed_ = true;
    } else {
      ++item;
    }
  }
}

void UidStore::load_sync() {
  sync_.clear();
  sync_on_disk_.clear();
  if (::access((path_ + ".sync").c_str(), F_OK) != 0) return;
  Result<std::string> text = read_file(path_ + ".sync");
  if (!text) return;  // a cache: without it the next poll lists every folder in full
  std::istringstream lines(*text);
  std::string line;
  std::map<std::string, SyncState> read;
  if (!std::getline(lines, line) || line != kSyncHeader) return;
  while (std::getline(lines, line)) {
    std::string name;
    SyncState state;
    if (!parse_sync_line(line, name, state)) return;
    read[name] = state;
  }
  sync_ = std::move(read);
  sync_on_disk_ = std::move(*text);
}

std::optional<FolderSync> UidStore::sync(const std::string& folder) const {
  auto state = sync_.find(folder);
  auto f = folders_.find(folder);
  if (state == sync_.end() || f == folders_.end()) return std::nullopt;
  const SyncState& s = state->second;
  if (s.sync.uidvalidity == 0 || s.sync.uidvalidity != f->second.uidvalidity ||
      s.entries != f->second.uids.size() || s.sync.settled_below > s.sync.uidnext) {
    return std::nullopt;
  }
  return s.sync;
}

void UidStore::set_sync(const std::string& folder, const FolderSync& sync) {
  sync_[folder].sync = sync;
}

std::vector<uint32_t> UidStore::unsettled(const std::string& folder, uint32_t below) const {
  std::vector<uint32_t> out;
  auto f = folders_.find(folder);
  if (f == folders_.end()) return out;
  for (const auto& [uid, e] : f->second.uids) {
    bool settled = (e.mark == Mark::kept || e.mark == Mark::known) && !e.sizes.empty() &&
                   e.accepted.empty() && !e.deferral;
    if (settled) continue;
    uint32_t number = 0;
    if (!parse_u32(uid, number) || number == 0 || number >= below) continue;
    out.push_back(number);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void UidStore::prune_gone(const std::string& folder, const std::vector<UidRange>& vanished,
                          const std::optional<std::vector<uint32_t>>& present) {
  auto f = folders_.find(folder);
  if (f == folders_.end()) return;
  auto gone = [&](uint32_t uid) {
    if (present && !std::binary_search(present->begin(), present->end(), uid)) return true;
    return std::any_of(vanished.begin(), vanished.end(),
                       [uid](const UidRange& r) { return uid >= r.first && uid <= r.last; });
  };
  std::size_t erased = std::erase_if(f->second.uids, [&](const auto& item) {
    uint32_t number = 0;
    return parse_u32(item.first, number) && gone(number);
  });
  changed_ = changed_ || erased != 0;
}

Status UidStore::save_sync() {
  std::string text = std::string(kSyncHeader) + "\n";
  for (const auto& [name, state] : sync_) {
    auto f = folders_.find(name);
    if (f == folders_.end() || state.sync.uidvalidity != f->second.uidvalidity) continue;
    const FolderSync& s = state.sync;
    text += "folder " + percent_escape(name) + " " + std::to_string(s.uidvalidity) + " " +
            std::to_string(s.uidnext) + " " + std::to_string(s.exists) + " " +
            std::to_string(s.highestmodseq) + " " + std::to_string(s.settled_below) + " " +
            std::to_string(f->second.uids.size()) + "\n";
  }
  if (text == sync_on_disk_) return {};
  // POP3, or an IMAP account whose folders never got that far: no file at all.
  if (sync_on_disk_.empty() && text == std::string(kSyncHeader) + "\n") return {};
  // Written after the store itself: a crash between the two leaves an older sync state,
  // which only lists more than needed.
  if (Status s = write_file_atomic(path_ + ".sync", text, 0600); !s) return s;
  sync_on_disk_ = std::move(text);
  return {};
}

}  // namespace clamfetch::fetch
