// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Shared by the end-to-end tests: an unprivileged clamfetch user with its own state
// directory and rc file, run against the fixture's real Dovecot and Postfix.

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "support/servers.hpp"

namespace clamfetch::test {

/// The EICAR test string, built at run time from two halves so that no file in the
/// repository carries it (virus scanners would quarantine the file).
inline std::string eicar() {
  std::string a = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$";
  std::string b = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
  return a + b;
}

/// A message whose body carries EICAR as a base64 MIME attachment.
std::string infected_message(const std::string& message_id);

/// A clamfetch user's world: CLAMFETCH_HOME and rc file owned by the fixture's test user.
class ClamfetchUser {
 public:
  explicit ClamfetchUser(const MailServers& servers);
  ~ClamfetchUser();

  /// Writes the rc file (0600, owned by the test user) and returns its path.
  std::string write_rc(const std::string& toml, mode_t mode = 0600);
  /// The standard rc: one POP3S (or other) account -> Postfix, test signatures.
  std::string standard_rc(const std::string& protocol = "pop3", const std::string& tls = "implicit",
                          const std::string& extra_user = "", const std::string& extra_global = "") const;
  /// Runs the clamfetch binary as the test user with CLAMFETCH_HOME set.
  RunResult clamfetch(const std::vector<std::string>& args) const;

  const std::string& home() const { return home_; }
  const std::string& rc_path() const { return rc_; }

 private:
  const MailServers& servers_;
  std::string home_;
  std::string rc_;
  std::string ca_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
};

/// How many times each Message-ID occurs in `files` (delivered Maildir files): the fault
/// tests account for every seeded message with it.
std::map<std::string, int> count_message_ids(const std::vector<std::string>& files);

/// Absolute path of the clamfetch binary under test.
std::string clamfetch_binary();

/// Body of a delivered Maildir file, from the first blank line on.
std::string body_of(const std::string& message);

}  // namespace clamfetch::test
