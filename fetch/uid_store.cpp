// The durable UID store: one text file per account, replaced atomically by save(), plus a
// journal that record() appends to (write(), no fsync: see record()) before a delivery counts as noted.
//
// File (<state_dir>/uids/<sha256 of the account key>):
//   clamfetch-uids 1
//   folder <uidvalidity> <folder>
//   uid <k|d> <uid>                       k: delivered and kept, d: delivered, delete pending
// Journal (<file>.journal), one line per record():
//   uid <k|d> <uidvalidity> <folder> <uid>
// Folder names are %XX-escaped (bytes outside 0x21..0x7E, and '%'), so every token is free of
// spaces; UIDs are printable and at most 70 octets by the time they get here.

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

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

constexpr char kHeader[] = "clamfetch-uids 1";
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

bool parse_flag(const std::string& flag, bool& pending_delete) {
  if (flag != "k" && flag != "d") return false;
  pending_delete = flag == "d";
  return true;
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

/// Writes all of `data` to fd; false with errno set on failure.
bool write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

/// Reads a whole file; a missing file is empty. Errors: Kind::state.
Result<std::string> read_file_or_empty(const std::string& path) {
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) return std::string();
  return read_file(path);
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> tokens;
  std::istringstream in(line);
  for (std::string token; in >> token;) tokens.push_back(token);
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
  for (int number = 1; std::getline(lines, line); ++number) {
    std::vector<std::string> t = split(line);
    std::string name;
    bool pending = false;
    if (number == 1) {
      if (line != kHeader) return corrupt(store.path_, number);
    } else if (t.size() == 3 && t[0] == "folder" && unescape(t[2], name)) {
      folder = &store.folders_[name];
      folder->uidvalidity = static_cast<uint32_t>(std::strtoul(t[1].c_str(), nullptr, 10));
    } else if (t.size() == 3 && t[0] == "uid" && folder && parse_flag(t[1], pending) &&
               valid_uid(t[2])) {
      folder->uids[t[2]].pending_delete = pending;
    } else {
      return corrupt(store.path_, number);
    }
  }
  if (Status s = store.replay(*journal); !s) return s.error();
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

Status UidStore::replay(const std::string& journal) {
  // A run killed mid-append leaves a last line without its newline: that record never
  // completed (record() had not returned), so it is dropped.
  size_t complete = journal.rfind('\n');
  std::istringstream lines(complete == std::string::npos ? "" : journal.substr(0, complete + 1));
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    std::vector<std::string> t = split(line);
    std::string name;
    bool pending = false;
    if (t.size() != 5 || t[0] != "uid" || !parse_flag(t[1], pending) || !unescape(t[3], name) ||
        !valid_uid(t[4])) {
      return corrupt(path_ + ".journal", number);
    }
    auto uidvalidity = static_cast<uint32_t>(std::strtoul(t[2].c_str(), nullptr, 10));
    Folder& folder = folders_[name];
    if (folder.uidvalidity != uidvalidity) {
      folder.uids.clear();  // recorded after a UIDVALIDITY change that save() never wrote
      folder.uidvalidity = uidvalidity;
    }
    folder.uids[t[4]].pending_delete = pending;
  }
  return {};
}

bool UidStore::set_uidvalidity(const std::string& folder, uint32_t uidvalidity) {
  auto [it, added] = folders_.try_emplace(folder);
  bool changed = !added && it->second.uidvalidity != uidvalidity;
  if (changed) it->second.uids.clear();
  it->second.uidvalidity = uidvalidity;
  return changed;
}

bool UidStore::delivered(const std::string& folder, const std::string& uid) const {
  auto it = folders_.find(folder);
  return it != folders_.end() && it->second.uids.count(uid) != 0;
}

bool UidStore::pending_delete(const std::string& folder, const std::string& uid) const {
  auto it = folders_.find(folder);
  if (it == folders_.end()) return false;
  auto entry = it->second.uids.find(uid);
  return entry != it->second.uids.end() && entry->second.pending_delete;
}

Status UidStore::record(const std::string& folder, const std::string& uid, bool will_delete) {
  if (!valid_uid(uid)) {
    return make_error(Kind::internal, Scope::message, "refusing to record malformed UID");
  }
  Folder& f = folders_[folder];
  std::string line = std::string("uid ") + (will_delete ? "d " : "k ") +
                     std::to_string(f.uidvalidity) + " " + percent_escape(folder) + " " + uid + "\n";
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
  bool ok = write_all(fd, line);
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
  f.uids[uid].pending_delete = will_delete;
  return {};
}

void UidStore::prune(const std::string& folder, const std::set<std::string>& present) {
  auto it = folders_.find(folder);
  if (it == folders_.end()) return;
  std::erase_if(it->second.uids, [&](const auto& entry) { return !present.count(entry.first); });
}

std::string UidStore::serialize() const {
  std::string text = std::string(kHeader) + "\n";
  for (const auto& [name, folder] : folders_) {
    text += "folder " + std::to_string(folder.uidvalidity) + " " + percent_escape(name) + "\n";
    for (const auto& [uid, entry] : folder.uids) {
      text += std::string("uid ") + (entry.pending_delete ? "d " : "k ") + uid + "\n";
    }
  }
  return text;
}

Status UidStore::save() {
  std::string text = serialize();
  // The cron case: nothing new, nothing pruned. Rewriting an unchanged file would cost two
  // fsyncs on every empty poll and change nothing on disk.
  if (text == on_disk_ && !journal_dirty_) return {};
  if (Status s = write_file_atomic(path_, text, 0600); !s) return s;
  on_disk_ = std::move(text);
  journal_dirty_ = false;
  // Everything in the journal is in the new file now. Should the unlink not reach the disk,
  // replaying the journal again is harmless: its records are already in the file.
  std::string journal = path_ + ".journal";
  if (::unlink(journal.c_str()) != 0 && errno != ENOENT) {
    return state_error("cannot remove", journal, errno);
  }
  return fsync_dir(dir_of(path_));
}

}  // namespace clamfetch::fetch
