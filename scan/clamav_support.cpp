// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "scan/clamav_support.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <system_error>

namespace clamfetch::scan::detail {
namespace {

namespace fs = std::filesystem;

// Where libclamav's messages go while this thread loads an engine (cl_load and
// cl_engine_compile call back with a NULL context). During a scan the context says.
thread_local Log* t_load_log = nullptr;
thread_local int t_load_messages = 0;

class LoadLogGuard {
 public:
  explicit LoadLogGuard(Log& log) : log_(log) {
    t_load_log = &log;
    t_load_messages = 0;
  }
  ~LoadLogGuard() {
    t_load_log = nullptr;
    log_suppressed(log_, t_load_messages);
  }
  LoadLogGuard(const LoadLogGuard&) = delete;
  LoadLogGuard& operator=(const LoadLogGuard&) = delete;

 private:
  Log& log_;
};

// libclamav's messages into our log instead of raw stderr. A C callback: nothing may throw
// out of it, so any failure to log is swallowed.
void on_message(enum cl_msg severity, const char*, const char* msg, void* context) noexcept {
  try {
    auto* scan = static_cast<ScanContext*>(context);
    Log* log = scan ? scan->log : t_load_log;
    if (log == nullptr || msg == nullptr) return;
    int& count = scan ? scan->messages : t_load_messages;
    if (++count > kMaxLibclamavMessages) return;
    std::string text = std::string("libclamav: ") + msg;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    switch (severity) {
      case CL_MSG_ERROR: log->error(text); break;
      case CL_MSG_WARN: log->warning(text); break;
      default: log->trace(Channel::scan, text); break;
    }
  } catch (...) {
  }
}

void on_virus_found(int, const char* name, void* context) noexcept {
  try {
    auto* scan = static_cast<ScanContext*>(context);
    if (scan != nullptr && name != nullptr && scan->first_virus.empty()) scan->first_virus = name;
  } catch (...) {
  }
}

// Scope::message: a scanner that cannot load fails each message's scan (on_fail decides).
Error scan_error(std::string text) { return make_error(Kind::scan, Scope::message, std::move(text)); }

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// A directory of ours, 0700, not a symlink; created (with parents) when missing.
Status ensure_private_dir(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return scan_error("cannot create temp directory " + path + ": " + ec.message());
  struct stat st{};
  if (lstat(path.c_str(), &st) != 0) return scan_error(errno_text("cannot stat", path));
  if (!S_ISDIR(st.st_mode)) return scan_error("temp directory " + path + " is not a directory");
  if (st.st_uid != geteuid()) return scan_error("temp directory " + path + " is not ours");
  if ((st.st_mode & 07777) != 0700 && chmod(path.c_str(), 0700) != 0) {
    return scan_error(errno_text("cannot chmod 0700", path));
  }
  return {};
}

// A crash leaves decoded attachments and unpacked archives behind: malware at rest.
Status remove_leftovers(const std::string& path) {
  std::error_code ec;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    fs::remove_all(it->path(), ec);
    if (ec) return scan_error("cannot remove " + it->path().string() + ": " + ec.message());
  }
  if (ec) return scan_error("cannot list temp directory " + path + ": " + ec.message());
  return {};
}

Status set_limits(cl_engine* engine, const Settings& settings, const std::string& temp_dir) {
  struct Limit {
    cl_engine_field field;
    long long value;
  };
  const Limit limits[] = {
      {CL_ENGINE_MAX_FILESIZE, static_cast<long long>(settings.max_file_size)},
      {CL_ENGINE_MAX_SCANSIZE, static_cast<long long>(settings.max_scan_size)},
      {CL_ENGINE_MAX_SCANTIME, static_cast<long long>(settings.max_scan_time_ms)},
      {CL_ENGINE_MAX_RECURSION, 17},  // libclamav's defaults, stated so they do not drift
      {CL_ENGINE_MAX_FILES, 10000},
  };
  for (const Limit& limit : limits) {
    if (cl_error_t rc = clamav().engine_set_num(engine, limit.field, limit.value); rc != CL_SUCCESS) {
      return scan_error(std::string("cannot set a libclamav limit: ") + clamav().strerror(rc));
    }
  }
  if (cl_error_t rc = clamav().engine_set_str(engine, CL_ENGINE_TMPDIR, temp_dir.c_str());
      rc != CL_SUCCESS) {
    return scan_error(std::string("cannot set libclamav's temp directory: ") + clamav().strerror(rc));
  }
  return {};
}

}  // namespace

void log_suppressed(Log& log, int messages) {
  if (messages <= kMaxLibclamavMessages) return;
  log.warning("libclamav: " + std::to_string(messages - kMaxLibclamavMessages) +
              " more messages not logged");
}

Status init_libclamav() {
  static std::once_flag once;
  static cl_error_t result = CL_SUCCESS;
  Result<const ClamavApi*> api = open_clamav();
  if (!api) return api.error();
  std::call_once(once, [] {
    clamav().set_clcb_msg(on_message);
    result = clamav().init(CL_INIT_DEFAULT);
  });
  if (result != CL_SUCCESS) return scan_error(std::string("cl_init: ") + clamav().strerror(result));
  return {};
}

TempDir::TempDir(TempDir&& other) noexcept
    : path_(std::move(other.path_)), owned_(std::exchange(other.owned_, false)) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    owned_ = std::exchange(other.owned_, false);
  }
  return *this;
}

TempDir::~TempDir() { release(); }

void TempDir::release() noexcept {
  if (!owned_) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
  owned_ = false;
}

Result<TempDir> prepare_temp_dir(const std::string& configured, bool clean) {
  if (configured.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/clamfetch-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      return scan_error(errno_text("cannot create temp directory", pattern));
    }
    return TempDir(pattern, true);
  }
  std::string path = configured + "/libclamav";
  if (Status s = ensure_private_dir(configured); !s) return s.error();
  if (Status s = ensure_private_dir(path); !s) return s.error();
  if (clean) {
    if (Status s = remove_leftovers(path); !s) return s.error();
  }
  return TempDir(path, false);
}

Result<LoadedEngine> load_engine(const Settings& settings, const std::string& temp_dir, Log& log) {
  LoadLogGuard guard(log);
  LoadedEngine loaded;
  loaded.engine.reset(clamav().engine_new());
  if (!loaded.engine) return scan_error("cl_engine_new failed (out of memory?)");
  if (Status s = set_limits(loaded.engine.get(), settings, temp_dir); !s) return s.error();
  clamav().engine_set_clcb_virus_found(loaded.engine.get(), on_virus_found);

  const std::string& db = settings.database;
  cl_error_t rc = clamav().load(db.c_str(), loaded.engine.get(), &loaded.signatures, CL_DB_STDOPT);
  if (rc != CL_SUCCESS) {
    return scan_error("cannot load signature database " + db + ": " + clamav().strerror(rc));
  }
  // cl_load succeeds silently on a file it does not understand: 0 signatures is a failure.
  if (loaded.signatures == 0) return scan_error("no signatures in database " + db);
  if ((rc = clamav().engine_compile(loaded.engine.get())) != CL_SUCCESS) {
    return scan_error("cannot compile signature database " + db + ": " + clamav().strerror(rc));
  }
  int err = CL_SUCCESS;
  loaded.db_version =
      static_cast<uint32_t>(clamav().engine_get_num(loaded.engine.get(), CL_ENGINE_DB_VERSION, &err));
  loaded.db_time =
      static_cast<std::time_t>(clamav().engine_get_num(loaded.engine.get(), CL_ENGINE_DB_TIME, &err));
  return loaded;
}

DatabaseWatch::~DatabaseWatch() { stop(); }

void DatabaseWatch::stop() {
  if (started_ && is_dir_) clamav().statfree(&dir_stat_);
  started_ = false;
}

void DatabaseWatch::start(const std::string& database) {
  stop();
  database_ = database;
  struct stat st{};
  if (stat(database.c_str(), &st) != 0) return;
  is_dir_ = S_ISDIR(st.st_mode);
  if (is_dir_) {
    std::memset(&dir_stat_, 0, sizeof dir_stat_);
    if (clamav().statinidir(database.c_str(), &dir_stat_) != CL_SUCCESS) return;
  } else {
    file_stat_ = st;
  }
  started_ = true;
}

bool DatabaseWatch::changed() {
  if (!started_) return true;  // could not even stat it at load: let a reload say why
  if (is_dir_) return clamav().statchkdir(&dir_stat_) != 0;
  struct stat st{};
  if (stat(database_.c_str(), &st) != 0) return true;
  return st.st_mtim.tv_sec != file_stat_.st_mtim.tv_sec ||
         st.st_mtim.tv_nsec != file_stat_.st_mtim.tv_nsec || st.st_size != file_stat_.st_size ||
         st.st_ino != file_stat_.st_ino;
}

}  // namespace clamfetch::scan::detail
