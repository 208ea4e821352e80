// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// open_clamav(): dlopen + dlsym of the functions scan/ calls, once per process.

#include "scan/clamav_api.hpp"

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace clamfetch::scan::detail {
namespace {

ClamavApi api{};
std::string failure;  // empty once loaded

template <class Fn>
bool resolve(void* library, const char* name, Fn& slot) {
  slot = reinterpret_cast<Fn>(::dlsym(library, name));
  if (slot == nullptr) failure = std::string(CLAMFETCH_LIBCLAMAV_SONAME) + " lacks " + name;
  return slot != nullptr;
}

void load() {
  // RTLD_NODELETE: the library stays for the life of the process (it is never closed anyway,
  // and its threads and atexit handlers must not outlive their code).
  void* library = ::dlopen(CLAMFETCH_LIBCLAMAV_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (library == nullptr) {
    const char* why = ::dlerror();
    failure = std::string("cannot load ") + CLAMFETCH_LIBCLAMAV_SONAME + ": " + (why ? why : "unknown reason");
    return;
  }
  bool ok = resolve(library, "cl_init", api.init) && resolve(library, "cl_retver", api.retver) &&
            resolve(library, "cl_strerror", api.strerror) &&
            resolve(library, "cl_set_clcb_msg", api.set_clcb_msg) &&
            resolve(library, "cl_engine_new", api.engine_new) &&
            resolve(library, "cl_engine_free", api.engine_free) &&
            resolve(library, "cl_engine_compile", api.engine_compile) &&
            resolve(library, "cl_engine_set_num", api.engine_set_num) &&
            resolve(library, "cl_engine_get_num", api.engine_get_num) &&
            resolve(library, "cl_engine_set_str", api.engine_set_str) &&
            resolve(library, "cl_engine_set_clcb_virus_found", api.engine_set_clcb_virus_found) &&
            resolve(library, "cl_load", api.load) &&
            resolve(library, "cl_fmap_open_memory", api.fmap_open_memory) &&
            resolve(library, "cl_fmap_close", api.fmap_close) &&
            resolve(library, "cl_scanmap_callback", api.scanmap_callback) &&
            resolve(library, "cl_statinidir", api.statinidir) &&
            resolve(library, "cl_statchkdir", api.statchkdir) &&
            resolve(library, "cl_statfree", api.statfree);
  if (!ok) api = ClamavApi{};
}

}  // namespace

Result<const ClamavApi*> open_clamav() {
  static std::once_flag once;
  std::call_once(once, load);
  // Scope::message: as a failed engine load, a per-message scan failure (on_fail decides).
  if (!failure.empty()) return make_error(Kind::scan, Scope::message, failure);
  return &api;
}

const ClamavApi& clamav() { return api; }

}  // namespace clamfetch::scan::detail
