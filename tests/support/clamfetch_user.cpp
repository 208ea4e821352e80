// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "support/clamfetch_user.hpp"

#include <grp.h>

#include <filesystem>
#include <regex>
#include <stdexcept>

namespace clamfetch::test {
namespace {

std::string base64(const std::string& in) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += table[(v >> s) & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += i + 1 < in.size() ? table[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

void write_owned(const std::string& path, const std::string& text, uid_t uid, gid_t gid, mode_t mode) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  if (chown(path.c_str(), uid, gid) != 0 || chmod(path.c_str(), mode) != 0) {
    throw std::runtime_error("cannot set owner/mode of " + path);
  }
}

}  // namespace

std::string infected_message(const std::string& message_id) {
  std::string mime =
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"b1\"\r\n";
  std::string body =
      "--b1\r\nContent-Type: text/plain\r\n\r\nPlease open the attachment.\r\n"
      "--b1\r\nContent-Type: application/octet-stream; name=\"eicar.com\"\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"eicar.com\"\r\n\r\n" +
      base64(eicar()) + "\r\n--b1--\r\n";
  std::string msg = make_message(message_id, 0, mime);
  return msg + body;
}

ClamfetchUser::ClamfetchUser(const MailServers& servers) : servers_(servers) {
  const passwd* pw = getpwnam(servers.env("TEST_USER").c_str());
  if (pw == nullptr) throw std::runtime_error("no test user");
  uid_ = pw->pw_uid;
  gid_ = pw->pw_gid;
  home_ = servers.dir() + "/cfhome";
  std::filesystem::create_directories(home_);
  if (chown(home_.c_str(), uid_, gid_) != 0 || chmod(home_.c_str(), 0700) != 0) {
    throw std::runtime_error("cannot prepare " + home_);
  }
  ca_ = home_ + "/ca.pem";
  write_owned(ca_, read_file(servers.env("CA_FILE")), uid_, gid_, 0644);
  rc_ = home_ + "/clamfetch.toml";
}

ClamfetchUser::~ClamfetchUser() = default;

std::string ClamfetchUser::write_rc(const std::string& toml, mode_t mode) {
  write_owned(rc_, toml, uid_, gid_, mode);
  return rc_;
}

std::string ClamfetchUser::standard_rc(const std::string& protocol, const std::string& tls,
                                       const std::string& extra_user, const std::string& extra_global) const {
  std::string port_key = protocol == "imap" ? (tls == "implicit" ? "IMAPS_PORT" : "IMAP_PORT")
                                            : (tls == "implicit" ? "POP3S_PORT" : "POP3_PORT");
  return "[global]\npostmaster = \"postmaster@example.com\"\n" + extra_global +
         "\n[defaults]\nsmtphost = \"127.0.0.1:" + servers_.env("SMTP_PORT") + "\"\ntimeout = 20\n"
         "\n[scan]\ndatabase = \"" CLAMFETCH_SOURCE_DIR "/tests/data/signatures\"\n"
         "\n[[poll]]\nserver = \"localhost\"\nprotocol = \"" + protocol + "\"\nport = " +
         servers_.env(port_key) + "\ntls = \"" + tls + "\"\nca_file = \"" + ca_ + "\"\n"
         "\n  [[poll.user]]\n  username = \"pop3userid1\"\n  password = \"pop3password1\"\n"
         "  is = \"virtualuser1@example.com\"\n" + extra_user;
}

RunResult ClamfetchUser::clamfetch(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{clamfetch_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, servers_.env("TEST_USER"), {{"CLAMFETCH_HOME", home_}});
}

std::map<std::string, int> count_message_ids(const std::vector<std::string>& files) {
  static const std::regex id("(^|\n)Message-ID: <([^>]+)>", std::regex::icase);
  std::map<std::string, int> counts;
  for (const auto& f : files) {
    std::smatch m;
    if (std::regex_search(f, m, id)) ++counts[m[2]];
  }
  return counts;
}

std::string clamfetch_binary() { return CLAMFETCH_BINARY; }

std::string body_of(const std::string& message) {
  auto pos = message.find("\r\n\r\n");
  std::size_t skip = 4;
  auto lf = message.find("\n\n");
  if (lf != std::string::npos && (pos == std::string::npos || lf < pos)) {
    pos = lf;
    skip = 2;
  }
  return pos == std::string::npos ? std::string() : message.substr(pos + skip);
}

}  // namespace clamfetch::test
