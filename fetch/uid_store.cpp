// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The durable UID store: one text file per account, replaced atomically by save(), plus a
// journal that every change appends to (write(), no fsync: see append()) before it counts.
//
// File (<state_dir>/uids/<sha256 of the account key>):
//   clamfetch-uids 2
//   folder <uidvalidity> <folder>
//   uid <k|d|s> <uid> <size>[,<size>...]   k: delivered and kept, d: delivered, delete
//                                          pending, s: already seen on the first listing
//   accepted <uid> <size> <recipient>...   recipients that took the message already
//   deferral <uid> <size> <count> <first> <last> <notified 0|1> [<reason>]
// Version 1 files have "uid <k|d> <uid>" lines only: their size is 0, "unknown", which every
// listed size matches (an upgrade must not re-deliver or stop deleting).
// Journal (<file>.journal), one line per change, self-contained:
//   uid <k|d|s> <uidvalidity> <folder> <uid> [<size>]        (version 1 had no size)
//   forget <uidvalidity> <folder> <uid>
//   accepted <uidvalidity> <folder> <uid> <size> <recipient>...
//   deferral <uidvalidity> <folder> <uid> <size> <count> <first> <last> <0|1> [<reason>]
// Folder names, recipients and reasons are %XX-escaped (bytes outside 0x21..0x7E, and '%'),
// so every token is free of spaces; UIDs are printable and at most 70 octets by the time
// they get here.

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "core/atomic_file.hpp"
#include "core/escape.hpp"
#include "fetch/fetch.hpp"

namespace clamfetch::fetch {
namespace {

constexpr char kHeader[] = "clamfetch-uids 2";
constexpr char kHeaderV1[] = "clamfetch-uids 1";
constexpr size_t kMaxUid = 70;

Error state_error(const std::string& what, const std::string& path, int err) {
  return make_error(Kind::state, Scope::account, what + " " + path + ": " + std::strerror(err));
}

Error corrupt(const std::string& path, int line) {
  return make_error(Kind::state, Scope::account,
                    path + ":" + std::to_string(line) + ": corrupt UID store line");
}

std::string hex_sha256(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

bool unescape(const std::string& text, std::string& out) {
  out.clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      return false;
    }
    out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
    i += 2;
  }
  return true;
}

bool valid_uid(const std::string& uid) {
  if (uid.empty() || uid.size() > kMaxUid) return false;
  for (unsigned char c : uid) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

using Mark = UidStore::Mark;
using Entry = UidStore::Entry;
using Deferral = UidStore::Deferral;

bool parse_mark(const std::string& flag, Mark& mark) {
  if (flag == "k") mark = Mark::kept;
  else if (flag == "d") mark = Mark::pending_delete;
  else if (flag == "s") mark = Mark::known;
  else return false;
  return true;
}

const char* mark_flag(Mark mark) {
  return mark == Mark::pending_delete ? "d" : mark == Mark::known ? "s" : "k";
}

bool parse_number(const std::string& text, uint64_t& value) {
  if (text.empty() || text.size() > 20) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  errno = 0;
  value = std::strtoull(text.c_str(), nullptr, 10);
  return errno == 0;
}

bool parse_sizes(const std::string& text, std::set<uint64_t>& sizes) {
  sizes.clear();
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    uint64_t size = 0;
    if (!parse_number(item, size)) return false;
    sizes.insert(size);
  }
  return !sizes.empty();
}

// What record() does to an entry: a second delivery under the same mark (duplicate UIDLs
// in one listing) adds its size; any other mark replaces the old one. The message is done
// with, so what was noted for its retries goes.
void set_mark(Entry& entry, Mark mark, uint64_t size) {
  if (entry.mark != mark) entry.sizes.clear();
  entry.mark = mark;
  entry.sizes.insert(size);
  entry.accepted.clear();
  entry.accepted_size = 0;
  entry.deferral.reset();
}

bool covers(const Entry& entry, uint64_t size) {
  return entry.sizes.count(0) != 0 || entry.sizes.count(size) != 0;
}

// "<size> <recipient>..." of an accepted line (tokens from `first`), added to the entry.
bool parse_accepted(Entry& entry, const std::vector<std::string>& t, size_t first) {
  uint64_t size = 0;
  if (t.size() < first + 2 || !parse_number(t[first], size)) return false;
  if (size != entry.accepted_size) entry.accepted.clear();
  entry.accepted_size = size;
  for (size_t i = first + 1; i < t.size(); ++i) {
    std::string recipient;
    if (!unescape(t[i], recipient) || recipient.empty()) return false;
    entry.accepted.insert(recipient);
  }
  return true;
}

std::string accepted_text(uint64_t size, const std::set<std::string>& recipients) {
  std::string text = std::to_string(size);
  for (const auto& r : recipients) text += " " + percent_escape(r);
  return text;
}

// "<size> <count> <first> <last> <0|1> [<reason>]" of a deferral line (tokens from `first`).
bool parse_deferral(Entry& entry, const std::vector<std::string>& t, size_t first) {
  if (t.size() != first + 5 && t.size() != first + 6) return false;
  uint64_t n[4] = {};
  for (size_t i = 0; i < 4; ++i) {
    if (!parse_number(t[first + i], n[i])) return false;
  }
  const std::string& notified = t[first + 4];
  if (notified != "0" && notified != "1") return false;
  Deferral d;
  d.size = n[0];
  d.count = static_cast<unsigned>(std::min<uint64_t>(n[1], UINT32_MAX));
  d.first = static_cast<std::time_t>(n[2]);
  d.last = static_cast<std::time_t>(n[3]);
  d.notified = notified == "1";
  if (t.size() == first + 6 && !unescape(t[first + 5], d.reason)) return false;
  entry.deferral = d;
  return true;
}

std::string deferral_text(const Deferral& d) {
  std::string text = std::to_string(d.size) + " " + std::to_string(d.count) + " " +
                     std::to_string(d.first) + " " + std::to_string(d.last) + " " +
                     (d.notified ? "1" : "0");
  if (!d.reason.empty()) text += " " + percent_escape(d.reason);
  return text;
}

std::string dir_of(const std::string& path) { return path.substr(0, path.rfind('/')); }
Status fsync_dir(const std::string& dir) { return sync_parent_dir(dir + "/."); }

Status make_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) {
    // The new directory's entry must reach the disk before files in it are trusted.
    return sync_parent_dir(dir);
  }
  if (errno != EEXIST) return state_error("cannot create directory", dir, errno);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return state_error("cannot create directory", dir, errno);
  if (!S_ISDIR(st.st_mode)) return state_error("cannot create directory", dir, ENOTDIR);
  return {};
}

/// Reads a whole file; a missing file is empty. Errors: Kind::state.
Result<std::string> read_file_or_empty(const std::string& path) {
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) return std::string();
  return read_file(path);
}

// Tokens separated by spaces or tabs. By hand: an istringstream per line was most of the
// cost of opening a store of 100,000 UIDs, which every poll does.
std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> tokens;
  std::size_t pos = 0;
  while (pos < line.size()) {
    std::size_t start = line.find_first_not_of(" \t\r\n\v\f", pos);
    if (start == std::string::npos) break;
    std::size_t end = line.find_first_of(" \t\r\n\v\f", start);
    if (end == std::string::npos) end = line.size();
    tokens.emplace_back(line, start, end - start);
    pos = end;
  }
  return tokens;
}

}  // namespace

Result<UidStore> UidStore::open(const std::string& state_dir, const std::string& account_key) {
  for (const std::string& dir : {state_dir, state_dir + "/uids"}) {
    if (Status s = make_dir(dir); !s) return s.error();
  }
  UidStore store;
  store.path_ = state_dir + "/uids/" + hex_sha256(account_key);
  Result<std::string> text = read_file_or_empty(store.path_);
  if (!text) return text.error();
  Result<std::string> journal = read_file_or_empty(store.path_ + ".journal");
  if (!journal) return journal.error();

  std::istringstream lines(*text);
  std::string line;
  Folder* folder = nullptr;
  bool version1 = false;
  for (int number = 1; std::getline(lines, line); ++number) {
    std::vector<std::string> t = split(line);
    std::string name;
    if (number == 1) {
      version1 = line == kHeaderV1;
      if (line != kHeader && !version1) return corrupt(store.path_, number);
    } else if (t.size() == 3 && t[0] == "folder" && unescape(t[2], name)) {
      folder = &store.folders_[name];
      folder->uidvalidity = static_cast<uint32_t>(std::strtoul(t[1].c_str(), nullptr, 10));
    } else if (folder == nullptr || t.size() < 3 || !valid_uid(t[t[0] == "uid" ? 2 : 1]) ||
               !store.apply(*folder, t, version1)) {
      return corrupt(store.path_, number);
    }
  }
  if (Status s = store.replay(*journal); !s) return s.error();
  store.load_sync();
  store.on_disk_ = std::move(*text);
  store.journal_dirty_ = !journal->empty();
  // Cut a torn last line off, so that the next record() does not append onto it and make
  // the journal unreadable for every later run.
  size_t complete = journal->rfind('\n');
  size_t keep = complete == std::string::npos ? 0 : complete + 1;
  if (keep != journal->size() &&
      ::truncate((store.path_ + ".journal").c_str(), static_cast<off_t>(keep)) != 0) {
    return state_error("cannot repair", store.path_ + ".journal", errno);
  }
  return store;
}

// One line of the store file (tokens `t`, already known to name a valid UID).
bool UidStore::apply(Folder& folder, const std::vector<std::string>& t, bool version1) {
  if (t[0] == "uid") {
    Mark mark = Mark::none;
    if (!parse_mark(t[1], mark)) return false;
    Entry& entry = folder.uids[t[2]];
    entry.mark = mark;
    if (version1) {
      entry.sizes = {0};
      return t.size() == 3 && mark != Mark::known;
    }
    return t.size() == 4 && parse_sizes(t[3], entry.sizes);
  }
  if (version1) return false;
  if (t[0] == "accepted") return parse_accepted(folder.uids[t[1]], t, 2);
  if (t[0] == "deferral") return parse_deferral(folder.uids[t[1]], t, 2);
  return false;
}

Status UidStore::replay(const std::string& journal) {
  // A run killed mid-append leaves a last line without its newline: that record never
  // completed (its call had not returned), so it is dropped.
  size_t complete = journal.rfind('\n');
  std::istringstream lines(complete == std::string::npos ? "" : journal.substr(0, complete + 1));
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    std::vector<std::string> t = split(line);
    // Every line names the UIDVALIDITY and folder it was written under; "uid" lines carry
    // their mark first.
    size_t at = !t.empty() && t[0] == "uid" ? 2 : 1;
    std::string name;
    uint64_t uidvalidity = 0;
    if (t.size() < at + 3 || !parse_number(t[at], uidvalidity) || !unescape(t[at + 1], name) ||
        !valid_uid(t[at + 2])) {
      return corrupt(path_ + ".journal", number);
    }
    Folder& folder = folders_[name];
    if (folder.uidvalidity != uidvalidity) {
      folder.uids.clear();  // recorded after a UIDVALIDITY change that save() never wrote
      folder.uidvalidity = static_cast<uint32_t>(uidvalidity);
    }
    const std::string& uid = t[at + 2];
    Entry& entry = folder.uids[uid];
    bool ok = true;
    if (t[0] == "uid") {
      Mark mark = Mark::none;
      uint64_t size = 0;  // a version 1 journal: size unknown
      ok = parse_mark(t[1], mark) && (t.size() == 5 || (t.size() == 6 && parse_number(t[5], size)));
      if (ok) set_mark(entry, mark, size);
    } else if (t[0] == "forget") {
      ok = t.size() == 4;
      if (ok) folder.uids.erase(uid);
    } else if (t[0] == "accepted") {
      ok = parse_accepted(entry, t, 4);
    } else if (t[0] == "deferral") {
      ok = parse_deferral(entry, t, 4);
    } else {
      ok = false;
    }
    if (!ok) return corrupt(path_ + ".journal", number);
  }
  return {};
}

bool UidStore::has_folder(const std::string& folder) const { return folders_.count(folder) != 0; }

bool UidStore::set_uidvalidity(const std::string& folder, uint32_t uidvalidity) {
  auto [it, added] = folders_.try_emplace(folder);
  bool changed = !added && it->second.uidvalidity != uidvalidity;
  if (changed) it->second.uids.clear();
  changed_ = changed_ || added || it->second.uidvalidity != uidvalidity;
  it->second.uidvalidity = uidvalidity;
  return changed;
}

const UidStore::Entry* UidStore::find(const std::string& folder, const std::string& uid) const {
  auto it = folders_.find(folder);
  if (it == folders_.end()) return nullptr;
  auto entry = it->second.uids.find(uid);
  return entry == it->second.uids.end() ? nullptr : &entry->second;
}

bool UidStore::delivered(const std::string& folder, const std::string& uid, uint64_t size) const {
  const Entry* e = find(folder, uid);
  return e != nullptr && (e->mark == Mark::kept || e->mark == Mark::pending_delete) && covers(*e, size);
}

bool UidStore::pending_delete(const std::string& folder, const std::string& uid, uint64_t size) const {
  const Entry* e = find(folder, uid);
  return e != nullptr && e->mark == Mark::pending_delete && covers(*e, size);
}

bool UidStore::has_uid(const std::string& folder, const std::string& uid) const {
  return find(folder, uid) != nullptr;
}

bool UidStore::known(const std::string& folder, const std::string& uid, uint64_t size) const {
  const Entry* e = find(folder, uid);
  return e != nullptr && e->mark == Mark::known && covers(*e, size);
}

Status UidStore::append(const std::string& lines) {
  std::string journal = path_ + ".journal";
  int fd = ::open(journal.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return state_error("cannot open", journal, errno);
  struct stat before {};
  ::fstat(fd, &before);
  // No fdatasync here: what write() gave the kernel survives the process being killed, which
  // is the window this record closes (one duplicate at most). A power cut can lose the
  // records since the last save(), and with them mail would be delivered again, never lost:
  // the message is still on the server or already gone from it. A sync per message cost
  // 0.2-1.5 ms inside each account's serialised hand-over (bench/NOTES.md).
  bool ok = write_all(fd, lines);
  int err = errno;
  if (!ok) {
    // Cut a partial line off so that the next record does not glue onto it.
    int cut = ::ftruncate(fd, before.st_size);
    (void)cut;  // best effort: the write has failed already and that is what is reported
    ::close(fd);
    return state_error("cannot write", journal, err);
  }
  ::close(fd);
  journal_dirty_ = true;
  return {};
}

namespace {
// Scope::account: a record that fails stops the account (nothing more could be recorded).
Error malformed_uid() {
  return make_error(Kind::internal, Scope::account, "refusing to record malformed UID");
}
}  // namespace

Status UidStore::record(const std::string& folder, const std::string& uid, bool will_delete,
                        uint64_t size) {
  if (!valid_uid(uid)) return malformed_uid();
  Folder& f = folders_[folder];
  Mark mark = will_delete ? Mark::pending_delete : Mark::kept;
  std::string line = std::string("uid ") + mark_flag(mark) + " " + std::to_string(f.uidvalidity) +
                     " " + percent_escape(folder) + " " + uid + " " + std::to_string(size) + "\n";
  if (Status s = append(line); !s) return s;
  set_mark(f.uids[uid], mark, size);
  return {};
}

Status UidStore::record_known(std::span<const MessageRef> refs) {
  std::string lines;
  for (const MessageRef& ref : refs) {
    if (!valid_uid(ref.uid)) return malformed_uid();
    lines += "uid s " + std::to_string(folders_[ref.folder].uidvalidity) + " " +
             percent_escape(ref.folder) + " " + ref.uid + " " + std::to_string(ref.size) + "\n";
  }
  if (lines.empty()) return {};
  if (Status s = append(lines); !s) return s;
  for (const MessageRef& ref : refs) set_mark(folders_[ref.folder].uids[ref.uid], Mark::known, ref.size);
  return {};
}

Status UidStore::forget(std::span<const MessageRef> refs) {
  std::string lines;
  for (const MessageRef& ref : refs) {
    if (find(ref.folder, ref.uid) == nullptr) continue;
    lines += "forget " + std::to_string(folders_[ref.folder].uidvalidity) + " " +
             percent_escape(ref.folder) + " " + ref.uid + "\n";
  }
  if (lines.empty()) return {};
  if (Status s = append(lines); !s) return s;
  for (const MessageRef& ref : refs) folders_[ref.folder].uids.erase(ref.uid);
  return {};
}

Status UidStore::record_accepted(const std::string& folder, const std::string& uid, uint64_t size,
                                 const std::vector<std::string>& recipients) {
  if (!valid_uid(uid)) return malformed_uid();
  if (recipients.empty()) return {};
  Folder& f = folders_[folder];
  std::set<std::string> added(recipients.begin(), recipients.end());
  added.erase(std::string());
  std::string line = "accepted " + std::to_string(f.uidvalidity) + " " + percent_escape(folder) +
                     " " + uid + " " + accepted_text(size, added) + "\n";
  if (Status s = append(line); !s) return s;
  Entry& e = f.uids[uid];
  if (e.accepted_size != size) e.accepted.clear();
  e.accepted_size = size;
  e.accepted.insert(added.begin(), added.end());
  return {};
}

std::vector<std::string> UidStore::accepted(const std::string& folder, const std::string& uid) const {
  const Entry* e = find(folder, uid);
  if (e == nullptr) return {};
  return {e->accepted.begin(), e->accepted.end()};
}

Result<UidStore::Deferral> UidStore::note_deferral(const std::string& folder, const std::string& uid,
                                                   uint64_t size, std::time_t now,
                                                   const std::string& reason) {
  if (!valid_uid(uid)) return malformed_uid();
  Folder& f = folders_[folder];
  Deferral d;
  if (const Entry* e = find(folder, uid); e != nullptr && e->deferral && e->deferral->size == size) {
    d = *e->deferral;
  }
  if (d.count == 0) d.first = now;
  ++d.count;
  d.last = now;
  d.size = size;
  d.reason = reason;
  std::string line = "deferral " + std::to_string(f.uidvalidity) + " " + percent_escape(folder) +
                     " " + uid + " " + deferral_text(d) + "\n";
  if (Status s = append(line); !s) return s.error();
  f.uids[uid].deferral = d;
  return d;
}

std::optional<UidStore::Deferral> UidStore::deferral(const std::string& folder,
                                                     const std::string& uid) const {
  const Entry* e = find(folder, uid);
  if (e == nullptr) return std::nullopt;
  return e->deferral;
}

Status UidStore::mark_notified(const std::string& folder, const std::string& uid) {
  const Entry* e = find(folder, uid);
  if (e == nullptr || !e->deferral) {
    return make_error(Kind::internal, Scope::message, "no deferral to mark notified: " + uid);
  }
  Deferral d = *e->deferral;
  d.notified = true;
  std::string line = "deferral " + std::to_string(folders_[folder].uidvalidity) + " " +
                     percent_escape(folder) + " " + uid + " " + deferral_text(d) + "\n";
  if (Status s = append(line); !s) return s;
  folders_[folder].uids[uid].deferral = d;
  return {};
}

std::time_t UidStore::next_attempt(const Deferral& d) {
  constexpr std::time_t kFirst = 5 * 60, kMax = 24 * 60 * 60;
  std::time_t wait = kFirst;
  for (unsigned i = 1; i < d.count && wait < kMax; ++i) wait *= 2;
  return d.last + std::min(wait, kMax);
}

std::string UidStore::serialize() const {
  std::string text = std::string(kHeader) + "\n";
  for (const auto& [name, folder] : folders_) {
    text += "folder " + std::to_string(folder.uidvalidity) + " " + percent_escape(name) + "\n";
    for (const auto& [uid, e] : folder.uids) {
      if (e.mark != Mark::none && !e.sizes.empty()) {
        std::string sizes;
        for (uint64_t size : e.sizes) sizes += (sizes.empty() ? "" : ",") + std::to_string(size);
        text += std::string("uid ") + mark_flag(e.mark) + " " + uid + " " + sizes + "\n";
      }
      if (!e.accepted.empty()) text += "accepted " + uid + " " + accepted_text(e.accepted_size, e.accepted) + "\n";
      if (e.deferral) text += "deferral " + uid + " " + deferral_text(*e.deferral) + "\n";
    }
  }
  return text;
}

Status UidStore::save() {
  // Nothing recorded, pruned or renumbered: the file already says it all, and serialising
  // 100,000 entries only to compare them cost an empty poll tens of milliseconds.
  if (!changed_ && !journal_dirty_) return save_sync();
  std::string text = serialize();
  // The cron case: nothing new, nothing pruned. Rewriting an unchanged file would cost two
  // fsyncs on every empty poll and change nothing on disk.
  if (text == on_disk_ && !journal_dirty_) return save_sync();
  if (Status s = write_file_atomic(path_, text, 0600); !s) return s;
  on_disk_ = std::move(text);
  journal_dirty_ = false;
  changed_ = false;
  // Everything in the journal is in the new file now. Should the unlink not reach the disk,
  // replaying the journal again is harmless: its records are already in the file.
  std::string journal = path_ + ".journal";
  if (::unlink(journal.c_str()) != 0 && errno != ENOENT) {
    return state_error("cannot remove", journal, errno);
  }
  if (Status s = fsync_dir(dir_of(path_)); !s) return s;
  return save_sync();
}

}  // namespace clamfetch::fetch
