// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// load() and check_permissions(): the rc file holds passwords, so it must be the user's own
// and closed to group and others (fetchmail's rule and wording; exit 6).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include "rc/fd.hpp"
#include "rc/rc.hpp"

namespace clamfetch::rc {
namespace {

/// "-rw-r--r--" for a mode.
std::string mode_string(mode_t mode) {
  std::string out = S_ISDIR(mode) ? "d" : "-";
  static constexpr mode_t kBits[] = {S_IRUSR, S_IWUSR, S_IXUSR, S_IRGRP, S_IWGRP,
                                     S_IXGRP, S_IROTH, S_IWOTH, S_IXOTH};
  static constexpr char kLetters[] = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) out += (mode & kBits[i]) ? kLetters[i] : '-';
  return out;
}

std::string octal(mode_t mode) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "%04o", static_cast<unsigned>(mode & 07777));
  return buffer;
}

Error unreadable(const std::string& path, int error) {
  return make_error(Kind::config, Scope::run,
                    "cannot read rc file " + path + ": " + std::strerror(error));
}

Status check_mode(const std::string& path, const struct stat& st) {
  if (!S_ISREG(st.st_mode)) {
    return make_error(Kind::permissions, Scope::run, "File " + path + " must be a regular file.");
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    return make_error(Kind::permissions, Scope::run,
                      "File " + path + " must have no more than -rw------- (0600) permissions (it has " +
                          mode_string(st.st_mode) + " (" + octal(st.st_mode) + ")).");
  }
  if (st.st_uid != ::geteuid()) {
    return make_error(Kind::permissions, Scope::run, "File " + path + " must be owned by you.");
  }
  return {};
}

}  // namespace

Status check_permissions(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return unreadable(path, errno);
  return check_mode(path, st);
}

Result<Config> load(const std::string& path) {
  // Check the file we opened, not the name: no window for a swap between check and read.
  detail::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) return unreadable(path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return unreadable(path, errno);
  if (Status status = check_mode(path, st); !status.ok()) return status.error();
  std::string text;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return unreadable(path, errno);
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return parse(text, path);
}

}  // namespace clamfetch::rc
