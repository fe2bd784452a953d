#pragma once
// Private to the llm room: writes rows off the caller's path. Items queue in memory and a
// background thread writes them in one transaction every `interval` or `max_batch` items,
// so a model call never waits for a commit (nor for the WAL checkpoint one may bring).
// What is still queued when the process dies is lost: the last interval's rows (100 ms of
// cost rows, a second of cached answers; docs/llm.md).
#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "fti/core/log.hpp"
#include "fti/core/result.hpp"

namespace fti::llm::detail {

template <class Item>
class BatchWriter {
 public:
  using WriteBatch = std::function<Status(const std::vector<Item>&)>;

  explicit BatchWriter(WriteBatch write, std::chrono::milliseconds interval = std::chrono::milliseconds(100),
                       std::size_t max_batch = 512)
      : write_(std::move(write)), interval_(interval), max_batch_(max_batch), thread_([this] { loop(); }) {}

  ~BatchWriter() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

  BatchWriter(const BatchWriter&) = delete;
  BatchWriter& operator=(const BatchWriter&) = delete;

  // Queues `item`; `also` runs under the same lock (state that must change with the queue).
  template <class Also>
  void push(Item item, Also&& also) {
    bool full;
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(item));
      also();
      full = queue_.size() >= max_batch_;
    }
    if (full) wake_.notify_all();
  }
  void push(Item item) {
    push(std::move(item), [] {});
  }

  // Reads the database while no batch is on its way there, then merges what is queued:
  // every row is counted once, whether it was written before the read or is still queued.
  // `merge` runs under the queue's lock, like push's `also`.
  template <class Read, class Merge>
  auto read_settled(Read&& read, Merge&& merge) {
    std::lock_guard gate(write_gate_);
    auto value = read();
    std::lock_guard lock(mutex_);
    return merge(std::move(value), static_cast<const std::vector<Item>&>(queue_));
  }

  // Looks at the queue (e.g. a cache read that must see its own unwritten puts).
  template <class Fn>
  auto peek(Fn&& fn) {
    std::lock_guard lock(mutex_);
    return fn(static_cast<const std::vector<Item>&>(queue_));
  }

  // Looks at every item not yet known to be written: the queue, then the batch on its way
  // to the database (which may or may not be committed yet). `fn` runs under the queue's lock.
  template <class Fn>
  auto peek_pending(Fn&& fn) {
    std::lock_guard lock(mutex_);
    return fn(static_cast<const std::vector<Item>&>(queue_), static_cast<const std::vector<Item>&>(inflight_));
  }

  // Returns once everything queued before the call is written (tests, shutdown).
  void flush() {
    std::unique_lock lock(mutex_);
    const std::uint64_t target = taken_ + queue_.size();
    ++flush_waiters_;
    wake_.notify_all();
    done_.wait(lock, [&] { return written_ >= target; });
    --flush_waiters_;
  }

 private:
  void loop() {
    pthread_setname_np(pthread_self(), "fti-llm-writer");  // for top -H and profilers
    std::unique_lock lock(mutex_);
    for (;;) {
      // Only a non-empty queue ends the wait early: a flush waiter with nothing left to write
      // must not keep this loop spinning with the lock held.
      wake_.wait_for(lock, interval_, [&] {
        return stop_ || (!queue_.empty() && (flush_waiters_ > 0 || queue_.size() >= max_batch_));
      });
      if (queue_.empty()) {
        if (stop_) return;
        continue;
      }
      lock.unlock();
      write_one_batch();
      lock.lock();
    }
  }

  void write_one_batch() {
    std::lock_guard gate(write_gate_);
    {
      std::lock_guard lock(mutex_);
      // The queue gets the last batch's emptied vector: its capacity, no regrowth per batch.
      inflight_.swap(queue_);
      taken_ += inflight_.size();
    }
    // Only this thread changes inflight_, so it reads it here without the lock.
    if (auto st = write_(inflight_); !st.ok()) {
      log::get("llm")->warn("could not write {} row(s): {}", inflight_.size(), st.error().message);
    }
    std::lock_guard lock(mutex_);
    written_ += inflight_.size();
    inflight_.clear();
    done_.notify_all();
  }

  WriteBatch write_;
  std::chrono::milliseconds interval_;
  std::size_t max_batch_;
  std::mutex write_gate_;  // held while a batch is between the queue and the database
  std::mutex mutex_;       // the queue and the counters
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<Item> queue_;
  std::vector<Item> inflight_;  // the batch being written; changed under the lock, by the writer only
  std::uint64_t taken_ = 0;    // items moved out of the queue
  std::uint64_t written_ = 0;  // items whose write finished (failures are logged)
  int flush_waiters_ = 0;
  bool stop_ = false;
  std::thread thread_;  // last: it starts once everything above exists
};

}  // namespace fti::llm::detail
