// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// describe(): the --check-config text. Every account with every resolved value, one
// `key = value` per line; secrets masked.

#include <sstream>

#include "rc/checker.hpp"
#include "rc/rc.hpp"

namespace clamfetch::rc {
namespace {

constexpr const char* kMasked = "********";

template <class T>
std::string list(const std::vector<T>& items) {
  std::string out = "[";
  for (const auto& item : items) {
    if (out.size() > 1) out += ", ";
    if constexpr (std::is_same_v<T, std::string>) {
      out += detail::quoted(item);
    } else {
      out += std::to_string(item);
    }
  }
  return out + "]";
}

const char* yes(bool value) { return value ? "true" : "false"; }

const char* tls_name(TlsMode tls) {
  switch (tls) {
    case TlsMode::implicit: return "implicit";
    case TlsMode::starttls: return "starttls";
    case TlsMode::none: return "none";
  }
  return "implicit";
}

const char* auth_name(Poll::Auth auth) {
  static constexpr const char* kNames[] = {"auto", "password", "plain", "login", "apop", "oauth2"};
  return kNames[static_cast<int>(auth)];
}

const char* detail_name(LogDetail value) {
  static constexpr const char* kNames[] = {"off", "basic", "full"};
  return kNames[static_cast<int>(value)];
}

/// The [poll.user.oauth] values; secrets and commands (which may hold secrets) masked.
void describe_oauth(std::ostringstream& out, const OAuth& oauth) {
  static constexpr const char* kProviders[] = {"microsoft", "google", "custom"};
  static constexpr const char* kFlows[] = {"device", "client_credentials", "authorization_code"};
  auto or_preset = [](const std::string& value) { return value.empty() ? "(provider's preset)" : value; };
  if (!oauth.token_command.empty()) {
    out << "oauth.token_command = " << kMasked << "\n";
    return;
  }
  out << "oauth.provider = " << kProviders[static_cast<int>(oauth.provider)] << "\n"
      << "oauth.flow = " << kFlows[static_cast<int>(oauth.flow)] << "\n"
      << "oauth.client_id = " << oauth.client_id << "\n";
  if (!oauth.client_secret.empty()) out << "oauth.client_secret = " << kMasked << "\n";
  if (!oauth.client_secret_command.empty()) out << "oauth.client_secret_command = " << kMasked << "\n";
  if (oauth.provider == OAuth::Provider::microsoft) out << "oauth.tenant = " << or_preset(oauth.tenant) << "\n";
  out << "oauth.token_endpoint = " << or_preset(oauth.token_endpoint) << "\n"
      << "oauth.device_endpoint = " << or_preset(oauth.device_endpoint) << "\n"
      << "oauth.authorization_endpoint = " << or_preset(oauth.authorization_endpoint) << "\n"
      << "oauth.scope = " << or_preset(oauth.scope) << "\n"
      << "oauth.ca_file = " << (oauth.ca_file.empty() ? "(system trust store)" : oauth.ca_file) << "\n";
}

void describe_account(std::ostringstream& out, const Poll& poll, const User& user) {
  uint16_t port = poll.port ? poll.port : detail::default_port(poll.protocol, poll.tls);
  out << "[account " << user.username << "@" << poll.server << "]\n"
      << "server = " << poll.server << "\n"
      << "protocol = " << (poll.protocol == Protocol::pop3 ? "pop3" : "imap") << "\n"
      << "port = " << port << (poll.port ? "" : " (default)") << "\n"
      << "tls = " << tls_name(poll.tls) << "\n"
      << "allow_plaintext = " << yes(poll.allow_plaintext) << "\n"
      << "ca_file = " << (poll.ca_file.empty() ? "(system trust store)" : poll.ca_file) << "\n"
      << "fingerprint = " << (poll.fingerprint.empty() ? "(none)" : poll.fingerprint) << "\n"
      << "min_tls = " << poll.min_tls << "\n"
      << "auth = " << auth_name(user.oauth ? Poll::Auth::oauth2 : poll.auth) << "\n"
      << "username = " << user.username << "\n";
  if (user.oauth) {
    describe_oauth(out, *user.oauth);
  } else if (user.password_command.empty()) {
    out << "password = " << kMasked << "\n";
  } else {
    out << "password_command = " << kMasked << "\n";
  }
  out << "is = " << list(user.is) << "\n"
      << "folders = " << list(user.folders) << "\n"
      << "keep = " << yes(user.keep) << "\n"
      << "fetchall = " << yes(user.fetchall) << "\n"
      << "limit = " << user.limit << "\n"
      << "fetchlimit = " << user.fetchlimit << "\n"
      << "batchlimit = " << user.batchlimit << "\n"
      << "timeout = " << user.timeout << "\n"
      << "antispam = " << list(user.antispam) << "\n"
      << "smtphost = " << (user.smtphost.text.empty() ? "localhost:25" : user.smtphost.text) << "\n\n";
}

void describe_scan(std::ostringstream& out, const Scan& scan) {
  static constexpr const char* kInfected[] = {"quarantine", "accept", "discard"};
  static constexpr const char* kFail[] = {"defer", "accept"};
  static constexpr const char* kOversize[] = {"accept", "defer", "quarantine"};
  static constexpr const char* kHeader[] = {"no", "add", "replace"};
  out << "[scan]\n"
      << "enabled = " << yes(scan.enabled) << "\n"
      << "database = " << scan.database << "\n"
      << "clamd = " << list(scan.clamd) << "\n"
      << "max_file_size = " << scan.max_file_size << "\n"
      << "max_scan_size = " << scan.max_scan_size << "\n"
      << "scan_timeout = " << scan.scan_timeout_seconds << "s\n"
      << "on_infected = " << kInfected[static_cast<int>(scan.on_infected)] << "\n"
      << "on_fail = " << kFail[static_cast<int>(scan.on_fail)] << "\n"
      << "on_oversize = " << kOversize[static_cast<int>(scan.on_oversize)] << "\n"
      << "on_limits = " << kOversize[static_cast<int>(scan.on_limits)] << "\n"
      << "add_header = " << kHeader[static_cast<int>(scan.add_header)] << "\n"
      << "report_hostname = " << (scan.report_hostname.empty() ? "(this host)" : scan.report_hostname) << "\n"
      << "virus_action = " << (scan.virus_action.empty() ? "(none)" : scan.virus_action) << "\n"
      << "quarantine_dir = "
      << (scan.quarantine_dir.empty() ? "($CLAMFETCH_HOME/quarantine)" : scan.quarantine_dir) << "\n"
      << "quarantine_keep = " << scan.quarantine_keep_seconds << "s\n"
      << "log_infected = " << detail_name(scan.log_infected) << "\n"
      << "log_clean = " << detail_name(scan.log_clean) << "\n"
      << "allowlist = " << list(scan.allowlist) << "\n"
      << "allowlist_file = " << (scan.allowlist_file.empty() ? "(none)" : scan.allowlist_file) << "\n";
  static constexpr const char* kReload[] = {"auto", "concurrent", "blocking"};
  static constexpr const char* kEngine[] = {"auto", "libclamav", "clamd"};
  out << "self_check = " << scan.self_check_seconds << "s\n"
      << "reload = " << kReload[static_cast<int>(scan.reload)] << "\n"
      << "engine = " << kEngine[static_cast<int>(scan.engine)] << "\n"
      << "clamd_conf = " << scan.clamd_conf << "\n";
}

}  // namespace

std::string describe(const Config& config) {
  std::ostringstream out;
  out << "# effective configuration of " << config.path << "\n\n";
  for (const Poll& poll : config.polls) {
    for (const User& user : poll.users) describe_account(out, poll, user);
  }
  const Global& g = config.global;
  out << "[global]\n"
      << "postmaster = " << (g.postmaster.empty() ? "(the user running clamfetch)" : g.postmaster) << "\n"
      << "bouncemail = " << yes(g.bouncemail) << "\n"
      << "syslog = " << yes(g.syslog) << "\n"
      << "logfile = " << (g.logfile.empty() ? "(none)" : g.logfile) << "\n"
      << "invisible = " << yes(g.invisible) << "\n"
      << "parallel = " << g.parallel << "\n"
      << "smtp_sessions = " << g.smtp_sessions << "\n"
      << "run_timeout = " << g.run_timeout_seconds << "s\n\n";
  describe_scan(out, config.scan);
  return out.str();
}

}  // namespace clamfetch::rc
