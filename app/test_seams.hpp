// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// Where a test build reaches into the pipeline: a probe told of each step of a message's way
// (the kill trials die at an exact step) and a wrapper around the scanner (the poison-message
// trials crash or hang a scan). Installed once by main() in a build with the test suite
// (CLAMFETCH_TESTS, tests/hooks/fault_injection.cpp); the shipped binary installs nothing,
// reads no test variable and pays one null check per step.

#include <functional>
#include <memory>

#include "app/handover.hpp"
#include "scan/scan.hpp"

namespace clamfetch::app {

/// Told of a message's steps, on the thread that takes them: the hand-over's (HandoverProbe)
/// and the account poll's. Every call returns normally in production; a fault-injection probe
/// may end the process.
class PipelineProbe : public HandoverProbe {
 public:
  /// The server was asked to forget the folder's handed-on messages, and said yes.
  virtual void after_acknowledge() {}
  /// An account's poll is about to save its UID store.
  virtual void before_save() {}
};

struct TestSeams {
  PipelineProbe* probe = nullptr;
  /// Wraps each scanner a poller makes; `in_process`: libclamav (not clamd).
  std::function<std::unique_ptr<scan::Scanner>(std::unique_ptr<scan::Scanner>, bool in_process)> wrap_scanner;
};

/// Installs the seams for every Poller made afterwards (main(), before any). Not thread-safe.
void install_test_seams(TestSeams seams);
/// The installed seams (empty unless install_test_seams() ran).
const TestSeams& test_seams();

}  // namespace clamfetch::app
