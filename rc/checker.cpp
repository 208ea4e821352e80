// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Typed reads out of the rc tree, with one "name:line:col: message" line per problem.

#include "rc/checker.hpp"

#include <algorithm>
#include <limits>

namespace clamfetch::rc::detail {
namespace {

/// A scalar as a message shows it: strings quoted, integers as numbers, else the type.
std::string shown(const Node& node) {
  if (node.type == Node::Type::string) return quoted(node.text);
  if (node.type == Node::Type::integer) return std::to_string(node.integer);
  return type_name(node.type);
}

}  // namespace

void Checker::error(Where where, const std::string& message) {
  if (lines_.size() >= kMaxErrors) return;
  lines_.push_back(name_ + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) +
                   ": " + message);
}

Error Checker::to_error() const {
  std::string text;
  for (const auto& line : lines_) {
    if (!text.empty()) text += '\n';
    text += line;
  }
  return make_error(Kind::config, Scope::run, text);
}

void Checker::unknown(const Member& member, const char* section,
                      const std::vector<std::string_view>& known) {
  std::string message = "unknown key '" + member.key + "' in " + section;
  std::string_view best;
  size_t best_distance = 3;
  for (std::string_view candidate : known) {
    size_t distance = edit_distance(member.key, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  if (!best.empty()) message += " (did you mean '" + std::string(best) + "'?)";
  error(member.where, message);
}

void Checker::wrong_type(const Member& m, const char* wanted) {
  error(m.value.where, m.key + " must be " + wanted + ", got " + type_name(m.value.type));
}

std::optional<std::string> Checker::string(const Member& m) {
  if (m.value.type != Node::Type::string) {
    wrong_type(m, "a string");
    return std::nullopt;
  }
  return m.value.text;
}

std::optional<bool> Checker::boolean(const Member& m) {
  if (m.value.type != Node::Type::boolean) {
    wrong_type(m, "true or false");
    return std::nullopt;
  }
  return m.value.boolean;
}

std::optional<int64_t> Checker::integer(const Member& m, int64_t min, int64_t max) {
  if (m.value.type != Node::Type::integer) {
    wrong_type(m, "an integer");
    return std::nullopt;
  }
  int64_t value = m.value.integer;
  if (value >= min && value <= max) return value;
  std::string got = ", got " + std::to_string(value);
  if (max != std::numeric_limits<int>::max()) {
    error(m.value.where, m.key + " must be between " + std::to_string(min) + " and " +
                             std::to_string(max) + got);
  } else if (min == 1) {
    error(m.value.where, m.key + " must be greater than 0" + got);
  } else {
    error(m.value.where, m.key + " must be at least " + std::to_string(min) + got);
  }
  return std::nullopt;
}

std::optional<std::vector<std::string>> Checker::strings(const Member& m, bool single_ok) {
  const char* wanted = single_ok ? "a string or an array of strings" : "an array of strings";
  if (single_ok && m.value.type == Node::Type::string) return std::vector<std::string>{m.value.text};
  if (m.value.type != Node::Type::array) {
    wrong_type(m, wanted);
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const Node& item : m.value.items) {
    if (item.type != Node::Type::string) {
      error(item.where, m.key + " must be " + wanted + ", got an array item of type " +
                            type_name(item.type));
      return std::nullopt;
    }
    out.push_back(item.text);
  }
  return out;
}

std::optional<uint64_t> Checker::size(const Member& m) {
  if (m.value.type == Node::Type::integer && m.value.integer >= 0) {
    return static_cast<uint64_t>(m.value.integer);
  }
  if (m.value.type == Node::Type::string) {
    if (auto value = parse_size(m.value.text); value.ok()) return *value;
  }
  error(m.value.where,
        m.key + " must be a size like \"25M\", \"100K\", \"1G\" or a number of bytes, got " + shown(m.value));
  return std::nullopt;
}

std::optional<uint64_t> Checker::duration(const Member& m) {
  if (m.value.type == Node::Type::integer && m.value.integer > 0) {
    return static_cast<uint64_t>(m.value.integer);
  }
  if (m.value.type == Node::Type::string) {
    if (auto value = parse_duration(m.value.text); value.ok() && *value > 0) return *value;
  }
  error(m.value.where, m.key +
                           " must be a duration like \"30d\", \"12h\", \"15m\", \"45s\" or a number of "
                           "seconds, got " + shown(m.value));
  return std::nullopt;
}

std::optional<size_t> Checker::choice(const Member& m, std::initializer_list<const char*> names) {
  std::string list;
  for (const char* name : names) list += (list.empty() ? "" : ", ") + quoted(name);
  if (m.value.type != Node::Type::string) {
    error(m.value.where, m.key + " must be one of " + list + ", got " + type_name(m.value.type));
    return std::nullopt;
  }
  size_t index = 0;
  for (const char* name : names) {
    if (m.value.text == name) return index;
    ++index;
  }
  error(m.value.where, m.key + " must be one of " + list + ", got " + quoted(m.value.text));
  return std::nullopt;
}

std::optional<std::string> Checker::address(const Member& m) {
  auto text = string(m);
  if (!text) return std::nullopt;
  if (is_address(*text)) return text;
  error(m.value.where, m.key + " must be a mail address with '@', got " + quoted(*text));
  return std::nullopt;
}

bool Checker::not_table(const Member& m) {
  if (m.value.type == Node::Type::table) return false;
  wrong_type(m, "a table");
  return true;
}

std::vector<std::string_view> with_user_options(std::vector<std::string_view> keys) {
  keys.insert(keys.end(), kUserOptionKeys.begin(), kUserOptionKeys.end());
  return keys;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace clamfetch::rc::detail
