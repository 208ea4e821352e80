// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "core/log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace clamfetch {

Log::~Log() {
  if (file_ != nullptr) std::fclose(file_);
  if (syslog_) closelog();
}

void Log::use_syslog() {
  std::lock_guard lock(mutex_);
  openlog("clamfetch", LOG_PID, LOG_MAIL);
  syslog_ = true;
}

Status Log::use_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return make_error(Kind::state, Scope::run,
                      "cannot open log file " + path + ": " + std::strerror(errno));
  }
  std::FILE* file = ::fdopen(fd, "a");
  if (file == nullptr) {
    ::close(fd);
    return make_error(Kind::state, Scope::run, "cannot open log file " + path);
  }
  std::lock_guard lock(mutex_);
  if (file_ != nullptr) std::fclose(file_);
  file_ = file;
  return {};
}

void Log::trace(Channel channel, std::string_view text) {
  if (tracing(channel)) write(Level::trace, text);
}

static int syslog_priority(Level level) {
  switch (level) {
    case Level::error: return LOG_ERR;
    case Level::warning: return LOG_WARNING;
    case Level::info: return LOG_NOTICE;
    case Level::verbose: return LOG_INFO;
    case Level::trace: return LOG_DEBUG;
  }
  return LOG_INFO;
}

void Log::write(Level level, std::string_view text) {
  // Trace lines are gated by their channel, not the level.
  if (level != Level::trace && !enabled(level)) return;
  std::lock_guard lock(mutex_);
  if (syslog_) {
    ::syslog(syslog_priority(level), "%.*s", static_cast<int>(text.size()), text.data());
    return;
  }
  std::FILE* out = file_ != nullptr ? file_ : stderr;
  std::fprintf(out, "clamfetch: %.*s\n", static_cast<int>(text.size()), text.data());
  std::fflush(out);
}

}  // namespace clamfetch
