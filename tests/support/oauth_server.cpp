// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "support/oauth_server.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/servers.hpp"

namespace clamfetch::test {
namespace {

namespace fs = std::filesystem;

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
using Curl = std::unique_ptr<CURL, CurlDeleter>;

std::size_t append(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

std::string encode(const std::vector<std::pair<std::string, std::string>>& form) {
  std::string out;
  for (const auto& [key, value] : form) {
    char* k = curl_easy_escape(nullptr, key.c_str(), static_cast<int>(key.size()));
    char* v = curl_easy_escape(nullptr, value.c_str(), static_cast<int>(value.size()));
    if (!out.empty()) out += '&';
    out += std::string(k) + "=" + v;
    curl_free(k);
    curl_free(v);
  }
  return out;
}

Curl new_curl(const std::string& ca_file) {
  Curl curl(curl_easy_init());
  if (!curl) throw std::runtime_error("curl_easy_init");
  curl_easy_setopt(curl.get(), CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, 20L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  return curl;
}

// One request; a POST when `form` is not null. Returns status and body; sets `final_url`.
OAuthServer::Reply perform(CURL* curl, const std::string& url, const std::string* form,
                           std::string* final_url = nullptr) {
  OAuthServer::Reply reply;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  if (form != nullptr) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form->c_str());
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK)
    throw std::runtime_error("OAuthServer: " + url + ": " + curl_easy_strerror(code));
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  if (final_url != nullptr) {
    char* effective = nullptr;
    curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &effective);
    *final_url = effective != nullptr ? effective : url;
  }
  return reply;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string modules_dir() {
  const char* env = std::getenv("CLAMFETCH_OAUTH_MODULES");
  return env != nullptr ? env : "/usr/local/lib/clamfetch-test/oauth/node_modules";
}

// node's path, looked up in PATH.
std::string node_binary() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && ::access((dir + "/node").c_str(), X_OK) == 0) return dir + "/node";
  throw std::runtime_error("OAuthServer: no node in PATH (tools/deps installs Node.js)");
}

}  // namespace

OAuthServer::OAuthServer(Options options) {
  char path[] = "/tmp/cfoXXXXXX";
  if (mkdtemp(path) == nullptr) throw std::runtime_error("OAuthServer: mkdtemp failed");
  dir_ = path;
  std::string cert = options.cert, key = options.key;
  ca_file_ = options.ca_file;
  if (cert.empty()) {
    const RunResult made = run({fixture_script(), "certs", dir_});
    if (made.exit_code != 0) throw std::runtime_error("mailservers certs: " + made.err);
    cert = dir_ + "/tls/server.pem";
    key = dir_ + "/tls/server.key";
    ca_file_ = dir_ + "/tls/ca.pem";
  }
  const std::string script = std::string(CLAMFETCH_SOURCE_DIR) + "/tests/fixture/oauth/server.mjs";
  const std::string log_path = dir_ + "/oauth.log";
  // Everything the child needs is made before fork: after it, only async-signal-safe calls
  // (a test may already run threads, and ASan's allocator lock could be held by one).
  std::vector<std::string> child_env{"OAUTH_MODULES=" + modules_dir(),
                               "ACCESS_TOKEN_TTL=" + std::to_string(options.access_token_ttl),
                               "DEVICE_INTERVAL=" + std::to_string(options.device_interval),
                               std::string("SLOW_DOWN_FIRST=") + (options.slow_down_first ? "1" : "0"),
                               "PATH=/usr/local/bin:/usr/bin:/bin"};
  std::vector<std::string> argv{node_binary(), script, dir_, cert, key};
  std::vector<char*> envp, args;
  for (auto& e : child_env) envp.push_back(e.data());
  envp.push_back(nullptr);
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("OAuthServer: fork failed");
  if (pid_ == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  // Up to 20 s for node to load oidc-provider on a busy machine (it takes about 1 s).
  for (int i = 0; i < 400 && !fs::exists(dir_ + "/oauth.env"); ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("OAuthServer: node exited: " + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::string env = read_all(dir_ + "/oauth.env");
  std::smatch m;
  if (!std::regex_search(env, m, std::regex("ISSUER=(\\S+)")))
    throw std::runtime_error("OAuthServer: did not start: " + log());
  issuer_ = m[1];
}

OAuthServer::~OAuthServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
  }
  if (std::getenv("CLAMFETCH_KEEP_FIXTURE") != nullptr) {
    std::cerr << "CLAMFETCH_KEEP_FIXTURE: kept " << dir_ << "\n";
    return;
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

OAuthServer::Reply OAuthServer::post(const std::string& path,
                                     const std::vector<std::pair<std::string, std::string>>& form) const {
  Curl curl = new_curl(ca_file_);
  std::string body = encode(form);
  return perform(curl.get(), issuer_ + path, &body);
}

bool OAuthServer::active(const std::string& token) const {
  Reply reply = post("/token/introspection",
                     {{"token", token}, {"client_id", "resource"}, {"client_secret", "resource-secret"}});
  if (reply.status != 200) throw std::runtime_error("introspection: " + reply.body);
  return reply.body.find("\"active\":true") != std::string::npos;
}

void OAuthServer::revoke_refresh_token(const std::string& token) const {
  Reply reply = post("/token/revocation", {{"token", token},
                                           {"token_type_hint", "refresh_token"},
                                           {"client_id", kDeviceClient},
                                           {"client_secret", kDeviceSecret}});
  if (reply.status != 200) throw std::runtime_error("revocation: " + reply.body);
}

std::string OAuthServer::approve(const std::string& url, const std::string& user_code,
                                 const std::string& login) const {
  Curl curl = new_curl(ca_file_);
  curl_easy_setopt(curl.get(), CURLOPT_COOKIEFILE, "");  // the cookie engine: the provider's session
  curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
  std::string at;
  Reply page = perform(curl.get(), url, nullptr, &at);
  const std::regex action("<form[^>]*action=\"([^\"]*)\"");
  const std::regex hidden("<input type=\"hidden\" name=\"([^\"]*)\" value=\"([^\"]*)\"");
  // The device grant shows: the user-code form, its confirmation, the sign-in, the consent.
  for (int step = 0; step < 8; ++step) {
    std::smatch form;
    if (!std::regex_search(page.body, form, action)) return at;
    std::vector<std::pair<std::string, std::string>> fields;
    for (auto it = std::sregex_iterator(page.body.begin(), page.body.end(), hidden);
         it != std::sregex_iterator(); ++it)
      fields.emplace_back((*it)[1], (*it)[2]);
    bool has_code = false;
    for (const auto& field : fields) has_code = has_code || field.first == "user_code";
    if (!has_code && !user_code.empty()) fields.emplace_back("user_code", user_code);
    fields.emplace_back("login", login);
    fields.emplace_back("password", "any");
    std::string body = encode(fields);
    page = perform(curl.get(), form[1], &body, &at);
  }
  throw std::runtime_error("OAuthServer::approve: still a form after 8 steps at " + at);
}

std::vector<std::pair<long, std::string>> OAuthServer::polls() const {
  std::vector<std::pair<long, std::string>> out;
  std::istringstream in(read_all(dir_ + "/oauth-polls.log"));
  long ms = 0;
  std::string what;
  while (in >> ms >> what) out.emplace_back(ms, what);
  return out;
}

std::string OAuthServer::log() const { return read_all(dir_ + "/oauth.log"); }

}  // namespace clamfetch::test
