// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Private to scan/: libclamav handles (RAII), process-wide init, the message callback, the
// private temp directory, the engine load and the database change watch.

#include <clamav.h>
#include <sys/stat.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "core/log.hpp"
#include "scan/clamav_api.hpp"
#include "scan/scan.hpp"

namespace clamfetch::scan::detail {

struct EngineFree {
  void operator()(cl_engine* engine) const { clamav().engine_free(engine); }
};
using EnginePtr = std::unique_ptr<cl_engine, EngineFree>;

struct FmapClose {
  void operator()(cl_fmap_t* map) const { clamav().fmap_close(map); }
};
using FmapPtr = std::unique_ptr<cl_fmap_t, FmapClose>;

/// At most this many libclamav messages are logged per load and per scan: a synthetic
/// 4-million-signature load emits one warning per hash bucket growth (~270,000 lines).
inline constexpr int kMaxLibclamavMessages = 20;

/// What libclamav's callbacks get as `context` during one scan.
struct ScanContext {
  Log* log = nullptr;
  std::string first_virus;  ///< from clcb_virus_found (the name out-parameter can be NULL)
  int messages = 0;         ///< libclamav messages seen (logged up to kMaxLibclamavMessages)
};

/// One line saying how many libclamav messages were not logged, if any.
void log_suppressed(Log& log, int messages);

/// cl_init and the message/virus callbacks, once per process (std::call_once). Errors:
/// Kind::scan with libclamav's reason (remembered: every call returns the same result).
Status init_libclamav();

/// A directory for libclamav's temp files. Owns it (removes it with its content on
/// destruction) only when it made it itself with mkdtemp.
class TempDir {
 public:
  TempDir() = default;
  TempDir(std::string path, bool owned) : path_(std::move(path)), owned_(owned) {}
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  void release() noexcept;
  std::string path_;
  bool owned_ = false;
};

/// The libclamav temp directory: `<configured>/libclamav`, created 0700 (parents as needed),
/// with leftovers of a crashed run (decoded attachments, unpacked archives: malware) removed.
/// A sub-directory, so that a misconfigured temp_dir (a home directory) is never wiped.
/// `configured` empty: a fresh mkdtemp directory under $TMPDIR (else /tmp), removed by the
/// TempDir. `clean` false keeps what is there: a daemon's reloaded engine shares the directory
/// with scans still running on the old one. Errors: Kind::scan naming the path.
Result<TempDir> prepare_temp_dir(const std::string& configured, bool clean = true);

struct LoadedEngine {
  EnginePtr engine;
  unsigned signatures = 0;
  uint32_t db_version = 0;
  std::time_t db_time = 0;
};

/// cl_engine_new + limits + cl_load(settings.database, CL_DB_STDOPT) + cl_engine_compile.
/// Blocks for the whole load (seconds with a real database). libclamav's messages during it
/// go to `log`. Errors: Kind::scan — load failure, 0 signatures, compile failure.
Result<LoadedEngine> load_engine(const Settings& settings, const std::string& temp_dir, Log& log);

/// Watches a signature directory (cl_statinidir / cl_statchkdir) or a single file (mtime,
/// size, inode). Not thread-safe: the owner locks.
class DatabaseWatch {
 public:
  DatabaseWatch() = default;
  DatabaseWatch(const DatabaseWatch&) = delete;
  DatabaseWatch& operator=(const DatabaseWatch&) = delete;
  ~DatabaseWatch();
  void start(const std::string& database);
  bool changed();

 private:
  void stop();
  std::string database_;
  bool is_dir_ = false;
  bool started_ = false;
  cl_stat dir_stat_{};
  struct stat file_stat_{};
};

}  // namespace clamfetch::scan::detail
