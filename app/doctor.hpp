// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// clamfetch --doctor: checks a setup step by step without fetching, marking, deleting or
// delivering anything. The checks' verdicts and texts are pure functions (this header, tested
// in tests/unit/app_doctor_test.cpp); run_doctor() does the I/O (doctor_run.cpp).

#include <sys/types.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/message.hpp"
#include "deliver/deliver.hpp"
#include "fetch/fetch.hpp"
#include "rc/rc.hpp"
#include "scan/scan.hpp"

namespace clamfetch::app::doctor {

enum class Health { ok, warn, fail };

/// One line of the report: what was checked, how it went, and for WARN/FAIL what to change.
struct Check {
  std::string subject;          ///< "user@server", "scanner" or "state"
  std::string step;             ///< "dns", "connect", "tls", "login", "folder", "mta", ...
  Health health = Health::ok;
  std::string text;             ///< the facts found (never a secret)
  std::string remedy;           ///< WARN/FAIL: what to change; may be empty for WARN
  Kind kind = Kind::internal;   ///< FAIL: the exit code's kind
};

Check ok(std::string subject, std::string step, std::string text);
Check warn(std::string subject, std::string step, std::string text, std::string remedy);
Check fail(std::string subject, std::string step, Kind kind, std::string text, std::string remedy);

/// "SUBJECT  STEP     OK    TEXT\n" plus "      change: REMEDY\n" when there is one.
std::string format(const Check& check);
/// 0 when no check failed (WARN allowed), else exit_code() of the first failure's kind.
int exit_code_of(const std::vector<Check>& checks);
/// "3 OK, 1 WARN, 0 FAIL".
std::string summary(const std::vector<Check>& checks);

/// The TLS session: protocol, cipher, certificate names, expiry (WARN within 14 days), the
/// host name verified, the pin.
Check tls_check(const std::string& subject, const fetch::TlsFacts& facts, std::time_t now);
/// "the server presents subject ...; issuer ...; expires YYYY-MM-DD": the certificate seen
/// over an unverified handshake after verification failed.
std::string presented_text(const fetch::TlsFacts& facts);
/// What to change when the session could not be opened, per the error's kind and text.
std::string open_remedy(const Error& error, const rc::Poll& poll, const rc::User& user);
/// A folder's counts ("INBOX: 3 messages, 2 unseen").
Check folder_check(const std::string& subject, const std::string& folder,
                   const fetch::FolderCounts& counts);

/// The MTA's SIZE against the account's `limit` and [scan] max_file_size: a message over
/// SIZE is refused by the MTA (bounced or sent to the postmaster) unless `limit` leaves it on
/// the server first (WARN); a message the MTA takes but scanning skips goes by on_oversize
/// (WARN naming it). `limit` and `size_max` 0 mean none.
Check size_check(const std::string& subject, const deliver::Extensions& extensions,
                 uint64_t limit, uint64_t max_file_size, rc::OnOversize on_oversize);
/// One RCPT TO reply: 2xx OK, 4xx WARN, 5xx (or none) FAIL with the MTA's own text.
Check rcpt_check(const std::string& subject, const std::string& address,
                 const deliver::Reply& reply, const std::string& smtphost);

/// The signature database on disk: unreadable or empty FAIL, older than 7 days WARN
/// (freshclam's threshold).
Check database_check(const std::string& database, const scan::DatabaseFacts& facts,
                     std::time_t now);
/// clamd's database from its VERSION reply ("ClamAV 1.4.6/27000/Mon Dec  7 08:00:00 2026").
Check clamd_database_check(const std::string& version, std::time_t now);
/// The build time in a clamd VERSION reply; nullopt when it has none.
std::optional<std::time_t> clamd_database_time(const std::string& version);
/// The scan of the EICAR test message: only a detection is OK (see doctor.cpp for why a miss
/// is a FAIL).
Check eicar_check(const Verdict& verdict);
/// An RFC 5322 message with the EICAR test file as a base64 attachment, built at run time
/// from two halves (no file of clamfetch holds the string whole).
std::string eicar_message();

/// What stat() said of the state directory.
struct DirFacts {
  bool exists = false;
  bool is_dir = false;
  mode_t mode = 0;
  uid_t owner = 0;
  bool writable = false;
};
/// Owner (FAIL if not `euid`), mode (WARN if group/other have any access), writable (FAIL).
Check state_check(const std::string& path, const DirFacts& dir, uid_t euid);
/// Free space: under 1 MiB FAIL, under 100 MiB WARN.
Check space_check(const std::string& path, uint64_t free_bytes);

/// Runs every check for the accounts of `config` (only those of `servers` when not empty),
/// then the scanner and the state directory, printing each line to `out` as it completes.
/// Returns exit_code_of() all checks. Blocks (network timeouts per account).
int run_doctor(const rc::Config& config, const std::vector<std::string>& servers,
               const std::string& state_dir, std::FILE* out);

}  // namespace clamfetch::app::doctor
