// The worker pool and the serial executor the ceremony publishes bundles on.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/parallel.hpp"

namespace meshca {
namespace {

TEST(ParallelFor, RunsEveryIndexOnceAndBuildsOneWorkerPerThread) {
  std::atomic<int> workers{0};
  std::vector<std::atomic<int>> seen(500);
  parallel_for(seen.size(), 3, [&]() -> ItemWork {
    ++workers;
    return [&](std::size_t i) { ++seen[i]; };
  });
  EXPECT_EQ(workers, 3);
  for (const auto& s : seen) EXPECT_EQ(s, 1);
}

TEST(ParallelFor, FirstFailureStopsTheWorkersAndIsRethrown) {
  std::atomic<int> ran{0};
  EXPECT_THROW(parallel_for(10000, 2,
                            [&]() -> ItemWork {
                              return [&](std::size_t i) {
                                ++ran;
                                if (i == 10) throw std::runtime_error("item 10");
                                // Items take time, as real ones do: otherwise, on a loaded
                                // machine, the other worker can run all 10,000 while the
                                // failing one waits to be scheduled, and nothing is left
                                // to stop.
                                if (i > 10) std::this_thread::sleep_for(std::chrono::milliseconds(1));
                              };
                            }),
               std::runtime_error);
  EXPECT_LT(ran, 10000);
}

TEST(SerialExecutor, RunsTasksOneAtATimeInSubmissionOrder) {
  SerialExecutor executor(2);
  std::vector<int> order;  // touched only by the executor's thread
  std::atomic<int> running{0}, overlap{0};
  for (int i = 0; i < 50; ++i) {
    executor.submit([&, i] {
      if (++running > 1) ++overlap;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      order.push_back(i);
      --running;
    });
  }
  executor.finish();
  ASSERT_EQ(order.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
  EXPECT_EQ(overlap, 0);
}

TEST(SerialExecutor, SubmitBlocksWhileTheQueueIsFull) {
  SerialExecutor executor(1);
  std::atomic<bool> release{false};
  std::atomic<int> done{0};
  executor.submit([&] {
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ++done;
  });
  executor.submit([&] { ++done; });  // waits in the queue: now full
  std::atomic<bool> third_submitted{false};
  std::thread producer([&] {
    executor.submit([&] { ++done; });
    third_submitted = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(third_submitted);
  release = true;
  producer.join();
  EXPECT_TRUE(third_submitted);
  executor.finish();
  EXPECT_EQ(done, 3);
}

TEST(SerialExecutor, AFailureDropsTheRestAndIsRethrownBySubmitAndFinish) {
  SerialExecutor executor(8);
  std::atomic<int> ran{0};
  executor.submit([&] { throw std::runtime_error("disk full"); });
  // Whatever was queued behind the failure never runs.
  bool submit_threw = false;
  for (int i = 0; i < 100 && !submit_threw; ++i) {
    try {
      executor.submit([&] { ++ran; });
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "disk full");
      submit_threw = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(submit_threw);
  EXPECT_THROW(executor.finish(), std::runtime_error);
  EXPECT_EQ(ran, 0);
}

TEST(SerialExecutor, DestroyingWithoutFinishWaitsForTheRunningTaskAndDropsTheRest) {
  std::atomic<int> ran{0};
  std::atomic<bool> started{false};
  {
    SerialExecutor executor(8);
    executor.submit([&] {
      started = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      ++ran;
    });
    for (int i = 0; i < 5; ++i) executor.submit([&] { ran += 100; });
    while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }  // as when the caller unwinds
  EXPECT_EQ(ran, 1);
}

}  // namespace
}  // namespace meshca
