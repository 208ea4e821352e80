// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// The quarantine: originals of infected mail, exactly as fetched, with their facts, so that
// a false positive can be released to its recipients later (clamav-milter users have
// Postfix's hold queue for that). One directory (0700), per entry ID.eml + ID.meta (0600),
// each written atomically.

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace clamfetch::app {

struct QuarantineEntry {
  std::string id;                 ///< 12 lower-case hex digits: short, safe to type
  std::time_t date = 0;           ///< when it was quarantined
  std::string account;            ///< user@server
  std::string key;                ///< server/user/[folder/]uid
  std::string uid;
  std::string sender;
  std::vector<std::string> recipients;
  std::string virus;
  uint64_t size = 0;
  std::string message_id;
  std::string subject;
  bool reported = false;          ///< the postmaster's report was accepted by the MTA
  uint32_t uidvalidity = 0;       ///< IMAP folder's UIDVALIDITY when fetched; 0 for POP3
  std::string sha256{};           ///< hex digest of the original (set by put)
};

class Quarantine {
 public:
  explicit Quarantine(std::string dir) : dir_(std::move(dir)) {}

  /// The id of a message: stable for the same key, UIDVALIDITY and bytes, so that a rerun
  /// finds the entry again; another message reusing the UID (a UIDVALIDITY reset, a reused
  /// POP3 UIDL) gets another id. `sha256` is the hex digest of the original.
  static std::string id_for(const std::string& key, uint32_t uidvalidity, const std::string& sha256);

  /// Store the original and its facts (entry.id and entry.sha256 are set here). If the entry
  /// already exists (the same message, from a run killed before acknowledging), it is left
  /// as it is and returned. Errors: Kind::state.
  Result<QuarantineEntry> put(QuarantineEntry entry, std::string_view original);
  /// Note that the postmaster's report for `id` was accepted. Errors: Kind::state.
  Status mark_reported(const std::string& id);

  /// Every entry, oldest first. A missing directory is an empty quarantine.
  Result<std::vector<QuarantineEntry>> list() const;
  /// One entry's facts. Errors: Kind::state "no quarantined message with id ID".
  Result<QuarantineEntry> facts(const std::string& id) const;
  /// One entry's original bytes.
  Result<std::string> original(const std::string& id) const;
  /// Remove an entry (both files). Errors: Kind::state.
  Status remove(const std::string& id);
  /// Remove entries older than keep_seconds; returns those removed.
  Result<std::vector<QuarantineEntry>> expire(uint64_t keep_seconds, std::time_t now);

  const std::string& dir() const { return dir_; }

 private:
  std::string path(const std::string& id, const char* ext) const { return dir_ + "/" + id + ext; }
  std::string dir_;
};

/// Is `id` of the quarantine's form (so it is never a path)?
bool valid_quarantine_id(const std::string& id);

}  // namespace clamfetch::app
