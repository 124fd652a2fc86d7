// A small worker pool for per-cluster work (keygen, signing, writing).
//
// Each worker thread first builds its own state (a per-worker signing key,
// say) by calling `make_worker`, then takes item indexes from a shared
// counter until none are left. The first exception stops every worker from
// taking new items and is rethrown to the caller once all have joined, so a
// failure never leaves threads running behind the caller's back.
#pragma once

#include <cstddef>
#include <functional>

namespace meshca {

using ItemWork = std::function<void(std::size_t index)>;

// Runs the work for indexes [0, count) on `jobs` threads (0: one per core),
// the calling thread included; never more threads than items.
void parallel_for(std::size_t count, unsigned jobs, const std::function<ItemWork()>& make_worker);

}  // namespace meshca
