// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The token file: STATE_DIR/oauth/NAME.json (directory 0700, file 0600), replaced atomically.
// It also caches the access token, so that a cron run every few minutes neither asks the
// server nor rotates the refresh token while the access token is still good.
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/atomic_file.hpp"
#include "oauth/internal.hpp"

namespace clamfetch::oauth {
namespace {

std::string parent_of(const std::string& path) { return path.substr(0, path.rfind('/')); }

Status ensure_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return make_error(Kind::state, Scope::account,
                      "cannot create directory " + dir + ": " + std::strerror(errno));
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return make_error(Kind::state, Scope::account, dir + " is not a directory");
  // Tokens are as good as passwords: nobody else may list or read them.
  if ((st.st_mode & 077) != 0 && ::chmod(dir.c_str(), 0700) != 0)
    return make_error(Kind::state, Scope::account,
                      "cannot make " + dir + " private: " + std::strerror(errno));
  return {};
}

}  // namespace

std::int64_t unix_now() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

std::string token_file(const std::string& state_dir, const std::string& account) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string name;
  for (std::size_t i = 0; i < account.size(); ++i) {
    auto c = static_cast<unsigned char>(account[i]);
    bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '@' || c == '_' || c == '-' || (c == '.' && i > 0);
    if (keep) {
      name += static_cast<char>(c);
    } else {
      name += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  if (name.empty()) name.push_back('%');
  std::string path = state_dir;
  path.append("/oauth/").append(name).append(".json");
  return path;
}

Result<std::optional<StoredTokens>> load_tokens(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return std::optional<StoredTokens>{};
  auto text = read_file(path);
  if (!text) return text.error();
  auto json = nlohmann::json::parse(text->begin(), text->end(), nullptr, false);
  StoredTokens tokens;
  auto string_at = [&](const char* key, std::string& out) {
    auto it = json.find(key);
    if (it != json.end() && it->is_string()) out = it->get<std::string>();
  };
  if (json.is_discarded() || !json.is_object())
    return make_error(Kind::state, Scope::account, path + " is not a token file (not JSON)");
  string_at("refresh_token", tokens.refresh_token);
  string_at("access_token", tokens.access_token);
  auto number_at = [&](const char* key, std::int64_t& out) {
    auto it = json.find(key);
    if (it != json.end() && it->is_number_integer()) out = it->get<std::int64_t>();
  };
  number_at("expires_at", tokens.expires_at);
  number_at("lifetime", tokens.lifetime);
  return std::optional<StoredTokens>{tokens};
}

Status save_tokens(const std::string& path, const StoredTokens& tokens) {
  if (auto made = ensure_dir(parent_of(path)); !made) return made;
  nlohmann::json json = {{"refresh_token", tokens.refresh_token},
                         {"access_token", tokens.access_token},
                         {"expires_at", tokens.expires_at},
                         {"lifetime", tokens.lifetime}};
  return write_file_atomic(path, json.dump(2) + "\n", 0600);
}

}  // namespace clamfetch::oauth
