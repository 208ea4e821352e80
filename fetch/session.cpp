// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// make_session: the one place that picks the protocol.

#include "fetch/sessions.hpp"

namespace clamfetch::fetch {

std::unique_ptr<Session> make_session(const AccountSettings& settings, Log& log) {
  switch (settings.protocol) {
    case Protocol::pop3:
      return make_pop3_session(settings, log);
    case Protocol::imap:
      return make_imap_session(settings, log);
  }
  return nullptr;
}

}  // namespace clamfetch::fetch
