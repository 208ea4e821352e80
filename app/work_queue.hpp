// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// A bounded multi-producer multi-consumer queue: retrieval blocks when the delivering side
// falls behind, so memory stays bounded by the limits, not by the mailbox size.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

namespace clamfetch::app {

template <class T>
class WorkQueue {
 public:
  /// At most `max_items` queued, and at most `max_bytes` by the caller's size measure
  /// (one item is always admitted so a single big message cannot block forever).
  WorkQueue(std::size_t max_items, std::size_t max_bytes) : max_items_(max_items), max_bytes_(max_bytes) {}

  /// Blocks while full. Returns false when the queue was closed.
  bool push(T item, std::size_t bytes) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] {
      return closed_ || items_.empty() || (items_.size() < max_items_ && bytes_ + bytes <= max_bytes_);
    });
    if (closed_) return false;
    bytes_ += bytes;
    items_.push_back({std::move(item), bytes});
    not_empty_.notify_one();
    return true;
  }

  /// Blocks until an item is there; nullopt once closed and drained.
  std::optional<T> pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    auto entry = std::move(items_.front());
    items_.pop_front();
    bytes_ -= entry.bytes;
    not_full_.notify_one();
    return std::move(entry.item);
  }

  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  struct Entry { T item; std::size_t bytes; };
  std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::deque<Entry> items_;
  std::size_t max_items_, max_bytes_, bytes_ = 0;
  bool closed_ = false;
};

}  // namespace clamfetch::app
