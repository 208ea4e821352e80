// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// libFuzzer target: the SMTP/LMTP wire of deliver/ on hostile bytes. data_wire() must never
// let a message end the DATA early (no "\r\n.\r\n" before the terminator, no bare CR or LF)
// and must round-trip: undoing the dot-stuffing gives normalise_crlf() of the message.
// parse_reply() on a hostile MTA's bytes: a complete reply is a 2xx-5xx code with clean
// one-line texts, and parsing just its consumed bytes gives the same reply; parse_extensions()
// takes whatever lines it gets.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "deliver/deliver.hpp"

namespace d = clamfetch::deliver;

namespace {

void require(bool condition) {
  if (!condition) __builtin_trap();
}

void check_data_wire(std::string_view message) {
  std::string wire = d::data_wire(message);
  require(wire.size() >= 3 && wire.substr(wire.size() - 3) == ".\r\n");
  for (std::size_t i = 0; i < wire.size(); ++i) {
    if (wire[i] == '\r') require(i + 1 < wire.size() && wire[i + 1] == '\n');
    if (wire[i] == '\n') require(i > 0 && wire[i - 1] == '\r');
  }
  std::size_t early = wire.find("\r\n.\r\n");
  require(wire == ".\r\n" || early == wire.size() - 5);
  if (wire.rfind(".\r\n", 0) == 0) require(wire.size() == 3);
  // Undo: drop the terminator, then the doubled dot at the start of every line.
  std::string body = wire.substr(0, wire.size() - 3);
  std::string unstuffed;
  bool line_start = true;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (line_start && body[i] == '.') {
      require(i + 1 < body.size() && body[i + 1] == '.');
      ++i;
    }
    unstuffed += body[i];
    line_start = body[i] == '\n';
  }
  std::string normal = d::normalise_crlf(message);
  if (!normal.empty() && normal.back() != '\n') normal += "\r\n";
  require(unstuffed == normal);
}

void check_reply(std::string_view input) {
  d::ParsedReply parsed = d::parse_reply(input);
  if (parsed.state != d::ParsedReply::State::complete) return;
  require(parsed.consumed > 0 && parsed.consumed <= input.size());
  require(parsed.reply.code >= 200 && parsed.reply.code <= 599);
  require(!parsed.lines.empty());
  for (const std::string& line : parsed.lines) {
    require(line.find_first_of("\r\n") == std::string::npos);
  }
  for (char c : parsed.reply.text) require(c == '\t' || static_cast<unsigned char>(c) >= 0x20);
  d::ParsedReply again = d::parse_reply(input.substr(0, parsed.consumed));
  require(again.state == d::ParsedReply::State::complete);
  require(again.consumed == parsed.consumed && again.reply.code == parsed.reply.code &&
          again.lines == parsed.lines);
  d::Extensions extensions = d::parse_extensions(parsed.lines);
  (void)extensions;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  check_data_wire(input);
  check_reply(input);
  return 0;
}
