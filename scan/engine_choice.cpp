// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// engine = auto: most hosts that run clamfetch already run clamd (clamav-milter needs it),
// holding the same database in memory. Loading it again in-process costs seconds of CPU and
// about a gigabyte per run; a PING on the local socket costs a connect.

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "scan/clamd_socket.hpp"
#include "scan/engine_choice.hpp"
#include "scan/scan.hpp"

namespace clamfetch::scan {
namespace detail {

constexpr const char* kDefaultClamdSocket = "/run/clamav/clamd.ctl";
constexpr int kPingSeconds = 2;  // a local socket answers at once or is not serving

std::string local_socket_from(std::istream& conf) {
  std::string line;
  std::string socket;
  while (std::getline(conf, line)) {
    std::istringstream words(line);
    std::string key;
    std::string value;
    if (!(words >> key) || key != "LocalSocket") continue;
    if (words >> value) socket = value;  // clamd takes the last one
  }
  return socket;
}

std::string local_clamd_socket(const std::string& clamd_conf) {
  std::ifstream conf(clamd_conf);
  std::string socket = conf ? local_socket_from(conf) : "";
  return socket.empty() ? kDefaultClamdSocket : socket;
}

bool clamd_answers_ping(const std::string& address) {
  auto parsed = parse_clamd_address(address);
  if (!parsed) return false;
  Deadline deadline = Deadline::after(kPingSeconds);
  auto fd = connect_to(*parsed, deadline);
  if (!fd) return false;
  if (!send_all(fd->get(), std::string_view("zPING\0", 6), deadline)) return false;
  auto reply = read_reply(fd->get(), deadline);
  return reply && *reply == "PONG";
}

}  // namespace detail

namespace {

std::string list_text(const std::vector<std::string>& addresses) {
  std::string out;
  for (const auto& a : addresses) out += (out.empty() ? "" : ", ") + a;
  return out;
}

EngineChoice in_process(const Settings& settings, const std::string& why) {
  return {{}, "libclamav in-process, database " + settings.database + " (" + why + ")"};
}

EngineChoice remote(std::vector<std::string> addresses, const std::string& why) {
  std::string text = "clamd at " + list_text(addresses) + " (" + why + ")";
  return {std::move(addresses), std::move(text)};
}

}  // namespace

EngineChoice choose_engine(const Settings& settings) {
  switch (settings.engine) {
    case EngineMode::libclamav: return in_process(settings, "engine = libclamav");
    case EngineMode::clamd:
      if (!settings.clamd.empty()) return remote(settings.clamd, "engine = clamd");
      return remote({"unix:" + detail::local_clamd_socket(settings.clamd_conf)},
                    "engine = clamd: the local clamd of " + settings.clamd_conf);
    case EngineMode::automatic: break;
  }
  if (!settings.clamd.empty()) return remote(settings.clamd, "engine = auto: clamd is set");
  if (!settings.database_default) return in_process(settings, "engine = auto: database is set");
  std::string address = "unix:" + detail::local_clamd_socket(settings.clamd_conf);
  if (detail::clamd_answers_ping(address)) {
    return remote({address}, "engine = auto: the local clamd answered PING");
  }
  return in_process(settings, "engine = auto: no local clamd answered PING on " + address);
}

}  // namespace clamfetch::scan
