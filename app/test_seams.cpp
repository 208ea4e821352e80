// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "app/test_seams.hpp"

#include <utility>

namespace clamfetch::app {
namespace {
TestSeams& seams() {
  static TestSeams installed;
  return installed;
}
}  // namespace

void install_test_seams(TestSeams s) { seams() = std::move(s); }

const TestSeams& test_seams() { return seams(); }

}  // namespace clamfetch::app
