// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "core/error.hpp"

namespace clamfetch {

int exit_code(Kind kind) {
  switch (kind) {
    case Kind::connect: return 2;
    case Kind::tls: return 2;
    case Kind::auth: return 3;
    case Kind::protocol: return 4;
    case Kind::config: return 5;
    case Kind::permissions: return 6;
    case Kind::server: return 7;
    case Kind::timeout: return 7;
    case Kind::locked: return 8;
    case Kind::lock_busy: return 9;
    case Kind::mta: return 10;
    case Kind::dns: return 11;
    case Kind::fetchlimit: return 13;
    case Kind::server_busy: return 14;
    case Kind::scan: return 23;
    case Kind::state: return 23;
    case Kind::internal: return 23;
  }
  return 23;
}

int exit_code(const Error& error) { return exit_code(error.kind); }

Stops stops(const Error& error) {
  switch (error.scope) {
    case Scope::message: return Stops::message;
    case Scope::mailbox: return Stops::folder;
    case Scope::account: return Stops::account;
    case Scope::run: return Stops::run;
  }
  return Stops::run;
}

Error with_scope(Error error, Scope scope) {
  error.scope = scope;
  return error;
}

}  // namespace clamfetch
