// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// libFuzzer target: import_fetchmailrc() must return TOML or an Error for any input, never
// crash; what it emits goes through parse() too (which may reject it, e.g. without a password).

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "rc/rc.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> warnings;
  auto toml = clamfetch::rc::import_fetchmailrc(text, "fetchmailrc", warnings);
  if (!toml.ok()) {
    if (toml.error().text.rfind("fetchmailrc:", 0) != 0) __builtin_trap();
    return 0;
  }
  auto config = clamfetch::rc::parse(*toml, "imported.toml");
  (void)config;
  return 0;
}
