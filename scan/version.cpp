// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include <clamav.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fstream>
#include <string>
#include <vector>

#include "scan/clamav_api.hpp"
#include "scan/scan.hpp"

namespace clamfetch::scan {

std::string library_version() {
  // Opens libclamav if no scan has yet: --version and the X-Virus-Scanned header name it.
  Result<const detail::ClamavApi*> api = detail::open_clamav();
  return api ? (*api)->retver() : "not available (" + api.error().text + ")";
}

namespace {

// A .cvd/.cld file starts with a 512-byte header:
// "ClamAV-VDB:<build date>:<version>:<signatures>:<functionality>:<md5>:<dsig>:<builder>:<stime>"
std::string cvd_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char buf[512] = {};
  in.read(buf, sizeof buf - 1);
  std::string header(buf, static_cast<std::size_t>(in.gcount()));
  if (header.rfind("ClamAV-VDB:", 0) != 0) return {};
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= header.size(); ++i) {
    if (i == header.size() || header[i] == ':') {
      fields.push_back(header.substr(start, i - start));
      start = i + 1;
    }
  }
  if (fields.size() < 4) return {};
  return "version " + fields[2] + ", " + fields[3] + " signatures, built " + fields[1];
}

}  // namespace

namespace {

/// The CVD header's fields, empty when the file is not one.
std::vector<std::string> cvd_fields(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char buf[512] = {};
  in.read(buf, sizeof buf - 1);
  std::string header(buf, static_cast<std::size_t>(in.gcount()));
  std::vector<std::string> fields;
  if (header.rfind("ClamAV-VDB:", 0) != 0) return fields;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= header.size(); ++i) {
    if (i == header.size() || header[i] == ':' || (header[i] == ' ' && fields.size() >= 8)) {
      fields.push_back(header.substr(start, i - start));
      start = i + 1;
      if (fields.size() == 9) break;
    }
  }
  return fields;
}

bool signature_extension(const std::string& ext) {
  static const char* const kExts[] = {".ndb", ".hdb", ".hsb", ".ldb", ".ign2", ".fp", ".mdb",
                                      ".msb", ".yar", ".cdb", ".cud", ".cvd", ".cld"};
  for (const char* e : kExts) {
    if (ext == e) return true;
  }
  return false;
}

/// Counts one signature file into `facts`.
void add_file(DatabaseFacts& facts, const std::string& path) {
  auto dot = path.rfind('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot);
  struct stat st {};
  if (!signature_extension(ext) || ::stat(path.c_str(), &st) != 0) return;
  std::vector<std::string> fields = ext == ".cvd" || ext == ".cld" ? cvd_fields(path)
                                                                   : std::vector<std::string>{};
  if (fields.size() >= 9) {
    ++facts.official_files;
    std::time_t built = std::strtoll(fields[8].c_str(), nullptr, 10);
    if (!facts.official || built > facts.built) facts.built = built;
    facts.official = true;
    if (std::atol(fields[2].c_str()) > std::atol(facts.version.c_str())) facts.version = fields[2];
    return;
  }
  ++facts.unofficial_files;
  if (!facts.official && st.st_mtime > facts.built) facts.built = st.st_mtime;
}

}  // namespace

DatabaseFacts database_facts(const std::string& database) {
  DatabaseFacts facts;
  struct stat st {};
  if (::stat(database.c_str(), &st) != 0) {
    facts.error = database + ": " + std::strerror(errno);
    return facts;
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::access(database.c_str(), R_OK) != 0) facts.error = database + ": " + std::strerror(errno);
    else add_file(facts, database);
    return facts;
  }
  DIR* dir = opendir(database.c_str());
  if (dir == nullptr) {
    facts.error = database + ": " + std::strerror(errno);
    return facts;
  }
  while (const dirent* entry = readdir(dir)) add_file(facts, database + "/" + entry->d_name);
  closedir(dir);
  return facts;
}

std::string database_description(const std::string& database) {
  DIR* dir = opendir(database.c_str());
  if (dir == nullptr) return database + ": not readable";
  std::vector<std::string> parts;
  int other = 0;
  while (const dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    auto dot = name.rfind('.');
    std::string ext = dot == std::string::npos ? "" : name.substr(dot);
    if (ext == ".cvd" || ext == ".cld") {
      std::string header = cvd_header(database + "/" + name);
      if (!header.empty()) parts.push_back(name + " " + header);
    } else if (ext == ".ndb" || ext == ".hdb" || ext == ".hsb" || ext == ".ldb" || ext == ".ign2" ||
               ext == ".fp" || ext == ".mdb" || ext == ".msb" || ext == ".yar" || ext == ".cdb") {
      ++other;
    }
  }
  closedir(dir);
  std::string out = database + ":";
  for (const auto& p : parts) out += " " + p + ";";
  if (other > 0) out += " " + std::to_string(other) + " unofficial signature file(s)";
  if (parts.empty() && other == 0) out += " no signature files";
  return out;
}

}  // namespace clamfetch::scan
