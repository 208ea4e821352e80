// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The [global], [scan] and user-option parts of the rc schema (DESIGN.md, "rc file").

#include <limits>

#include "rc/checker.hpp"

namespace clamfetch::rc::detail {
namespace {

constexpr int64_t kIntMax = std::numeric_limits<int>::max();

const std::vector<std::string_view> kGlobalKeys{"postmaster", "bouncemail", "syslog",       "logfile",
                                                "invisible",  "parallel",   "smtp_sessions",
                                                "run_timeout"};

const std::vector<std::string_view> kScanKeys{
    "enabled",        "database",       "clamd",           "max_file_size", "max_scan_size",
    "on_infected",    "on_fail",        "on_oversize",     "on_limits",     "add_header",    "report_hostname",
    "virus_action",   "quarantine_dir", "quarantine_keep", "log_infected",  "log_clean",
    "allowlist",      "whitelist",      "allowlist_file",  "scan_timeout",
    "self_check",     "reload",         "engine",          "clamd_conf"};

constexpr uint64_t kMaxScanTimeout = 86400;  // one day: beyond that the watchdog is pointless
constexpr uint64_t kMaxRunTimeout = 7 * 86400;  // a week: a bound, not a way to disable it

template <class T>
void set(std::optional<T> value, T& out) {
  if (value) out = std::move(*value);
}

template <class Enum>
void set_choice(std::optional<size_t> index, Enum& out) {
  if (index) out = static_cast<Enum>(*index);
}

void read_clamd(Checker& check, const Member& m, Scan& scan) {
  auto list = check.strings(m, true);
  if (!list) return;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string& entry = (*list)[i];
    bool unix_ok = entry.size() > 6 && entry.compare(0, 6, "unix:/") == 0;
    bool tcp_ok = entry.compare(0, 4, "tcp:") == 0 && parse_mta_target(entry.substr(4)).ok();
    if (!unix_ok && !tcp_ok) {
      Where where = m.value.type == Node::Type::array ? m.value.items[i].where : m.value.where;
      check.error(where, "clamd entries must be \"unix:/path/to/socket\" or \"tcp:host:port\", got " +
                             quoted(entry));
      return;
    }
  }
  scan.clamd = std::move(*list);
}

void read_allowlist(Checker& check, const Member& m, Scan& scan) {
  auto list = check.strings(m, false);
  if (!list) return;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string& entry = (*list)[i];
    if (entry.compare(0, 3, "To:") != 0 && entry.compare(0, 5, "From:") != 0) {
      check.error(m.value.items[i].where,
                  m.key + " entries must start with \"To:\" or \"From:\", got " + quoted(entry));
      return;
    }
  }
  scan.allowlist = std::move(*list);
}

void read_scan_timeout(Checker& check, const Member& m, Scan& scan) {
  auto seconds = check.duration(m);  // at least 1 s: the duration reader refuses 0
  if (!seconds) return;
  if (*seconds > kMaxScanTimeout) {
    check.error(m.value.where, "scan_timeout must be at most 1d (86400 seconds), got " +
                                   std::to_string(*seconds) + " seconds");
    return;
  }
  scan.scan_timeout_seconds = *seconds;
}

// 0 turns the self-check off (clamd's SelfCheck 0); the duration reader refuses 0.
void read_self_check(Checker& check, const Member& m, Scan& scan) {
  if (m.value.type == Node::Type::integer && m.value.integer == 0) {
    scan.self_check_seconds = 0;
    return;
  }
  auto seconds = check.duration(m);
  if (!seconds) return;
  if (*seconds > kMaxScanTimeout) {
    check.error(m.value.where, "self_check must be at most 1d (86400 seconds), got " +
                                   std::to_string(*seconds) + " seconds");
    return;
  }
  scan.self_check_seconds = *seconds;
}

void read_run_timeout(Checker& check, const Member& m, Global& global) {
  auto seconds = check.duration(m);  // at least 1 s: the duration reader refuses 0
  if (!seconds) return;
  if (*seconds > kMaxRunTimeout) {
    check.error(m.value.where, "run_timeout must be at most 7d (604800 seconds), got " +
                                   std::to_string(*seconds) + " seconds");
    return;
  }
  global.run_timeout_seconds = *seconds;
}

/// One [scan] key; false when unknown.
bool read_scan_key(Checker& check, const Member& m, Scan& scan) {
  const std::string& k = m.key;
  if (k == "enabled") set(check.boolean(m), scan.enabled);
  else if (k == "database") {
    set(check.string(m), scan.database);
    scan.database_set = true;
  }
  else if (k == "clamd") read_clamd(check, m, scan);
  else if (k == "max_file_size") set(check.size(m), scan.max_file_size);
  else if (k == "max_scan_size") set(check.size(m), scan.max_scan_size);
  else if (k == "scan_timeout") read_scan_timeout(check, m, scan);
  else if (k == "on_infected") set_choice(check.choice(m, {"quarantine", "accept", "discard"}), scan.on_infected);
  else if (k == "on_fail") set_choice(check.choice(m, {"defer", "accept"}), scan.on_fail);
  else if (k == "on_oversize") set_choice(check.choice(m, {"accept", "defer", "quarantine"}), scan.on_oversize);
  else if (k == "on_limits") set_choice(check.choice(m, {"accept", "defer", "quarantine"}), scan.on_limits);
  else if (k == "add_header") set_choice(check.choice(m, {"no", "add", "replace"}), scan.add_header);
  else if (k == "report_hostname") set(check.string(m), scan.report_hostname);
  else if (k == "virus_action") set(check.string(m), scan.virus_action);
  else if (k == "quarantine_dir") set(check.string(m), scan.quarantine_dir);
  else if (k == "quarantine_keep") set(check.duration(m), scan.quarantine_keep_seconds);
  else if (k == "log_infected") set_choice(check.choice(m, {"off", "basic", "full"}), scan.log_infected);
  else if (k == "log_clean") set_choice(check.choice(m, {"off", "basic", "full"}), scan.log_clean);
  else if (k == "allowlist" || k == "whitelist") read_allowlist(check, m, scan);
  else if (k == "allowlist_file") set(check.string(m), scan.allowlist_file);
  else if (k == "self_check") read_self_check(check, m, scan);
  else if (k == "reload") set_choice(check.choice(m, {"auto", "concurrent", "blocking"}), scan.reload);
  else if (k == "engine") set_choice(check.choice(m, {"auto", "libclamav", "clamd"}), scan.engine);
  else if (k == "clamd_conf") set(check.string(m), scan.clamd_conf);
  else return false;
  return true;
}

void read_antispam(Checker& check, const Member& m, User& user) {
  if (m.value.type != Node::Type::array) {
    check.error(m.value.where, "antispam must be an array of SMTP reply codes, got " +
                                   std::string(type_name(m.value.type)));
    return;
  }
  std::vector<int> codes;
  for (const Node& item : m.value.items) {
    if (item.type != Node::Type::integer || item.integer < 400 || item.integer > 599) {
      std::string got = item.type == Node::Type::integer ? std::to_string(item.integer) : type_name(item.type);
      check.error(item.where, "antispam codes must be SMTP error codes between 400 and 599, got " + got);
      return;
    }
    codes.push_back(static_cast<int>(item.integer));
  }
  user.antispam = std::move(codes);
}

void read_smtphost(Checker& check, const Member& m, User& user) {
  auto text = check.string(m);
  if (!text) return;
  auto target = parse_mta_target(*text);
  if (!target.ok()) {
    check.error(m.value.where,
                "smtphost must be \"host:port\", \"lmtp:host:port\" or \"lmtp:/path/to/socket\", got " +
                    quoted(*text));
    return;
  }
  user.smtphost = std::move(*target);
}

void read_folders(Checker& check, const Member& m, User& user) {
  auto list = check.strings(m, true);
  if (!list) return;
  if (list->empty()) {
    check.error(m.value.where, "folders must name at least one folder");
    return;
  }
  user.folders = std::move(*list);
}

}  // namespace

void read_global(Checker& check, const Node& table, Global& global) {
  for (const Member& m : table.members) {
    const std::string& k = m.key;
    if (k == "postmaster") set(check.address(m), global.postmaster);
    else if (k == "bouncemail") set(check.boolean(m), global.bouncemail);
    else if (k == "syslog") set(check.boolean(m), global.syslog);
    else if (k == "logfile") set(check.string(m), global.logfile);
    else if (k == "invisible") set(check.boolean(m), global.invisible);
    else if (k == "parallel") {
      if (auto v = check.integer(m, 1, 64)) global.parallel = static_cast<unsigned>(*v);
    } else if (k == "smtp_sessions") {
      if (auto v = check.integer(m, 1, 64)) global.smtp_sessions = static_cast<unsigned>(*v);
    } else if (k == "run_timeout") {
      read_run_timeout(check, m, global);
    } else {
      check.unknown(m, "[global]", kGlobalKeys);
    }
  }
}

void read_scan(Checker& check, const Node& table, Scan& scan) {
  bool seen_allowlist = false;
  for (const Member& m : table.members) {
    if (m.key == "allowlist" || m.key == "whitelist") {
      if (seen_allowlist) {
        check.error(m.where, "allowlist and whitelist are the same setting: give only one of them");
        continue;
      }
      seen_allowlist = true;
    }
    if (!read_scan_key(check, m, scan)) check.unknown(m, "[scan]", kScanKeys);
  }
}

bool read_user_option(Checker& check, const Member& m, User& user) {
  const std::string& k = m.key;
  if (k == "timeout") {
    if (auto v = check.integer(m, 1, kIntMax)) user.timeout = static_cast<int>(*v);
  } else if (k == "antispam") {
    read_antispam(check, m, user);
  } else if (k == "batchlimit") {
    if (auto v = check.integer(m, 0, kIntMax)) user.batchlimit = static_cast<unsigned>(*v);
  } else if (k == "fetchlimit") {
    if (auto v = check.integer(m, 0, kIntMax)) user.fetchlimit = static_cast<unsigned>(*v);
  } else if (k == "limit") {
    set(check.size(m), user.limit);
  } else if (k == "keep") {
    set(check.boolean(m), user.keep);
  } else if (k == "fetchall") {
    set(check.boolean(m), user.fetchall);
  } else if (k == "smtphost") {
    read_smtphost(check, m, user);
  } else if (k == "folders") {
    read_folders(check, m, user);
  } else {
    return false;
  }
  return true;
}

}  // namespace clamfetch::rc::detail
