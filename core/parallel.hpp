// A small worker pool for per-cluster work (keygen, signing, writing).
//
// Each worker thread first builds its own state (a per-worker signing key,
// say) by calling `make_worker`, then takes item indexes from a shared
// counter until none are left. The first exception stops every worker from
// taking new items and is rethrown to the caller once all have joined, so a
// failure never leaves threads running behind the caller's back.
//
// A SerialExecutor runs tasks one at a time, in the order they were
// submitted, on its own thread: the workers hand it what must wait on the
// disk (a filesystem sync, then renames) and go on with the cryptography.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace meshca {

using ItemWork = std::function<void(std::size_t index)>;

// Runs the work for indexes [0, count) on `jobs` threads (0: one per core),
// the calling thread included; never more threads than items.
void parallel_for(std::size_t count, unsigned jobs, const std::function<ItemWork()>& make_worker);

// At most `capacity` tasks wait; submit() blocks beyond that, so the work
// held back stays bounded. The first task that throws stops the executor:
// the tasks still waiting are dropped, and its exception is rethrown by every
// later submit() and by finish(). Destroying an executor that was not
// finished (the caller is unwinding) drops the waiting tasks and waits for
// the running one, so no task outlives the state it uses.
class SerialExecutor {
 public:
  explicit SerialExecutor(std::size_t capacity);
  SerialExecutor(const SerialExecutor&) = delete;
  SerialExecutor& operator=(const SerialExecutor&) = delete;
  ~SerialExecutor();

  void submit(std::function<void()> task);
  // Runs every submitted task to its end; rethrows the first failure.
  void finish();

 private:
  void run();
  void stop(bool drop_waiting);

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> waiting_;
  const std::size_t capacity_;
  bool closing_ = false;
  std::exception_ptr failure_;
  std::thread thread_;  // declared last: starts once the members above exist
};

}  // namespace meshca
