#include <clamav.h>
#include <dirent.h>

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
