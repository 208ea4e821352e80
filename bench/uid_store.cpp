// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The UID store's cost at scale, per account: a first sync of N messages (one record() per
// delivered message, then the save() that ends the run), and an empty poll over N kept
// messages (open, then what the poller does: POP3 prunes against the full listing, IMAP with
// sync state touches nothing; then save()). Prints milliseconds; run it for 20000 and 100000
// to see whether anything grows faster than N.
//
// Usage: bench_uid_store STATE_DIR N [N...]

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "app/plan.hpp"
#include "core/log.hpp"
#include "fetch/fetch.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using clamfetch::fetch::MessageRef;
using clamfetch::fetch::UidStore;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// CPU time (user + system) of the process so far, ms: steadier than wall time on a busy host.
double cpu_ms() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto ms = [](const timeval& t) { return t.tv_sec * 1000.0 + t.tv_usec / 1000.0; };
  return ms(usage.ru_utime) + ms(usage.ru_stime);
}

UidStore open_or_die(const std::string& dir, const std::string& key) {
  auto store = UidStore::open(dir, key);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().text.c_str());
    std::exit(1);
  }
  return std::move(store).value();
}

void run(const std::string& dir, std::size_t n) {
  std::string key = "imap://bench@localhost:993/" + std::to_string(n);
  std::vector<MessageRef> listing;
  for (std::size_t i = 1; i <= n; ++i) {
    listing.push_back(MessageRef{"INBOX", static_cast<uint32_t>(i), std::to_string(i), 2048});
  }
  auto start = Clock::now();
  {
    UidStore store = open_or_die(dir, key);
    store.set_uidvalidity("INBOX", 1);
    for (const auto& ref : listing) {
      if (!store.record(ref.folder, ref.uid, false, ref.size)) std::exit(1);
    }
    auto saving = Clock::now();
    if (!store.save()) std::exit(1);
    std::printf("N=%zu first sync: %.1f ms (%.2f us/message), of which save %.1f ms\n", n,
                ms_since(start), ms_since(start) * 1000 / static_cast<double>(n), ms_since(saving));
  }
  start = Clock::now();
  double cpu = cpu_ms();
  {
    UidStore store = open_or_die(dir, key);
    double opened = ms_since(start);
    store.set_uidvalidity("INBOX", 1);
    store.prune("INBOX", listing);
    (void)store.save();
    std::printf("N=%zu empty poll, full listing (POP3): %.1f ms, CPU %.1f ms (open %.1f ms)\n", n,
                ms_since(start), cpu_ms() - cpu, opened);
  }
  {
    // The pure decision over a full listing of N kept messages (a POP3 empty poll does it).
    UidStore store = open_or_die(dir, key);
    clamfetch::Log log;
    clamfetch::rc::User user;
    std::string account = "bench";
    clamfetch::fetch::FolderListing full;
    full.messages = listing;
    double before = cpu_ms();
    clamfetch::app::PlanInput in{user, store, false, 0, account, log};
    auto plan = clamfetch::app::plan_folder(full, in);
    std::printf("N=%zu plan_folder over the full listing: CPU %.1f ms (%zu to retrieve)\n", n,
                cpu_ms() - before, plan.retrieve.size());
  }
  start = Clock::now();
  cpu = cpu_ms();
  {
    UidStore store = open_or_die(dir, key);
    store.set_uidvalidity("INBOX", 1);
    (void)store.sync("INBOX");
    (void)store.save();
    std::printf("N=%zu empty poll, nothing listed (IMAP sync): %.1f ms, CPU %.1f ms\n", n,
                ms_since(start), cpu_ms() - cpu);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_uid_store STATE_DIR N [N...]\n");
    return 2;
  }
  for (int i = 2; i < argc; ++i) run(argv[1], std::strtoull(argv[i], nullptr, 10));
  return 0;
}
