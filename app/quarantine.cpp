// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "app/quarantine.hpp"

#include <dirent.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <sstream>

#include "app/lock.hpp"
#include "core/atomic_file.hpp"

namespace clamfetch::app {
namespace {

// Values are kept on one line: the facts come from hostile mail.
std::string one_line(const std::string& s) {
  std::string out;
  for (char c : s) out += (c == '\r' || c == '\n' || c == '\0') ? ' ' : c;
  return out;
}

std::string serialize(const QuarantineEntry& e) {
  std::ostringstream out;
  out << "clamfetch-quarantine 1\n"
      << "date=" << e.date << "\n"
      << "account=" << one_line(e.account) << "\n"
      << "key=" << one_line(e.key) << "\n"
      << "uid=" << one_line(e.uid) << "\n"
      << "sender=" << one_line(e.sender) << "\n";
  for (const auto& r : e.recipients) out << "recipient=" << one_line(r) << "\n";
  out << "virus=" << one_line(e.virus) << "\n"
      << "size=" << e.size << "\n"
      << "message_id=" << one_line(e.message_id) << "\n"
      << "subject=" << one_line(e.subject) << "\n"
      << "reported=" << (e.reported ? 1 : 0) << "\n"
      << "uidvalidity=" << e.uidvalidity << "\n"
      << "sha256=" << e.sha256 << "\n";
  return out.str();
}

void assign(QuarantineEntry& e, const std::string& name, const std::string& value) {
  if (name == "date") e.date = static_cast<std::time_t>(std::strtoll(value.c_str(), nullptr, 10));
  else if (name == "account") e.account = value;
  else if (name == "key") e.key = value;
  else if (name == "uid") e.uid = value;
  else if (name == "sender") e.sender = value;
  else if (name == "recipient") e.recipients.push_back(value);
  else if (name == "virus") e.virus = value;
  else if (name == "size") e.size = std::strtoull(value.c_str(), nullptr, 10);
  else if (name == "message_id") e.message_id = value;
  else if (name == "subject") e.subject = value;
  else if (name == "reported") e.reported = value == "1";
  else if (name == "uidvalidity") e.uidvalidity = static_cast<uint32_t>(std::strtoul(value.c_str(), nullptr, 10));
  else if (name == "sha256") e.sha256 = value;
}

Result<QuarantineEntry> parse(const std::string& id, const std::string& text, const std::string& path) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != "clamfetch-quarantine 1") {
    return make_error(Kind::state, Scope::message, "unreadable quarantine entry " + path);
  }
  QuarantineEntry e;
  e.id = id;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) assign(e, line.substr(0, eq), line.substr(eq + 1));
  }
  return e;
}

std::string hex_sha256(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  char pair[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(pair, sizeof pair, "%02x", digest[i]);
    hex += pair;
  }
  return hex;
}

}  // namespace

bool valid_quarantine_id(const std::string& id) {
  return id.size() == 12 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string Quarantine::id_for(const std::string& key, uint32_t uidvalidity, const std::string& sha256) {
  // The id names the message itself, not just its place on the server: the same UID and size
  // can come back with other bytes after a UIDVALIDITY reset or a reused UIDL. The key and
  // UIDVALIDITY stay in, so that one message fetched from two places gets two entries.
  std::string identity = key + '\n' + std::to_string(uidvalidity) + '\n' + sha256;
  return hex_sha256(identity).substr(0, 12);
}

Result<QuarantineEntry> Quarantine::put(QuarantineEntry entry, std::string_view original) {
  entry.sha256 = hex_sha256(original);
  entry.id = id_for(entry.key, entry.uidvalidity, entry.sha256);
  if (auto existing = facts(entry.id); existing) return existing;
  if (auto made = ensure_private_dir(dir_); !made) return made.error();
  // The original first: an entry whose facts exist always has its message.
  if (auto s = write_file_atomic(path(entry.id, ".eml"), original, 0600); !s) return s.error();
  if (auto s = write_file_atomic(path(entry.id, ".meta"), serialize(entry), 0600); !s) return s.error();
  return entry;
}

Status Quarantine::mark_reported(const std::string& id) {
  auto entry = facts(id);
  if (!entry) return entry.error();
  entry->reported = true;
  return write_file_atomic(path(id, ".meta"), serialize(*entry), 0600);
}

Result<QuarantineEntry> Quarantine::facts(const std::string& id) const {
  if (!valid_quarantine_id(id)) {
    return make_error(Kind::state, Scope::message, "no quarantined message with id " + id);
  }
  std::string meta = path(id, ".meta");
  if (access(meta.c_str(), F_OK) != 0) {
    return make_error(Kind::state, Scope::message, "no quarantined message with id " + id);
  }
  auto text = read_file(meta);
  if (!text) return text.error();
  return parse(id, *text, meta);
}

Result<std::string> Quarantine::original(const std::string& id) const {
  if (auto e = facts(id); !e) return e.error();
  return read_file(path(id, ".eml"));
}

Result<std::vector<QuarantineEntry>> Quarantine::list() const {
  std::vector<QuarantineEntry> out;
  DIR* d = opendir(dir_.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return make_error(Kind::state, Scope::run, "cannot read quarantine " + dir_);
  }
  while (const dirent* ent = readdir(d)) {
    std::string name = ent->d_name;
    if (name.size() != 17 || name.substr(12) != ".meta") continue;
    if (auto e = facts(name.substr(0, 12)); e) out.push_back(*e);
  }
  closedir(d);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.date != b.date ? a.date < b.date : a.id < b.id;
  });
  return out;
}

Status Quarantine::remove(const std::string& id) {
  if (auto e = facts(id); !e) return e.error();
  // Facts first: an .eml without facts is invisible and removed by the next expiry.
  if (unlink(path(id, ".meta").c_str()) != 0 && errno != ENOENT) {
    return make_error(Kind::state, Scope::message, "cannot remove quarantine entry " + id);
  }
  unlink(path(id, ".eml").c_str());
  return sync_parent_dir(path(id, ".meta"));
}

Result<std::vector<QuarantineEntry>> Quarantine::expire(uint64_t keep_seconds, std::time_t now) {
  auto entries = list();
  if (!entries) return entries.error();
  std::vector<QuarantineEntry> removed;
  for (const auto& e : *entries) {
    if (e.date + static_cast<std::time_t>(keep_seconds) > now) continue;
    if (auto s = remove(e.id); !s) return s.error();
    removed.push_back(e);
  }
  return removed;
}

}  // namespace clamfetch::app
