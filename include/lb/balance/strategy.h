#pragma once
// The one interface every balancing algorithm implements (DESIGN.md §2).
// Strategies are pure: no I/O, no uv, no locks. Each worker thread owns its
// own instance per pool, so per-instance state (rotation cursors, smooth WRR
// current weights) needs no synchronisation; cross-worker facts (in-flight
// counts, latency) come from the Backend atomics.
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "lb/balance/backend.h"
#include "lb/core/time.h"

namespace lb::balance {

// Backends already tried for this request (by index in the pool's backend
// list), so a retry never lands on a backend that just failed.
class BackendSet {
 public:
  bool contains(size_t index) const {
    return index < 64 ? (bits_ >> index) & 1u : overflow_contains(index);
  }
  void insert(size_t index);
  void clear() { bits_ = 0; overflow_.clear(); }
  bool empty() const { return bits_ == 0 && overflow_.empty(); }

 private:
  bool overflow_contains(size_t index) const;
  uint64_t bits_ = 0;
  std::vector<size_t> overflow_;  // indexes >= 64, rare
};

struct PickContext {
  std::optional<uint64_t> hash;      // ip_hash / consistent_hash key; nullopt = no key
  const BackendSet* tried = nullptr;  // may be null: nothing tried yet
  // Skip backends at their max_requests. Off for a request that belongs to
  // one backend (a hash key's home), which waits for that one instead.
  bool need_room = false;
  // The time the pick is made at. The default reads the clock; a caller
  // that has just read it passes its reading instead (an Exchange times
  // its attempt from the same instant), which saves a clock read per
  // request: ~25 ns here, more than round_robin's whole pick.
  TimePoint now = Clock::now();
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  // nullptr: no usable backend that has not been tried.
  virtual Backend* pick(const PickContext& ctx) = 0;
  virtual void on_start(Backend&) {}
  // The attempt's response time (microseconds: loopback answers in less
  // than a millisecond) and whether a response came back.
  virtual void on_finish(Backend&, std::chrono::microseconds, bool ok) {}
};

using BackendList = std::vector<std::shared_ptr<Backend>>;

// The position of `b` in `backends`, or npos. Every request asks it of the
// backend it picked: O(1) while `b` sits where it was last found (the
// Backend keeps that position as a hint), one pass over the list when not.
size_t index_of(const BackendList& backends, const Backend* b);

}  // namespace lb::balance
