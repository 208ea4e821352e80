// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include <libetpan/libetpan.h>
#include <openssl/crypto.h>

#include "fetch/fetch.hpp"

namespace clamfetch::fetch {

std::string library_versions() {
  return "libetpan " + std::to_string(libetpan_get_version_major()) + "." +
         std::to_string(libetpan_get_version_minor()) + ", " + OpenSSL_version(OPENSSL_VERSION);
}

}  // namespace clamfetch::fetch
