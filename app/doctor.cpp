// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// clamfetch --doctor: the pure part. Each check turns facts gathered by doctor_run.cpp into one
// verdict line with, for a warning or a failure, the setting to change.

#include "app/doctor.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace clamfetch::app::doctor {
namespace {

constexpr std::time_t kDay = 86400;

std::string quoted(const std::string& value) { return "\"" + value + "\""; }

std::string date_of(std::time_t when) {
  std::tm tm{};
  gmtime_r(&when, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

/// "3 days" / "1 day", rounded down.
std::string days(std::time_t seconds) {
  long n = static_cast<long>(seconds / kDay);
  return std::to_string(n) + (n == 1 ? " day" : " days");
}

std::string bytes_text(uint64_t n) {
  if (n >= (uint64_t{1} << 20) && n % (uint64_t{1} << 20) == 0) return std::to_string(n >> 20) + "M";
  return std::to_string(n) + " octets";
}

const char* health_name(Health h) {
  switch (h) {
    case Health::ok: return "OK";
    case Health::warn: return "WARN";
    case Health::fail: return "FAIL";
  }
  return "?";
}

}  // namespace

Check ok(std::string subject, std::string step, std::string text) {
  return Check{std::move(subject), std::move(step), Health::ok, std::move(text), "", Kind::internal};
}

Check warn(std::string subject, std::string step, std::string text, std::string remedy) {
  return Check{std::move(subject), std::move(step), Health::warn, std::move(text), std::move(remedy),
               Kind::internal};
}

Check fail(std::string subject, std::string step, Kind kind, std::string text, std::string remedy) {
  return Check{std::move(subject), std::move(step), Health::fail, std::move(text), std::move(remedy), kind};
}

std::string format(const Check& c) {
  char head[160];
  std::snprintf(head, sizeof head, "%s %-8s %-4s ", c.subject.c_str(), c.step.c_str(),
                health_name(c.health));
  std::string line = head + c.text + "\n";
  if (!c.remedy.empty()) line += "      change: " + c.remedy + "\n";
  return line;
}

int exit_code_of(const std::vector<Check>& checks) {
  auto first = std::find_if(checks.begin(), checks.end(),
                            [](const Check& c) { return c.health == Health::fail; });
  return first == checks.end() ? 0 : exit_code(first->kind);
}

std::string summary(const std::vector<Check>& checks) {
  int n[3] = {0, 0, 0};
  for (const auto& c : checks) ++n[static_cast<int>(c.health)];
  return std::to_string(n[0]) + " OK, " + std::to_string(n[1]) + " WARN, " + std::to_string(n[2]) +
         " FAIL";
}

Check tls_check(const std::string& subject, const fetch::TlsFacts& f, std::time_t now) {
  std::string text = f.protocol + " " + f.cipher + "; subject " + f.subject + "; issuer " + f.issuer;
  if (f.not_after != 0) text += "; expires " + date_of(f.not_after) + " (in " + days(f.not_after - now) + ")";
  text += "; host name " + f.verified_name + " verified";
  text += f.pinned ? "; fingerprint pin matched" : "; no pin";
  if (f.not_after != 0 && f.not_after - now < 14 * kDay) {
    return warn(subject, "tls", text,
                "the server's certificate expires within 14 days: its administrator must renew it");
  }
  return ok(subject, "tls", text);
}

std::string presented_text(const fetch::TlsFacts& f) {
  std::string text = "the server presents subject " + f.subject + "; issuer " + f.issuer;
  if (f.not_after != 0) text += "; expires " + date_of(f.not_after);
  return text;
}

std::string open_remedy(const Error& e, const rc::Poll& poll, const rc::User& user) {
  const std::string& t = e.text;
  std::string ca = poll.ca_file.empty() ? "the system trust store" : "ca_file = " + quoted(poll.ca_file);
  switch (e.kind) {
    case Kind::tls:
      if (t.find("host name mismatch") != std::string::npos)
        return "server = " + quoted(poll.server) + " must be a name the certificate holds";
      if (t.find("fingerprint") != std::string::npos)
        return "fingerprint: the server's certificate changed, or the pin is mistyped";
      if (t.find("STARTTLS") != std::string::npos)
        return "tls = \"implicit\" with the server's TLS port, or ask its administrator for STARTTLS";
      return "ca_file must name the CA that signed the server's certificate (now " + ca + ")";
    case Kind::auth:
      return "username = " + quoted(user.username) + " and its password" +
             (user.password_command.empty() ? "" : " (password_command)") + " for " + poll.server;
    case Kind::timeout:
      return "timeout (now " + std::to_string(user.timeout) + " s), or the network path to " + poll.server;
    case Kind::lock_busy:
    case Kind::server_busy:
      return "nothing in the rc file: another client holds the mailbox or the server is busy; try again";
    case Kind::config:
      return "the setting named above";
    default:
      return "server, port and protocol of this account; ask the server's administrator";
  }
}

Check folder_check(const std::string& subject, const std::string& folder,
                   const fetch::FolderCounts& c) {
  std::string text = folder + ": " + std::to_string(c.messages) + (c.messages == 1 ? " message" : " messages");
  if (c.unseen) text += ", " + std::to_string(*c.unseen) + " unseen";
  if (c.octets) text += ", " + std::to_string(*c.octets) + " octets";
  return ok(subject, "folder", text);
}

Check size_check(const std::string& subject, const deliver::Extensions& ext, uint64_t limit,
                 uint64_t max_file_size, rc::OnOversize on_oversize) {
  uint64_t mta = ext.size ? ext.size_max : 0;
  std::string text = "MTA SIZE " + (mta ? bytes_text(mta) : std::string("unlimited")) + ", limit " +
                     (limit ? bytes_text(limit) : std::string("none")) + ", max_file_size " +
                     bytes_text(max_file_size);
  std::string remedy;
  if (mta != 0 && (limit == 0 || limit > mta)) {
    remedy = "limit = " + std::to_string(mta) + " leaves larger messages on the server; now the MTA "
             "refuses them and they are bounced or sent to the postmaster";
  }
  uint64_t largest = limit != 0 ? limit : mta;  // the largest message that can reach the MTA
  if (on_oversize == rc::OnOversize::accept && (largest == 0 || largest > max_file_size)) {
    remedy += std::string(remedy.empty() ? "" : "; ") +
              "messages over max_file_size are delivered unscanned (on_oversize = \"accept\"): "
              "raise max_file_size or set on_oversize";
  }
  return remedy.empty() ? ok(subject, "size", text) : warn(subject, "size", text, remedy);
}

Check rcpt_check(const std::string& subject, const std::string& address, const deliver::Reply& r,
                 const std::string& smtphost) {
  std::string text = "<" + address + ">: " + (r.code ? std::to_string(r.code) + " " : "") + r.text;
  if (r.code >= 200 && r.code < 300) return ok(subject, "rcpt", text);
  if (r.code >= 400 && r.code < 500) {
    return warn(subject, "rcpt", text,
                "a temporary refusal: its mail would wait on the server until the MTA accepts it");
  }
  return fail(subject, "rcpt", Kind::mta, text,
              "is = " + quoted(address) + " must be a recipient the MTA at " + smtphost +
                  " accepts (Postfix: virtual_mailbox_maps, then postmap)");
}

Check database_check(const std::string& database, const scan::DatabaseFacts& f, std::time_t now) {
  const std::string remedy = "database = " + quoted(database) +
                             " must be a signature directory this user can read (freshclam's)";
  if (!f.error.empty()) return fail("scanner", "database", Kind::scan, f.error, remedy);
  if (f.official_files + f.unofficial_files == 0) {
    return fail("scanner", "database", Kind::scan, database + ": no signature files", remedy);
  }
  std::string text = database + ": ";
  if (f.official) text += "version " + f.version + ", built " + date_of(f.built);
  else text += "no official database, newest file changed " + date_of(f.built);
  text += " (" + days(now - f.built) + " old); " + std::to_string(f.official_files) + " official, " +
          std::to_string(f.unofficial_files) + " unofficial signature file(s)";
  if (now - f.built > 7 * kDay) {
    return warn("scanner", "database", text,
                "update the signatures: run freshclam, and check its cron job or daemon");
  }
  return ok("scanner", "database", text);
}

std::optional<std::time_t> clamd_database_time(const std::string& version) {
  auto slash = version.rfind('/');
  if (slash == std::string::npos) return std::nullopt;
  std::tm tm{};
  const char* end = strptime(version.c_str() + slash + 1, "%a %b %d %H:%M:%S %Y", &tm);
  if (end == nullptr) return std::nullopt;
  return timegm(&tm);
}

Check clamd_database_check(const std::string& version, std::time_t now) {
  std::optional<std::time_t> built = clamd_database_time(version);
  if (!built) {
    return warn("scanner", "database", "clamd: " + version + " (no database date)",
                "check that clamd answers VERSION and has loaded its database");
  }
  std::string text = "clamd: " + version + " (" + days(now - *built) + " old)";
  if (now - *built > 7 * kDay) {
    return warn("scanner", "database", text, "update clamd's signatures: run freshclam");
  }
  return ok("scanner", "database", text);
}

// A miss is a FAIL, not a warning: ClamAV's official database has detected EICAR for two
// decades, so a database that does not is the wrong one (a wrong path, a custom file alone) or
// not loaded, and with it every infected message would be delivered marked Clean: the
// scanner, the reason to run clamfetch, would be silently off.
Check eicar_check(const Verdict& v) {
  const std::string remedy = "database (or clamd) must hold ClamAV's signatures: run freshclam";
  switch (v.status) {
    case Verdict::Status::infected:
      return ok("scanner", "eicar", "EICAR test message detected as " + v.virus);
    case Verdict::Status::clean:
      return fail("scanner", "eicar", Kind::scan,
                  "EICAR test message NOT detected: infected mail would be delivered as clean", remedy);
    default:
      return fail("scanner", "eicar", Kind::scan, "EICAR test message not scanned: " + describe(v),
                  "database or clamd as named above; max_file_size");
  }
}

std::string eicar_message() {
  // Two halves, as the tests build it: no file of ours holds the test string whole.
  std::string eicar = std::string("X5O!P%@AP[4\\PZX54(P^)7CC)7}$") + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
  return "From: clamfetch-doctor@localhost\r\nTo: clamfetch-doctor@localhost\r\n"
         "Subject: clamfetch --doctor EICAR test\r\nMessage-ID: <doctor-eicar@localhost>\r\n"
         "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
         "--b1\r\nContent-Type: text/plain\r\n\r\nThe EICAR anti-virus test file.\r\n"
         "--b1\r\nContent-Type: application/octet-stream; name=\"eicar.com\"\r\n"
         "Content-Transfer-Encoding: base64\r\n"
         "Content-Disposition: attachment; filename=\"eicar.com\"\r\n\r\n" +
         base64(eicar) + "\r\n--b1--\r\n";
}

Check state_check(const std::string& path, const DirFacts& d, uid_t euid) {
  if (!d.exists) {
    return warn("state", "dir", path + " does not exist yet", "nothing: the first run creates it (mode 0700)");
  }
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(d.mode & 07777));
  std::string text = path + ": owner uid " + std::to_string(d.owner) + ", mode " + mode;
  if (!d.is_dir) return fail("state", "dir", Kind::state, path + " is not a directory", "CLAMFETCH_HOME");
  if (d.owner != euid) {
    return fail("state", "dir", Kind::state, text + ", not ours (uid " + std::to_string(euid) + ")",
                "chown the directory to the user running clamfetch, or set CLAMFETCH_HOME");
  }
  if (!d.writable) return fail("state", "dir", Kind::state, text + ", not writable", "chmod 700 " + path);
  if ((d.mode & 077) != 0) {
    return warn("state", "dir", text, "chmod 700 " + path + " (UID store and quarantine are private)");
  }
  return ok("state", "dir", text);
}

Check space_check(const std::string& path, uint64_t free_bytes) {
  std::string text = path + ": " + std::to_string(free_bytes >> 20) + " MiB free";
  if (free_bytes < (uint64_t{1} << 20)) {
    return fail("state", "space", Kind::state, text, "free space there: the UID store cannot be written");
  }
  if (free_bytes < (uint64_t{100} << 20)) {
    return warn("state", "space", text, "free space there (quarantined originals are kept in it)");
  }
  return ok("state", "space", text);
}

}  // namespace clamfetch::app::doctor
