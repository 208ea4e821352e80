// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// What a child process clamfetch starts (password_command, virus_action) must not inherit:
// the daemon blocks SIGHUP/SIGINT/SIGUSR1/SIGTERM for sigtimedwait, and every run ignores
// SIGPIPE. exec keeps both, so without this a command could not be stopped by SIGTERM and
// would not die of a broken pipe the way it expects.

namespace clamfetch {

/// In a forked child, right before exec: every signal back to its default disposition and
/// an empty signal mask. Only async-signal-safe calls; never fails (errors for signals that
/// cannot be changed, SIGKILL and SIGSTOP, are ignored).
void restore_default_signals() noexcept;

}  // namespace clamfetch
