// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// resolve(): getaddrinfo in a detached thread, waited for with a deadline.

#include "core/resolve.hpp"

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

namespace clamfetch {
namespace {

// Shared by the caller and the lookup thread; whoever leaves last frees it (shared_ptr),
// with the addresses when nobody took them.
struct Lookup {
  std::string host, service;
  addrinfo hints{};
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  int rc = 0;
  int saved_errno = 0;
  AddrinfoList found;
};

void run(const std::shared_ptr<Lookup>& lookup) {
  addrinfo* raw = nullptr;
  int rc = ::getaddrinfo(lookup->host.c_str(), lookup->service.c_str(), &lookup->hints, &raw);
  int saved_errno = errno;
  std::lock_guard lock(lookup->mutex);
  lookup->found.reset(raw);
  lookup->rc = rc;
  lookup->saved_errno = saved_errno;
  lookup->done = true;
  lookup->done_cv.notify_all();
}

}  // namespace

Resolved resolve(const std::string& host, const std::string& service, const addrinfo& hints,
                 const Deadline& deadline) {
  auto lookup = std::make_shared<Lookup>();
  lookup->host = host;
  lookup->service = service;
  lookup->hints = hints;
  try {
    std::thread([lookup] { run(lookup); }).detach();
  } catch (const std::system_error&) {
    run(lookup);  // no thread to be had: resolve here, unbounded, rather than not at all
  }
  std::unique_lock lock(lookup->mutex);
  auto finished = [&] { return lookup->done; };
  if (deadline.never()) {
    lookup->done_cv.wait(lock, finished);
  } else if (!lookup->done_cv.wait_for(lock, std::chrono::milliseconds(deadline.remaining_ms()), finished)) {
    return {nullptr, "no answer from the name service in time"};
  }
  if (lookup->rc != 0) {
    return {nullptr, lookup->rc == EAI_SYSTEM ? std::strerror(lookup->saved_errno) : gai_strerror(lookup->rc)};
  }
  return {std::move(lookup->found), {}};
}

}  // namespace clamfetch
