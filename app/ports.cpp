// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "app/ports.hpp"

#include "app/settings.hpp"

namespace clamfetch::app {

Ports real_ports(const rc::Config& config, const std::string& state_dir) {
  Ports ports;
  ports.session = [](const rc::Poll& poll, const rc::User& user, Log& log) {
    return fetch::make_session(fetch_settings(poll, user), log);
  };
  ports.scanner = [&config, state_dir](Log& log) {
    return scan::make_scanner(scan_settings(config.scan, state_dir), log);
  };
  ports.transport = [](const rc::User& user, const std::string& helo, Log& log) {
    return deliver::make_transport(deliver_settings(user.smtphost, user, helo), log);
  };
  return ports;
}

}  // namespace clamfetch::app
