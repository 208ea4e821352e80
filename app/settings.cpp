// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "app/settings.hpp"

#include "app/oauth_tokens.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace clamfetch::app {

rc::Config apply_overrides(rc::Config config, const Options& o) {
  if (o.syslog) config.global.syslog = *o.syslog;
  if (!o.logfile.empty()) config.global.logfile = o.logfile;
  if (o.invisible) config.global.invisible = *o.invisible;
  if (o.no_scan) config.scan.enabled = false;
  if (!o.daemon_seconds) config.scan.self_check_seconds = 0;  // only a daemon reloads signatures
  for (auto& poll : config.polls) {
    for (auto& user : poll.users) {
      if (o.fetchall) user.fetchall = *o.fetchall;
      if (o.keep) user.keep = *o.keep;
      if (o.limit) user.limit = *o.limit;
      if (o.fetchlimit) user.fetchlimit = *o.fetchlimit;
      if (o.batchlimit) user.batchlimit = *o.batchlimit;
      if (o.timeout) user.timeout = *o.timeout;
    }
  }
  return config;
}

std::string account_name(const rc::Poll& poll, const rc::User& user) {
  return user.username + "@" + poll.server;
}

std::string account_key(const rc::Poll& poll, const rc::User& user) {
  const char* scheme = poll.protocol == rc::Protocol::imap ? "imap" : "pop3";
  // No port: changing it (110 -> 995, or through a proxy) must not forget what was delivered.
  return std::string(scheme) + "://" + user.username + "@" + poll.server;
}

fetch::AccountSettings fetch_settings(const rc::Poll& poll, const rc::User& user) {
  fetch::AccountSettings s;
  s.server = poll.server;
  s.port = poll.port;
  s.protocol = poll.protocol == rc::Protocol::imap ? fetch::Protocol::imap : fetch::Protocol::pop3;
  switch (poll.tls) {
    case rc::TlsMode::implicit: s.tls.mode = fetch::TlsMode::implicit; break;
    case rc::TlsMode::starttls: s.tls.mode = fetch::TlsMode::starttls; break;
    case rc::TlsMode::none: s.tls.mode = fetch::TlsMode::none; break;
  }
  s.tls.ca_file = poll.ca_file;
  s.tls.fingerprint = poll.fingerprint;
  s.tls.min_tls = poll.min_tls;
  s.username = user.username;
  switch (poll.auth) {
    case rc::Poll::Auth::automatic: s.auth = fetch::AuthMethod::automatic; break;
    case rc::Poll::Auth::password: s.auth = fetch::AuthMethod::password; break;
    case rc::Poll::Auth::plain: s.auth = fetch::AuthMethod::plain; break;
    case rc::Poll::Auth::login: s.auth = fetch::AuthMethod::login; break;
    case rc::Poll::Auth::apop: s.auth = fetch::AuthMethod::apop; break;
    case rc::Poll::Auth::oauth2: s.auth = fetch::AuthMethod::oauth2; break;
  }
  if (user.oauth) s.auth = fetch::AuthMethod::oauth2;  // the table implies it
  s.timeout_seconds = user.timeout;
  s.account = account_name(poll, user);
  // password_command runs only now that the password is about to be sent.
  s.password = [user, account = s.account] {
    return rc::resolve_password(user, account, user.timeout);
  };
  // token_command, or oauth/'s tokens (the refresh token --oauth-login stored); empty
  // without [poll.user.oauth], and fetch/ then refuses an oauth2 login with one line.
  s.access_token = access_token_source(user, s.account, state_directory());
  return s;
}

// libclamav writes every decoded MIME part to a temp file: on a disk file system that costs
// more than the scan itself (bench/NOTES.md). A private directory on /dev/shm (tmpfs) when
// we can own one safely, else the state directory.
std::string scan_temp_directory(const std::string& state_dir) {
  std::string shm = "/dev/shm/clamfetch-" + std::to_string(geteuid());
  if (mkdir(shm.c_str(), 0700) != 0 && errno != EEXIST) return state_dir + "/scantmp";
  struct stat st {};
  // Refuse anything another user could have planted: a link, not ours, or not private.
  if (lstat(shm.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
      (st.st_mode & 077) != 0) {
    return state_dir + "/scantmp";
  }
  // One directory per state directory: libclamav's leftovers are wiped at each load, which
  // must never hit the files of another instance of the same user scanning right now.
  uint64_t h = 1469598103934665603ull;
  for (char c : state_dir) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  char name[17];
  std::snprintf(name, sizeof name, "%016llx", static_cast<unsigned long long>(h));
  std::string mine = shm + "/" + name;
  if (mkdir(mine.c_str(), 0700) != 0 && errno != EEXIST) return state_dir + "/scantmp";
  return mine;
}

scan::Settings scan_settings(const rc::Scan& scan, const std::string& state_dir) {
  scan::Settings s = scan_engine_settings(scan);
  s.max_file_size = scan.max_file_size;
  s.max_scan_size = scan.max_scan_size;
  // libclamav stops a scan itself at two thirds of scan_timeout (at most its own default of
  // 120 s): a slow message then fails its scan, and the watchdog is left with real hangs.
  s.max_scan_time_ms = std::min<uint64_t>(120000, scan.scan_timeout_seconds * 1000 * 2 / 3);
  s.temp_dir = scan_temp_directory(state_dir);
  return s;
}

scan::Settings scan_engine_settings(const rc::Scan& scan) {
  scan::Settings s;
  s.database = scan.database;
  s.database_default = !scan.database_set;
  s.clamd = scan.clamd;
  s.clamd_conf = scan.clamd_conf;
  s.self_check_seconds = static_cast<unsigned>(scan.self_check_seconds);
  switch (scan.reload) {
    case rc::Reload::automatic: s.reload = scan::ReloadMode::automatic; break;
    case rc::Reload::concurrent: s.reload = scan::ReloadMode::concurrent; break;
    case rc::Reload::blocking: s.reload = scan::ReloadMode::blocking; break;
  }
  switch (scan.engine) {
    case rc::Engine::automatic: s.engine = scan::EngineMode::automatic; break;
    case rc::Engine::libclamav: s.engine = scan::EngineMode::libclamav; break;
    case rc::Engine::clamd: s.engine = scan::EngineMode::clamd; break;
  }
  return s;
}

deliver::ClientSettings deliver_settings(const rc::MtaTarget& target, const rc::User& user,
                                         const std::string& helo_name) {
  deliver::ClientSettings s;
  switch (target.kind) {
    case rc::MtaTarget::Kind::smtp: s.target.kind = deliver::Target::Kind::smtp; break;
    case rc::MtaTarget::Kind::lmtp_tcp: s.target.kind = deliver::Target::Kind::lmtp_tcp; break;
    case rc::MtaTarget::Kind::lmtp_unix: s.target.kind = deliver::Target::Kind::lmtp_unix; break;
  }
  s.target.host = target.host;
  s.target.port = target.port;
  s.target.path = target.path;
  s.helo_name = helo_name;
  s.timeout_seconds = user.timeout;
  s.batchlimit = user.batchlimit;
  return s;
}

static std::string home_directory() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') return home;
  if (const passwd* pw = getpwuid(geteuid()); pw != nullptr) return pw->pw_dir;
  return "/";
}

std::string state_directory() {
  if (const char* dir = std::getenv("CLAMFETCH_HOME"); dir != nullptr && *dir != '\0') return dir;
  return home_directory() + "/.clamfetch";
}

std::string default_rcfile() {
  if (const char* dir = std::getenv("CLAMFETCH_HOME"); dir != nullptr && *dir != '\0') {
    return std::string(dir) + "/clamfetch.toml";
  }
  return home_directory() + "/.clamfetch.toml";
}

std::string default_fetchids() {
  if (const char* dir = std::getenv("FETCHMAILHOME"); dir != nullptr && *dir != '\0') {
    return std::string(dir) + "/.fetchids";
  }
  return home_directory() + "/.fetchids";
}

std::string quarantine_directory(const rc::Config& config, const std::string& state_dir) {
  const std::string& dir = config.scan.quarantine_dir;
  if (dir.empty()) return state_dir + "/quarantine";
  if (dir.rfind("~/", 0) == 0) return home_directory() + dir.substr(1);
  return dir;
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

std::string postmaster_address(const rc::Config& config) {
  if (!config.global.postmaster.empty()) return config.global.postmaster;
  if (const passwd* pw = getpwuid(geteuid()); pw != nullptr) return pw->pw_name;
  return "postmaster";
}

}  // namespace clamfetch::app
