// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Maps the rc file's Config onto each module's own settings: rc, fetch, scan and deliver do
// not know one another, only app does.

#include <string>

#include "app/cli.hpp"
#include "deliver/deliver.hpp"
#include "fetch/fetch.hpp"
#include "rc/rc.hpp"
#include "scan/scan.hpp"

namespace clamfetch::app {

/// The rc file with the command line's overrides applied (options win).
rc::Config apply_overrides(rc::Config config, const Options& options);

/// "user@server", the name of an account in every log line.
std::string account_name(const rc::Poll& poll, const rc::User& user);
/// "pop3://user@server", the UID store's key (stable across runs and port changes).
std::string account_key(const rc::Poll& poll, const rc::User& user);

fetch::AccountSettings fetch_settings(const rc::Poll& poll, const rc::User& user);
/// libclamav's temp directory: /dev/shm/clamfetch-<uid> (0700, ours) or <state_dir>/scantmp.
std::string scan_temp_directory(const std::string& state_dir);
scan::Settings scan_settings(const rc::Scan& scan, const std::string& state_dir);
/// The engine's part of scan_settings (which engine, database, self-check): no file system
/// side effects, for --version.
scan::Settings scan_engine_settings(const rc::Scan& scan);
deliver::ClientSettings deliver_settings(const rc::MtaTarget& target, const rc::User& user,
                                         const std::string& helo_name);

/// $CLAMFETCH_HOME, else ~/.clamfetch.
std::string state_directory();
/// -f, else $CLAMFETCH_HOME/clamfetch.toml, else ~/.clamfetch.toml.
std::string default_rcfile();
/// fetchmail's UID file: $FETCHMAILHOME/.fetchids, else ~/.fetchids (fetchmail's default).
std::string default_fetchids();
/// scan.quarantine_dir, else <state_dir>/quarantine.
std::string quarantine_directory(const rc::Config& config, const std::string& state_dir);
/// This host's name (for Received, X-Virus-Scanned, reports).
std::string host_name();
/// The postmaster: global.postmaster, else the login name of the user running clamfetch.
std::string postmaster_address(const rc::Config& config);

}  // namespace clamfetch::app
