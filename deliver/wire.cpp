// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The DATA section on the wire: CRLF normalisation and dot-stuffing (RFC 5321 4.5.2).

#include <cstring>

#include "deliver/deliver.hpp"

namespace clamfetch::deliver {
namespace {

// Copies `message` to `out` with every line end (CRLF, bare LF, lone CR) as CRLF; with
// `stuff`, a '.' that starts a line is doubled. Returns whether the output ends with a line
// end (true for empty input). Copies runs between line ends in one append: a 10 MB message
// takes a few milliseconds.
bool normalise_into(std::string_view message, bool stuff, std::string& out) {
  std::size_t pos = 0;
  while (pos < message.size()) {  // one line per turn
    if (stuff && message[pos] == '.') out += '.';
    const char* begin = message.data() + pos;
    std::size_t left = message.size() - pos;
    const void* lf = std::memchr(begin, '\n', left);
    const void* cr = std::memchr(begin, '\r', lf ? static_cast<const char*>(lf) - begin : left);
    const char* stop = static_cast<const char*>(cr ? cr : lf);
    if (stop == nullptr) {
      out.append(begin, left);
      return false;
    }
    out.append(begin, stop);
    out += "\r\n";
    pos = static_cast<std::size_t>(stop - message.data()) + 1;
    if (*stop == '\r' && pos < message.size() && message[pos] == '\n') ++pos;
  }
  return true;
}

}  // namespace

std::string data_wire(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 32 + 8);
  if (!normalise_into(message, true, out)) out += "\r\n";
  out += ".\r\n";
  return out;
}

std::string normalise_crlf(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 32 + 2);
  normalise_into(message, false, out);
  return out;
}

}  // namespace clamfetch::deliver
