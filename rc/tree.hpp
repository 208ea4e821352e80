// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Internal to rc/: the TOML document as a plain tree of our own types, so that only
// toml.cpp includes toml++ (slow to compile). Members keep file order.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace clamfetch::rc::detail {

/// A position in the rc file, 1-based.
struct Where {
  unsigned line = 0;
  unsigned column = 0;
};

struct Node;

/// A key of a table with the position of the key itself (for unknown-key errors).
struct Member;

struct Node {
  enum class Type { table, array, string, integer, floating, boolean, date };
  Type type = Type::table;
  Where where;
  std::string text;         ///< string value
  int64_t integer = 0;      ///< integer value
  double floating = 0;      ///< float value
  bool boolean = false;     ///< boolean value
  std::vector<Member> members;  ///< table members, in file order
  std::vector<Node> items;      ///< array items
  bool array_of_tables = false;  ///< `[[x]]` rather than an inline array
};

struct Member {
  std::string key;
  Where where;  ///< the key's position
  Node value;
};

/// "table", "array", "string", "integer", "float", "boolean", "date/time".
const char* type_name(Node::Type type);

/// Parse TOML text into a tree. Errors: Kind::config, "name:line:col: message".
Result<Node> parse_tree(std::string_view text, const std::string& name);

}  // namespace clamfetch::rc::detail
