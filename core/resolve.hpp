// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Name resolution with a deadline. getaddrinfo() has none of its own: a dead DNS server holds
// it for the resolver's timeout x attempts x address families (half a minute and more with
// resolv.conf's defaults), whatever the rc file's `timeout` says.

#include <netdb.h>

#include <memory>
#include <string>

#include "core/deadline.hpp"

namespace clamfetch {

struct AddrinfoFree {
  void operator()(addrinfo* list) const { freeaddrinfo(list); }
};
using AddrinfoList = std::unique_ptr<addrinfo, AddrinfoFree>;

/// What resolve() found, or why not.
struct Resolved {
  AddrinfoList list;   ///< set on success
  std::string error;   ///< "Name or service not known", "no answer within 30 s", ...
};

/// getaddrinfo(host, service, hints) that gives up at `deadline`. The lookup runs in a
/// helper thread; when the deadline passes first the caller gets an error at once and the
/// thread is left to finish on its own (it frees what it finds). Blocks until then.
Resolved resolve(const std::string& host, const std::string& service, const addrinfo& hints,
                 const Deadline& deadline);

}  // namespace clamfetch
