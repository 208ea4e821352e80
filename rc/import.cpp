// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// import_fetchmailrc(): tokenize, parse, emit (rc/fetchmailrc_*.cpp).

#include "rc/fetchmailrc.hpp"
#include "rc/rc.hpp"

namespace clamfetch::rc {

Result<std::string> import_fetchmailrc(std::string_view text, const std::string& name,
                                       std::vector<std::string>& warnings) {
  auto tokens = fetchmailrc::tokenize(text, name);
  if (!tokens.ok()) return tokens.error();
  auto model = fetchmailrc::parse(*tokens, name, warnings);
  if (!model.ok()) return model.error();
  return fetchmailrc::emit(*model, name, warnings);
}

}  // namespace clamfetch::rc
