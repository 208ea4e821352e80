// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Logging: levels plus trace channels; stderr, syslog (LOG_MAIL) or an append-only file.
// Thread-safe: accounts are polled in parallel. Every line names its account in its text.

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace clamfetch {

enum class Level { error = 0, warning = 1, info = 2, verbose = 3, trace = 4 };

/// Trace channels, switched on with -v -v (all) or individually.
enum class Channel : unsigned { net = 1, scan = 2, smtp = 4 };

class Log {
 public:
  Log() = default;
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  void set_level(Level level) { level_ = level; }
  Level level() const { return level_; }
  bool enabled(Level level) const { return static_cast<int>(level) <= static_cast<int>(level_); }
  void enable_trace(unsigned channels) { traces_ = channels; }
  bool tracing(Channel channel) const { return (traces_ & static_cast<unsigned>(channel)) != 0; }

  /// Switch to syslog, facility LOG_MAIL, ident "clamfetch".
  void use_syslog();
  /// Append to a file created 0600. Errors: Kind::state naming the file.
  Status use_file(const std::string& path);

  void error(std::string_view text) { write(Level::error, text); }
  void warning(std::string_view text) { write(Level::warning, text); }
  void info(std::string_view text) { write(Level::info, text); }
  void verbose(std::string_view text) { write(Level::verbose, text); }
  /// A protocol trace line; the caller has already masked secrets.
  void trace(Channel channel, std::string_view text);

  void write(Level level, std::string_view text);

 private:
  std::mutex mutex_;
  Level level_ = Level::info;
  unsigned traces_ = 0;
  bool syslog_ = false;
  std::FILE* file_ = nullptr;
};

}  // namespace clamfetch
