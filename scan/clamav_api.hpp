// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Private to scan/: libclamav's functions, from dlopen() on first use instead of the dynamic
// linker at process start. libclamav and what it pulls in (libxml2, ICU, pcre2, json-c,
// libmspack, ...) cost every run about 1 ms of relocation, and the cron case - a poll that
// finds no mail - never scans (bench/NOTES.md). Types and constants still come from
// <clamav.h>; only calls go through the table.

#include <clamav.h>

#include "core/error.hpp"

namespace clamfetch::scan::detail {

struct ClamavApi {
  decltype(&::cl_init) init;
  decltype(&::cl_retver) retver;
  decltype(&::cl_strerror) strerror;
  decltype(&::cl_set_clcb_msg) set_clcb_msg;
  decltype(&::cl_engine_new) engine_new;
  decltype(&::cl_engine_free) engine_free;
  decltype(&::cl_engine_compile) engine_compile;
  decltype(&::cl_engine_set_num) engine_set_num;
  decltype(&::cl_engine_get_num) engine_get_num;
  decltype(&::cl_engine_set_str) engine_set_str;
  decltype(&::cl_engine_set_clcb_virus_found) engine_set_clcb_virus_found;
  decltype(&::cl_load) load;
  decltype(&::cl_fmap_open_memory) fmap_open_memory;
  decltype(&::cl_fmap_close) fmap_close;
  decltype(&::cl_scanmap_callback) scanmap_callback;
  decltype(&::cl_statinidir) statinidir;
  decltype(&::cl_statchkdir) statchkdir;
  decltype(&::cl_statfree) statfree;
};

/// Opens libclamav (its soname, found at build time) and resolves every function, once per
/// process; later calls return the same outcome. Thread-safe. Errors: Kind::scan naming the
/// library and dlerror()'s reason (not installed, a function missing).
Result<const ClamavApi*> open_clamav();

/// The table, for code that runs only after open_clamav() succeeded (an engine exists).
const ClamavApi& clamav();

}  // namespace clamfetch::scan::detail
