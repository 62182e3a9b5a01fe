#pragma once
// A minimal fork-join loop over indices: enough for per-file work (extraction, augmentation)
// where every item is independent and costs milliseconds, so a shared atomic counter is all the
// scheduling needed.
#include <chrono>
#include <cstddef>
#include <functional>

namespace ser::util {

// Threads to use for `requested` (0 = every hardware thread), never more than `items`, at least 1.
unsigned resolve_jobs(int requested, std::size_t items);

// Calls fn(i) for every i in [0, n) on `jobs` threads. While they run, the calling thread calls
// on_progress(done) every `interval` and once at the end. If fn throws, the remaining indices are
// skipped and the first exception is rethrown here after all threads have joined; callers that
// want per-item error handling catch inside fn.
void parallel_for(std::size_t n, unsigned jobs, const std::function<void(std::size_t)>& fn,
                  const std::function<void(std::size_t done)>& on_progress = {},
                  std::chrono::milliseconds interval = std::chrono::milliseconds(200));

}  // namespace ser::util
