// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "core/message.hpp"

namespace clamfetch {

std::string describe(const Verdict& verdict) {
  switch (verdict.status) {
    case Verdict::Status::clean: return "clean";
    case Verdict::Status::infected: return "INFECTED " + verdict.virus;
    case Verdict::Status::error: return "scan error (" + verdict.reason + ")";
    case Verdict::Status::oversize: return "unscanned (too large)";
    case Verdict::Status::limits: return "clean (" + verdict.reason + ")";
    case Verdict::Status::allowlisted: return "unscanned (allowlisted)";
    case Verdict::Status::not_scanned: return "unscanned";
  }
  return "unscanned";
}

}  // namespace clamfetch
