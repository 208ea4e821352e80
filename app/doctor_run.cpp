// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// clamfetch --doctor: the I/O. Each step uses the same code as a real run (fetch::Session,
// deliver's connection, scan::Scanner) but only looks: folders are counted with STATUS / STAT,
// the MTA sees an envelope followed by RSET and never DATA, the scanner scans a message built
// here. Nothing is retrieved, marked, deleted or delivered, and no state is written.

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <arpa/inet.h>
#include <ctime>

#include "app/doctor.hpp"
#include "app/settings.hpp"
#include "core/deadline.hpp"
#include "core/resolve.hpp"

namespace clamfetch::app::doctor {
namespace {

/// Prints each check as it completes (a slow server shows where it waits) and keeps them.
class Report {
 public:
  explicit Report(std::FILE* out) : out_(out) {}
  /// Adds `check`; returns whether it did not fail (the next dependent step may run).
  bool add(Check check) {
    std::fputs(format(check).c_str(), out_);
    std::fflush(out_);
    bool passed = check.health != Health::fail;
    checks_.push_back(std::move(check));
    return passed;
  }
  const std::vector<Check>& checks() const { return checks_; }

 private:
  std::FILE* out_;
  std::vector<Check> checks_;
};

std::string address_text(const addrinfo* ai) {
  char buf[INET6_ADDRSTRLEN] = {};
  const void* where = ai->ai_family == AF_INET6
                          ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr)
                          : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr);
  return inet_ntop(ai->ai_family, where, buf, sizeof buf) ? buf : "?";
}

Check dns_step(const std::string& subject, const rc::Poll& poll, int timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  Resolved r = resolve(poll.server, "", hints, Deadline::after(timeout));
  if (!r.list) {
    return fail(subject, "dns", Kind::dns, "cannot resolve " + poll.server + ": " + r.error,
                "server = \"" + poll.server + "\" (a typo?), or this host's resolver (/etc/resolv.conf)");
  }
  std::vector<std::string> seen;
  for (const addrinfo* ai = r.list.get(); ai != nullptr; ai = ai->ai_next) {
    std::string a = address_text(ai);
    if (std::find(seen.begin(), seen.end(), a) == seen.end()) seen.push_back(a);
  }
  std::string text = poll.server + " ->";
  for (const auto& a : seen) text += " " + a;
  return ok(subject, "dns", text);
}

Check connect_step(const std::string& subject, const fetch::AccountSettings& s) {
  Result<std::string> where = fetch::check_connect(s);
  if (!where) {
    return fail(subject, "connect", where.error().kind, where.error().text,
                "server and port (now " + std::to_string(fetch::session_port(s)) +
                    "), or a firewall between here and the server");
  }
  return ok(subject, "connect", *where + " accepts connections");
}

/// A TLS failure, with the certificate the server presents when it did not verify (implicit
/// TLS: a second handshake that verifies nothing, then closed; no credential is ever sent).
std::string tls_failure_text(const Error& error, const rc::Poll& poll, const rc::User& user) {
  if (error.kind != Kind::tls || poll.tls != rc::TlsMode::implicit) return error.text;
  Result<fetch::TlsFacts> seen = fetch::presented_certificate(fetch_settings(poll, user));
  return seen ? error.text + "; " + presented_text(*seen) : error.text;
}

/// TLS and login: one Session::open(), whose error kind says which of the two failed.
bool open_steps(Report& report, fetch::Session& session, const rc::Poll& poll, const rc::User& user,
                const std::string& subject) {
  Status opened = session.open();
  std::optional<fetch::TlsFacts> facts = session.tls_facts();
  if (poll.tls == rc::TlsMode::none) {
    report.add(warn(subject, "tls", "none: the password and mail cross the network in clear",
                    "tls = \"implicit\" or \"starttls\" if the server offers it"));
  } else if (facts) {
    report.add(tls_check(subject, *facts, std::time(nullptr)));
  } else if (!opened) {
    return report.add(fail(subject, "tls", opened.error().kind, tls_failure_text(opened.error(), poll, user),
                           open_remedy(opened.error(), poll, user)));
  }
  if (!opened) {
    return report.add(fail(subject, "login", opened.error().kind, opened.error().text,
                           open_remedy(opened.error(), poll, user)));
  }
  return report.add(ok(subject, "login", user.username + " logged in with " + session.login_method()));
}

void folder_steps(Report& report, fetch::Session& session, const rc::User& user,
                  const std::string& subject) {
  for (const auto& folder : user.folders) {
    Result<fetch::FolderCounts> counts = session.count(folder);
    if (counts) {
      report.add(folder_check(subject, folder, *counts));
    } else {
      report.add(fail(subject, "folder", counts.error().kind, counts.error().text,
                      "folders = [...]: the names as the server spells them"));
      if (counts.error().scope != Scope::mailbox) return;  // the session is gone
    }
  }
}

void mail_server_steps(Report& report, const rc::Poll& poll, const rc::User& user,
                       const std::string& subject) {
  fetch::AccountSettings s = fetch_settings(poll, user);
  if (!report.add(dns_step(subject, poll, user.timeout))) return;
  if (!report.add(connect_step(subject, s))) return;
  Log quiet;  // the session's own log lines would repeat the report's
  quiet.set_level(Level::error);
  std::unique_ptr<fetch::Session> session = fetch::make_session(s, quiet);
  if (open_steps(report, *session, poll, user, subject)) folder_steps(report, *session, user, subject);
  (void)session->close();  // nothing was marked: QUIT / LOGOUT only
}

/// The MTA's session: connect, greeting, EHLO; true when an envelope was tried.
bool mta_session_step(Report& report, const deliver::Probe& p, const rc::User& user,
                      const std::string& subject) {
  std::string remedy = "smtphost = \"" + user.smtphost.text + "\", and that the MTA runs there";
  if (p.greeting.code == 0) {
    return report.add(fail(subject, "mta", Kind::mta, p.error.empty() ? "no greeting" : p.error, remedy));
  }
  if (p.hello.code < 200 || p.hello.code >= 300) {
    const deliver::Reply& r = p.hello.code ? p.hello : p.greeting;
    return report.add(fail(subject, "mta", Kind::mta,
                           p.peer + ": " + std::to_string(r.code) + " " + r.text + (p.error.empty() ? "" : " (" + p.error + ")"),
                           remedy));
  }
  return report.add(ok(subject, "mta", p.peer + ": " + std::to_string(p.greeting.code) + " " +
                                            p.greeting.text + "; " + p.hello_command + " " +
                                            std::to_string(p.hello.code)));
}

void mta_steps(Report& report, const rc::Config& config, const rc::User& user,
               const std::string& subject) {
  deliver::ClientSettings settings = deliver_settings(user.smtphost, user, host_name());
  std::string sender = postmaster_address(config);
  Log quiet;
  quiet.set_level(Level::error);
  deliver::Probe p = deliver::probe(settings, deliver::Envelope{sender, user.is}, quiet);
  if (!mta_session_step(report, p, user, subject)) return;
  report.add(size_check(subject, p.extensions, user.limit, config.scan.max_file_size,
                        config.scan.on_oversize));
  std::string mail = "<" + sender + ">: " + std::to_string(p.mail.code) + " " + p.mail.text;
  if (p.mail.code < 200 || p.mail.code >= 300) {
    report.add(fail(subject, "mail", Kind::mta, mail + (p.error.empty() ? "" : " (" + p.error + ")"),
                    "postmaster (the sender of reports) must be an address the MTA accepts"));
    return;
  }
  report.add(ok(subject, "mail", mail));
  for (std::size_t i = 0; i < user.is.size(); ++i) {
    deliver::Reply r = i < p.rcpt.size() ? p.rcpt[i] : deliver::Reply{0, p.error.empty() ? "not asked" : p.error};
    report.add(rcpt_check(subject, user.is[i], r, user.smtphost.text));
  }
}

void scanner_steps(Report& report, const rc::Config& config, const std::string& state_dir) {
  if (!config.scan.enabled) {
    report.add(warn("scanner", "engine", "scanning disabled (enabled = false)", "[scan] enabled = true"));
    return;
  }
  Log log;  // libclamav's errors, not its "loaded N signatures"
  log.set_level(Level::warning);
  // The engine a run would use (engine = auto: the local clamd if it answers), chosen once.
  scan::Settings settings = scan_settings(config.scan, state_dir);
  scan::EngineChoice choice = scan::choose_engine(settings);
  settings.engine = choice.clamd.empty() ? scan::EngineMode::libclamav : scan::EngineMode::clamd;
  settings.clamd = choice.clamd;
  std::unique_ptr<scan::Scanner> scanner = scan::make_scanner(settings, log);
  std::time_t now = std::time(nullptr);
  if (choice.clamd.empty()) {
    report.add(ok("scanner", "engine", "libclamav " + scan::library_version() + " in process, database " +
                                           config.scan.database));
    report.add(database_check(config.scan.database, scan::database_facts(config.scan.database), now));
  } else {
    std::string version = scanner->engine_version();
    std::string addresses;
    for (const auto& a : choice.clamd) addresses += (addresses.empty() ? "" : ", ") + a;
    report.add(ok("scanner", "engine", "clamd at " + addresses));
    report.add(clamd_database_check(version, now));
  }
  report.add(eicar_check(scanner->scan(eicar_message())));
}

DirFacts dir_facts(const std::string& path) {
  DirFacts d;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return d;
  d.exists = true;
  d.is_dir = S_ISDIR(st.st_mode);
  d.mode = st.st_mode;
  d.owner = st.st_uid;
  d.writable = ::access(path.c_str(), W_OK | X_OK) == 0;
  return d;
}

void state_steps(Report& report, const std::string& state_dir) {
  DirFacts d = dir_facts(state_dir);
  report.add(state_check(state_dir, d, geteuid()));
  // Where it will be created when it does not exist yet.
  std::string where = d.exists ? state_dir : state_dir.substr(0, state_dir.find_last_of('/') + 1);
  struct statvfs vfs {};
  if (::statvfs(where.empty() ? "." : where.c_str(), &vfs) == 0) {
    report.add(space_check(where, static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize));
  }
}

}  // namespace

int run_doctor(const rc::Config& config, const std::vector<std::string>& servers,
               const std::string& state_dir, std::FILE* out) {
  Report report(out);
  for (const auto& poll : config.polls) {
    if (!servers.empty() && std::find(servers.begin(), servers.end(), poll.server) == servers.end()) {
      continue;
    }
    for (const auto& user : poll.users) {
      std::string subject = account_name(poll, user);
      mail_server_steps(report, poll, user, subject);
      mta_steps(report, config, user, subject);
    }
  }
  scanner_steps(report, config, state_dir);
  state_steps(report, state_dir);
  int code = exit_code_of(report.checks());
  std::fprintf(out, "clamfetch --doctor: %s; exit %d\n", summary(report.checks()).c_str(), code);
  return code;
}

}  // namespace clamfetch::app::doctor
