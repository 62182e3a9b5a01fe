#include "ser/util/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace ser::util {

unsigned resolve_jobs(int requested, std::size_t items) {
  std::size_t jobs = requested > 0 ? static_cast<std::size_t>(requested) : std::thread::hardware_concurrency();
  jobs = std::min(jobs, std::max<std::size_t>(items, 1));
  return static_cast<unsigned>(std::max<std::size_t>(jobs, 1));
}

void parallel_for(std::size_t n, unsigned jobs, const std::function<void(std::size_t)>& fn,
                  const std::function<void(std::size_t)>& on_progress, std::chrono::milliseconds interval) {
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  std::atomic<bool> stop{false};
  std::exception_ptr first_error;
  std::mutex mutex;
  std::condition_variable finished;
  unsigned running = 0;

  auto worker = [&] {
    for (;;) {
      if (stop.load(std::memory_order_relaxed)) break;
      const std::size_t i = next.fetch_add(1);
      if (i >= n) break;
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!first_error) first_error = std::current_exception();
        stop = true;
      }
      done.fetch_add(1);
    }
    std::lock_guard<std::mutex> lock(mutex);
    if (--running == 0) finished.notify_all();
  };

  jobs = std::max(1u, jobs);
  if (jobs == 1 && !on_progress) {  // no thread to spawn: keeps stack traces simple
    running = 1;
    worker();
  } else {
    std::vector<std::thread> threads;
    running = jobs;
    threads.reserve(jobs);
    for (unsigned t = 0; t < jobs; ++t) threads.emplace_back(worker);
    {
      std::unique_lock<std::mutex> lock(mutex);
      while (running > 0) {
        if (on_progress) {
          lock.unlock();
          on_progress(done.load());
          lock.lock();
        }
        finished.wait_for(lock, interval, [&] { return running == 0; });
      }
    }
    for (auto& t : threads) t.join();
  }
  if (on_progress) on_progress(done.load());
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace ser::util
