// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// clamd over INSTREAM: each scan opens a connection to a clamd, streams the message in chunks
// and reads one verdict. Several addresses are a farm: each scan goes to the one with the
// fewest scans under way (ties in turn), one that fails is tried last for a back-off of 5 s
// doubling to 60 s, and a scan that fails on one is retried on the next, so that a message
// is only failed when no clamd answers it. Per-address counts are logged at -v at the end.

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "scan/clamd_socket.hpp"
#include "scan/scanner_common.hpp"

namespace clamfetch::scan::detail {
namespace {

constexpr std::size_t kChunk = 64 * 1024;
constexpr int kMaxConnectSeconds = 10;  // a dead host must not eat the whole scan timeout

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string chunk_header(std::size_t length) {
  uint32_t be = htonl(static_cast<uint32_t>(length));
  return std::string(reinterpret_cast<const char*>(&be), sizeof be);
}

// zINSTREAM, <4-byte BE length><data> chunks, a zero-length chunk.
Status send_instream(int fd, std::string_view message, const Deadline& deadline) {
  if (Status s = send_all(fd, std::string_view("zINSTREAM\0", 10), deadline); !s) return s;
  for (std::size_t pos = 0; pos < message.size(); pos += kChunk) {
    std::string_view chunk = message.substr(pos, kChunk);
    if (Status s = send_all(fd, chunk_header(chunk.size()), deadline); !s) return s;
    if (Status s = send_all(fd, chunk, deadline); !s) return s;
  }
  return send_all(fd, chunk_header(0), deadline);
}

// Past StreamMaxLength clamd answers "INSTREAM size limit exceeded. ERROR" and closes the
// socket while we still write: the send fails, but the answer is there to read.
Result<std::string> instream(int fd, std::string_view message, const Deadline& deadline) {
  Status sent = send_instream(fd, message, deadline);
  auto reply = read_reply(fd, deadline);
  if (!sent && !reply) return sent.error();
  return reply;
}

std::string trim_reply(std::string reply) {
  while (!reply.empty() && (reply.back() == '\n' || reply.back() == '\r')) reply.pop_back();
  return reply;
}

}  // namespace

/// The verdict for one INSTREAM reply ("stream: OK", "stream: NAME FOUND", "... ERROR").
Verdict parse_instream_reply(const std::string& raw, double seconds) {
  std::string reply = trim_reply(raw);
  const std::string prefix = "stream: ";
  std::string body = reply.starts_with(prefix) ? reply.substr(prefix.size()) : reply;
  if (body == "OK") {
    Verdict v;
    v.status = Verdict::Status::clean;
    v.seconds = seconds;
    return v;
  }
  if (body.size() > 6 && body.ends_with(" FOUND")) {
    return finding(body.substr(0, body.size() - 6), seconds);
  }
  if (reply.ends_with("ERROR")) return error_verdict("clamd: " + reply, seconds);
  return error_verdict("clamd: unexpected reply '" + reply + "'", seconds);
}

namespace {

// The clamd addresses of one scanner, shared by the delivery threads: which to try first,
// and how each fared.
class Farm {
 public:
  explicit Farm(const std::vector<std::string>& addresses) : members_(addresses.size()) {
    for (std::size_t i = 0; i < addresses.size(); ++i) members_[i].address = addresses[i];
  }

  /// Indexes in the order to try: healthy before those in back-off, then fewest scans under
  /// way, ties from a turn that moves on with every scan (round robin).
  std::vector<std::size_t> order() {
    std::lock_guard lock(mutex_);
    auto now = std::chrono::steady_clock::now();
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < members_.size(); ++i) out.push_back((turn_ + i) % members_.size());
    if (!members_.empty()) turn_ = (turn_ + 1) % members_.size();
    std::stable_sort(out.begin(), out.end(), [&](std::size_t a, std::size_t b) {
      bool down_a = members_[a].down_until > now, down_b = members_[b].down_until > now;
      if (down_a != down_b) return !down_a;
      return members_[a].outstanding < members_[b].outstanding;
    });
    return out;
  }
  const std::string& address(std::size_t i) const { return members_[i].address; }
  void begin(std::size_t i) {
    std::lock_guard lock(mutex_);
    ++members_[i].outstanding;
  }
  /// Ends a scan on member i; a failure takes it out of rotation. Returns the back-off (s).
  int end(std::size_t i, bool ok) {
    std::lock_guard lock(mutex_);
    Member& m = members_[i];
    --m.outstanding;
    if (ok) {
      ++m.scans;
      m.backoff_seconds = 0;
      return 0;
    }
    ++m.failures;
    m.backoff_seconds = std::clamp(m.backoff_seconds * 2, kFirstBackoff, kMaxBackoff);
    m.down_until = std::chrono::steady_clock::now() + std::chrono::seconds(m.backoff_seconds);
    return m.backoff_seconds;
  }
  /// "ADDRESS: N scans, M failures" per address, for the -v summary.
  std::vector<std::string> counts() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const Member& m : members_) {
      out.push_back(m.address + ": " + std::to_string(m.scans) + " scans, " +
                    std::to_string(m.failures) + " failures");
    }
    return out;
  }

 private:
  static constexpr int kFirstBackoff = 5, kMaxBackoff = 60;
  struct Member {
    std::string address;
    unsigned outstanding = 0;
    uint64_t scans = 0, failures = 0;
    int backoff_seconds = 0;
    std::chrono::steady_clock::time_point down_until{};
  };
  mutable std::mutex mutex_;
  std::vector<Member> members_;
  std::size_t turn_ = 0;
};

class ClamdScanner final : public Scanner {
 public:
  ClamdScanner(const Settings& settings, Log& log)
      : settings_(settings), log_(log), farm_(settings.clamd) {}
  ~ClamdScanner() override {
    if (!answered_.load(std::memory_order_acquire)) return;
    for (const std::string& line : farm_.counts()) log_.verbose("scan: clamd " + line);
  }

  Verdict scan(std::string_view message) override {
    if (message.size() > settings_.max_file_size) {
      return oversize_verdict(message.size(), settings_.max_file_size);
    }
    auto start = std::chrono::steady_clock::now();
    std::vector<std::string> failures;
    std::optional<Verdict> erred;  // the last ERROR a clamd answered (a size limit, no memory)
    for (std::size_t member : farm_.order()) {
      const std::string& text = farm_.address(member);
      farm_.begin(member);
      auto reply = exchange(text, [&](int fd, const Deadline& deadline) {
        return instream(fd, message, deadline);
      });
      int backoff = farm_.end(member, reply.ok());
      if (reply) {
        answered_.store(true, std::memory_order_release);
        Verdict v = parse_instream_reply(*reply, seconds_since(start));
        if (v.status != Verdict::Status::error) return v;
        // A clamd stopped mid-scan or out of memory answers ERROR (or nothing): the next
        // member may scan it. Every member erring gives the last answer, as one clamd did.
        log_.warning("scan: clamd " + text + ": " + v.reason + " (trying the next one)");
        erred = std::move(v);
        continue;
      }
      log_.warning("scan: clamd " + text + ": " + reply.error().text + " (tried last for " +
                   std::to_string(backoff) + " s)");
      failures.push_back(text + ": " + reply.error().text);
    }
    if (erred) return *erred;
    Verdict v = error_verdict("clamd unreachable: " + join(failures), seconds_since(start));
    v.scanner_fault = true;
    return v;
  }

  std::string engine_version() const override {
    std::lock_guard lock(version_mutex_);
    if (version_.empty()) version_ = query_version();
    return version_.empty() ? "clamd" : version_;
  }

  bool loaded() const override { return answered_.load(std::memory_order_acquire); }

 private:
  static std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
    return out.empty() ? "no clamd address configured" : out;
  }

  // One connection to `text` running `talk`; errors before a reply mean "did not answer".
  template <class Talk>
  Result<std::string> exchange(const std::string& text, Talk talk) const {
    auto address = parse_clamd_address(text);
    if (!address) return address.error();
    int timeout = settings_.timeout_seconds;
    int connect_seconds = timeout > 0 ? std::min(timeout, kMaxConnectSeconds) : kMaxConnectSeconds;
    auto fd = connect_to(*address, Deadline::after(connect_seconds));
    if (!fd) return fd.error();
    return talk(fd->get(), Deadline::after(timeout));
  }

  // zVERSION from the first clamd that answers; empty when none does (asked again later).
  std::string query_version() const {
    for (const std::string& text : settings_.clamd) {
      auto reply = exchange(text, [](int fd, const Deadline& deadline) -> Result<std::string> {
        if (Status s = send_all(fd, std::string_view("zVERSION\0", 9), deadline); !s) {
          return s.error();
        }
        return read_reply(fd, deadline);
      });
      if (reply) return trim_reply(*reply);
    }
    return {};
  }

  const Settings settings_;
  Log& log_;
  Farm farm_;
  std::atomic<bool> answered_{false};
  mutable std::mutex version_mutex_;
  mutable std::string version_;
};

}  // namespace

std::unique_ptr<Scanner> make_clamd_scanner(const Settings& settings, Log& log) {
  return std::make_unique<ClamdScanner>(settings, log);
}

}  // namespace clamfetch::scan::detail
