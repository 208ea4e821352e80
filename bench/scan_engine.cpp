// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The libclamav engine's cost, through clamfetch's own Scanner: what make_scanner costs (it
// must be nothing: the engine is lazy), the load + compile time and peak memory (VmHWM) of a
// signature database, and the scan time per message for a 10 KB and a 2 MB message.
// With STATE_DIR: instead of the 2 MB scans, the cost of the poison-message protection the
// poller wraps every scan in (scan/scan_guard: two journal appends and a watchdog entry),
// alone and around real 10 KB scans.
//
// Usage: bench_scan_engine DATABASE [ITERATIONS [STATE_DIR]]
//   DATABASE: a directory or file, e.g. one made by bench/gen_signatures.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "scan/scan_guard.hpp"
#include "core/log.hpp"
#include "scan/scan.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A field of /proc/self/status in MB ("VmHWM", "VmRSS").
double proc_status_mb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::strtod(line.c_str() + field.size() + 1, nullptr) / 1024.0;
  }
  return -1;
}

std::string base64_lines(const std::string& data) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t col = 0;
  for (std::size_t i = 0; i + 2 < data.size(); i += 3) {
    uint32_t n = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) | uint8_t(data[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += table[(n >> s) & 63];
    if ((col += 4) >= 76) out += "\r\n", col = 0;
  }
  return out + "\r\n";
}

// A realistic message of about `size` bytes: a text part and a base64 attachment. Each
// `variant` differs in every byte of the attachment: libclamav caches clean results by
// content, so repeating one message would time a hash lookup, not a scan.
std::string message_of(std::size_t size, unsigned variant) {
  std::mt19937 rng(static_cast<unsigned>(size) * 7919u + variant);
  std::string attachment(size * 3 / 4, '\0');
  for (char& c : attachment) c = static_cast<char>(rng() & 0xff);
  return "From: a@example.net\r\nTo: b@example.com\r\nSubject: bench\r\nMIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
         "Please find the file attached.\r\n--b\r\nContent-Type: application/octet-stream; "
         "name=\"data.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
         base64_lines(attachment) + "--b--\r\n";
}

// Scans `iterations` different messages of `size`; with a guard, each inside begin()..end as
// the poller does (variant offsets keep libclamav's clean cache out of the second round).
void time_scans(clamfetch::scan::Scanner& scanner, const char* label, std::size_t size, int iterations,
                clamfetch::scan::ScanGuard* guard = nullptr, unsigned variant = 0) {
  std::vector<std::string> messages;
  for (int i = 0; i < iterations; ++i) messages.push_back(message_of(size, variant + static_cast<unsigned>(i)));
  auto start = Clock::now();
  int clean = 0;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    std::unique_ptr<clamfetch::scan::ScanGuard::Scanning> watched;
    if (guard != nullptr) watched = guard->begin("bench/INBOX/" + std::to_string(i), "bench message");
    clean += scanner.scan(messages[i]).status == clamfetch::Verdict::Status::clean;
  }
  double per = seconds_since(start) / iterations;
  std::printf("scan %-6s%s (%zu bytes): %.3f ms/message (%d/%d clean)\n", label, guard ? " guarded" : "",
              messages[0].size(), per * 1000, clean, iterations);
}

// The guard alone: begin() and the end of a Scanning, without a scan in between.
void time_guard(clamfetch::scan::ScanGuard& guard, int iterations) {
  auto start = Clock::now();
  for (int i = 0; i < iterations; ++i) guard.begin("bench/INBOX/g" + std::to_string(i), "bench message");
  std::printf("guard alone: %.2f us per scan (%d scans)\n", seconds_since(start) / iterations * 1e6, iterations);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATABASE [ITERATIONS]\n", argv[0]);
    return 2;
  }
  int iterations = argc > 2 ? std::atoi(argv[2]) : 20;
  clamfetch::Log log;
  log.set_level(clamfetch::Level::warning);
  clamfetch::scan::Settings settings;
  settings.database = argv[1];

  std::printf("database: %s\n", argv[1]);
  std::printf("before make_scanner: VmRSS %.1f MB\n", proc_status_mb("VmRSS"));
  auto scanner = clamfetch::scan::make_scanner(settings, log);
  std::printf("after make_scanner:  VmRSS %.1f MB, loaded=%d (lazy: nothing read)\n",
              proc_status_mb("VmRSS"), scanner->loaded());

  // The first scan loads and compiles the engine; a tiny message adds nothing measurable.
  auto start = Clock::now();
  clamfetch::Verdict first = scanner->scan("Subject: load\r\n\r\nhello\r\n");
  double load = seconds_since(start);
  if (first.status == clamfetch::Verdict::Status::error) {
    std::fprintf(stderr, "load failed: %s\n", first.reason.c_str());
    return 1;
  }
  std::printf("load + compile: %.2f s, VmHWM %.1f MB, VmRSS %.1f MB\n", load, proc_status_mb("VmHWM"),
              proc_status_mb("VmRSS"));
  std::printf("engine: %s\n", scanner->engine_version().c_str());
  time_scans(*scanner, "10 KB", 10 * 1024, iterations);
  if (argc > 3) {
    auto guard = clamfetch::scan::ScanGuard::open(argv[3], log);
    if (!guard) {
      std::fprintf(stderr, "scan guard: %s\n", guard.error().text.c_str());
      return 1;
    }
    (*guard)->watch_hangs(std::chrono::seconds(300));
    time_guard(**guard, 20 * iterations);
    time_scans(*scanner, "10 KB", 10 * 1024, iterations, guard->get(), 1u << 20);
    return 0;
  }
  time_scans(*scanner, "2 MB", 2 * 1024 * 1024, iterations);
  // Includes the pre-generated messages (ITERATIONS x 2 MB) held by this program.
  std::printf("peak after scans: VmHWM %.1f MB (incl. the test messages)\n", proc_status_mb("VmHWM"));
  return 0;
}
