// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Private to scan/: the memory facts behind reload = "auto" (reloading.cpp).

#include <cstdint>
#include <istream>
#include <string>

#include "scan/scan.hpp"

namespace clamfetch::scan::detail {

/// reload = auto reloads concurrently only when the memory available is at least this many
/// times the first engine's size: a load peaks above the compiled engine it leaves.
inline constexpr double kConcurrentHeadroom = 1.5;

/// True: load the new engine beside the old one; false: free the old one first. For
/// ReloadMode::automatic, concurrent when `engine_bytes` (0: unknown) times
/// kConcurrentHeadroom fits in `mem_available` (0: unknown); unknown is blocking. Pure.
bool reload_concurrently(ReloadMode mode, uint64_t mem_available, uint64_t engine_bytes);

/// The value in bytes of a "Key:   123 kB" line of /proc/meminfo or /proc/self/status text;
/// 0 when absent. Pure.
uint64_t proc_kb_field(std::istream& text, const std::string& key);

/// MemAvailable of /proc/meminfo in bytes, 0 when unknown.
uint64_t mem_available_bytes();
/// VmRSS of this process in bytes, 0 when unknown.
uint64_t resident_bytes();

}  // namespace clamfetch::scan::detail
