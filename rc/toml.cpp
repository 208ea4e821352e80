// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The one translation unit that includes toml++: it turns a TOML document into our own tree
// (rc/tree.hpp) and toml++'s parse_error into "file:line:col: message". toml++ throws; the
// exception is caught here and never crosses the module boundary.

#include <algorithm>

#include <toml++/toml.h>

#include "rc/tree.hpp"

namespace clamfetch::rc::detail {
namespace {

Where where_of(const toml::source_region& region) {
  return Where{region.begin.line, region.begin.column};
}

Node convert(const toml::node& node);

Node convert_table(const toml::table& table) {
  Node out;
  out.type = Node::Type::table;
  out.where = where_of(table.source());
  for (auto&& [key, value] : table) {
    out.members.push_back(Member{std::string(key.str()), where_of(key.source()), convert(value)});
  }
  // toml++ iterates in key order; errors read better in file order.
  std::stable_sort(out.members.begin(), out.members.end(), [](const Member& a, const Member& b) {
    return a.where.line != b.where.line ? a.where.line < b.where.line : a.where.column < b.where.column;
  });
  return out;
}

Node convert_array(const toml::array& array) {
  Node out;
  out.type = Node::Type::array;
  out.where = where_of(array.source());
  out.array_of_tables = array.is_array_of_tables() && !array.empty();
  for (const toml::node& item : array) out.items.push_back(convert(item));
  // An array of tables written inline (`x = [{...}]`) is still an array of tables for the
  // schema; only the header form `[[x]]` has items positioned after the array itself.
  return out;
}

Node convert(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return convert_table(*node.as_table());
    case toml::node_type::array: return convert_array(*node.as_array());
    default: break;
  }
  Node out;
  out.where = where_of(node.source());
  if (auto text = node.value_exact<std::string>()) {
    out.type = Node::Type::string;
    out.text = *text;
  } else if (auto integer = node.value_exact<int64_t>()) {
    out.type = Node::Type::integer;
    out.integer = *integer;
  } else if (auto floating = node.value_exact<double>()) {
    out.type = Node::Type::floating;
    out.floating = *floating;
  } else if (auto boolean = node.value_exact<bool>()) {
    out.type = Node::Type::boolean;
    out.boolean = *boolean;
  } else {
    out.type = Node::Type::date;
  }
  return out;
}

}  // namespace

const char* type_name(Node::Type type) {
  switch (type) {
    case Node::Type::table: return "table";
    case Node::Type::array: return "array";
    case Node::Type::string: return "string";
    case Node::Type::integer: return "integer";
    case Node::Type::floating: return "float";
    case Node::Type::boolean: return "boolean";
    case Node::Type::date: return "date/time";
  }
  return "value";
}

Result<Node> parse_tree(std::string_view text, const std::string& name) {
  try {
    toml::table table = toml::parse(text, std::string_view(name));
    return convert_table(table);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    return make_error(Kind::config, Scope::run,
                      name + ":" + std::to_string(begin.line) + ":" + std::to_string(begin.column) +
                          ": " + std::string(e.description()));
  }
}

}  // namespace clamfetch::rc::detail
