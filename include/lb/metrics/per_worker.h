#pragma once
// One slot of counters per worker thread, so each slot has a single writer
// and the request path never shares a cache line with another worker. A
// slot is allocated by its worker the first time it records something
// (backends and listeners are created on the control thread, which does not
// know how many workers will touch them); the scrape walks the slots that
// exist and sums them. Slots live as long as the owning stats object.
#include <array>
#include <atomic>
#include <cassert>
#include <cstddef>

namespace lb::metrics {

// The config allows 1..256 workers (loader.cc as_workers).
inline constexpr unsigned kMaxWorkers = 256;

template <typename Slot>
class PerWorker {
 public:
  PerWorker() = default;
  PerWorker(const PerWorker&) = delete;
  PerWorker& operator=(const PerWorker&) = delete;
  ~PerWorker() {
    for (auto& p : slots_) delete p.load(std::memory_order_relaxed);
  }

  // Worker `worker`'s own slot; call only from that worker's thread.
  Slot& local(unsigned worker) {
    assert(worker < kMaxWorkers);
    Slot* s = slots_[worker].load(std::memory_order_acquire);
    if (!s) [[unlikely]] {
      s = new Slot();
      slots_[worker].store(s, std::memory_order_release);  // readers see a constructed slot
    }
    return *s;
  }

  // Calls f(const Slot&) for every slot some worker has created.
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& p : slots_)
      if (const Slot* s = p.load(std::memory_order_acquire)) f(*s);
  }

 private:
  std::array<std::atomic<Slot*>, kMaxWorkers> slots_{};
};

}  // namespace lb::metrics
