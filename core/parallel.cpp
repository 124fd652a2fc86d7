#include "core/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace meshca {

void parallel_for(std::size_t count, unsigned jobs, const std::function<ItemWork()>& make_worker) {
  if (count == 0) return;
  unsigned threads = jobs ? jobs : std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, count));
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex failure_mutex;
  std::exception_ptr failure;
  auto worker = [&] {
    try {
      ItemWork work = make_worker();
      for (std::size_t n = next++; n < count && !stop; n = next++) work(n);
    } catch (...) {
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      stop = true;
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

SerialExecutor::SerialExecutor(std::size_t capacity) : capacity_(std::max<std::size_t>(1, capacity)), thread_([this] { run(); }) {}

SerialExecutor::~SerialExecutor() { stop(true); }

void SerialExecutor::submit(std::function<void()> task) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return failure_ || waiting_.size() < capacity_; });
  if (failure_) std::rethrow_exception(failure_);
  waiting_.push_back(std::move(task));
  changed_.notify_all();
}

void SerialExecutor::finish() {
  stop(false);
  if (failure_) std::rethrow_exception(failure_);
}

void SerialExecutor::stop(bool drop_waiting) {
  {
    std::lock_guard lock(mutex_);
    if (drop_waiting) waiting_.clear();
    closing_ = true;
    changed_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void SerialExecutor::run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return closing_ || !waiting_.empty(); });
      if (waiting_.empty()) return;  // closing, and nothing left to run
      task = std::move(waiting_.front());
      waiting_.pop_front();
      changed_.notify_all();
    }
    try {
      task();
    } catch (...) {
      std::lock_guard lock(mutex_);
      failure_ = std::current_exception();
      waiting_.clear();
      changed_.notify_all();
      return;
    }
  }
}

}  // namespace meshca
