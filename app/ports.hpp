// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// The pipeline's seams to the outside: where a poll gets its server sessions, its scanner and
// its MTA connections. The binary uses the real ones (real_ports()); unit tests give fakes at
// the same seams (tests/unit/app_pipeline_test.cpp), as ninja's DiskInterface does for files.

#include <functional>
#include <memory>
#include <string>

#include "core/log.hpp"
#include "deliver/deliver.hpp"
#include "fetch/fetch.hpp"
#include "rc/rc.hpp"
#include "scan/scan.hpp"

namespace clamfetch::app {

/// A session for one account, not yet opened.
using SessionFactory = std::function<std::unique_ptr<fetch::Session>(const rc::Poll&, const rc::User&, Log&)>;
/// The scanner of a poller (asked once, only when scanning is enabled).
using ScannerFactory = std::function<std::unique_ptr<scan::Scanner>(Log&)>;
/// An MTA connection to the user's smtphost; `helo` is this host's name.
using TransportFactory =
    std::function<std::unique_ptr<deliver::Transport>(const rc::User&, const std::string& helo, Log&)>;

struct Ports {
  SessionFactory session;
  ScannerFactory scanner;
  TransportFactory transport;
};

/// fetch::make_session, scan::make_scanner and deliver::make_transport with the rc file's
/// settings; `config` must outlive the factories.
Ports real_ports(const rc::Config& config, const std::string& state_dir);

}  // namespace clamfetch::app
