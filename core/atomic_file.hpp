// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// State on disk: a file is replaced whole or not at all (temp file in the same directory,
// fsync, rename, fsync of the directory), created with the given mode.

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace clamfetch {

/// Atomically replace `path` with `data`. Blocks on fsync. Errors: Kind::state naming the
/// file and the reason (ENOSPC, EACCES, ...); on error the old file is intact.
Status write_file_atomic(const std::string& path, std::string_view data, unsigned mode = 0600);

/// Writes all of `data` to `fd`, retrying short writes and EINTR; false with errno set.
bool write_all(int fd, std::string_view data);

/// fsync the directory holding `path` (after a rename or unlink). Errors: Kind::state.
Status sync_parent_dir(const std::string& path);

/// Read a whole file. Errors: Kind::state naming the file.
Result<std::string> read_file(const std::string& path);

}  // namespace clamfetch
