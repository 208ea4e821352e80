// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// parse(): TOML text -> tree (toml.cpp) -> validated Config with every inherited value resolved
// (built-in defaults -> [defaults] -> [[poll]] -> [[poll.user]]).

#include "rc/checker.hpp"
#include "rc/rc.hpp"

namespace clamfetch::rc {
namespace {

const std::vector<std::string_view> kTopKeys{"global", "defaults", "scan", "poll"};
const std::vector<std::string_view> kDefaultsKeys = detail::kUserOptionKeys;

void read_defaults(detail::Checker& check, const detail::Node& table, User& defaults) {
  for (const detail::Member& m : table.members) {
    if (!detail::read_user_option(check, m, defaults)) check.unknown(m, "[defaults]", kDefaultsKeys);
  }
}

}  // namespace

Result<Config> parse(std::string_view text, const std::string& name) {
  auto tree = detail::parse_tree(text, name);
  if (!tree.ok()) return tree.error();
  detail::Checker check(name);
  Config config;
  config.path = name;
  User defaults;
  const detail::Member* polls = nullptr;
  for (const detail::Member& m : tree->members) {
    if (m.key == "poll") {
      polls = &m;  // read last: polls inherit [defaults] wherever it is written
    } else if (m.key == "global" || m.key == "defaults" || m.key == "scan") {
      if (check.not_table(m)) continue;
      if (m.key == "global") detail::read_global(check, m.value, config.global);
      if (m.key == "defaults") read_defaults(check, m.value, defaults);
      if (m.key == "scan") detail::read_scan(check, m.value, config.scan);
    } else {
      check.unknown(m, detail::kTopLevel, kTopKeys);
    }
  }
  if (polls) detail::read_polls(check, polls->value, defaults, config.polls);
  if (check.failed()) return check.to_error();
  return config;
}

}  // namespace clamfetch::rc
