#pragma once
// A counter with exactly one writer thread (a worker) and any number of
// readers (the scrape on the control thread). The writer adds with a relaxed
// load and store instead of a read-modify-write: no lock prefix, no
// contended cache line, yet race-free in the memory model (and under TSan),
// because nobody else ever stores to it.
#include <atomic>
#include <cstdint>

namespace lb::metrics {

class LocalCounter {
 public:
  // Only from the owning thread.
  void add(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  // From any thread.
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

}  // namespace lb::metrics
