// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// libFuzzer target: parse() must return a Config or an Error for any input, never crash,
// and describe() must handle whatever parse() accepted.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rc/rc.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = clamfetch::rc::parse(text, "fuzz.toml");
  if (config.ok()) {
    std::string described = clamfetch::rc::describe(*config);
    if (described.empty()) __builtin_trap();
  } else if (config.error().text.rfind("fuzz.toml:", 0) != 0) {
    __builtin_trap();  // every rc error names file:line:col
  }
  return 0;
}
