#pragma once
// The shared half of a pool's waiting room (queue: {max, timeout}): when
// every usable backend of a pool is at its max_requests, a request waits
// instead of overloading a backend or failing. Requests wait on the worker
// that accepted them (lb/proxy/waiting_room.h holds them there); this object
// is what the workers share, atomics only:
//   - a ticket counter: a waiting request's ticket is its place in the line
//     across all workers;
//   - the number waiting (queue.max, lbd_pool_queue_length);
//   - per worker, the ticket of its oldest waiter that may go to any backend
//     ("unpinned") and how many wait for one backend of their own
//     ("pinned": a sticky cookie's or a hash key's backend).
// When a slot frees or a request joins, kick() wakes the worker holding the
// oldest unpinned ticket, and every worker with pinned waiters; each woken
// worker admits its own waiters while it holds the oldest ticket and a slot
// is free, and otherwise wakes the worker that does. Order is first come,
// first served across workers within the race of two workers publishing at
// once; pinned waiters go whenever their backend has room.
// Failure mode: a lost wake-up (a slot freed between a worker's look and its
// publish) would strand a waiter, so every worker with waiters also looks
// again on a short tick (WaitingRoom), and the queue timeout bounds any wait.
#include <array>
#include <atomic>
#include <cstdint>
#include <limits>
#include <utility>

#include "lb/config/config.h"
#include "lb/proxy/worker_wakers.h"

namespace lb::proxy {

class PoolQueue {
 public:
  static constexpr uint64_t kNoTicket = std::numeric_limits<uint64_t>::max();

  // A place in line if fewer than `max` wait; kNoTicket when the queue is full.
  uint64_t try_join(uint32_t max);
  // A waiter left (admitted, timed out or gone).
  void left() { waiting_.fetch_sub(1, std::memory_order_relaxed); }
  uint32_t length() const { return waiting_.load(std::memory_order_relaxed); }

  // What worker `w` holds now (WaitingRoom publishes after every change).
  void publish(unsigned w, uint64_t oldest_unpinned, uint32_t pinned);
  // The worker other than `self` among the first `workers` whose unpinned
  // waiter is oldest, and that ticket; {0, kNoTicket} when none has one.
  std::pair<unsigned, uint64_t> oldest_elsewhere(unsigned self, unsigned workers = config::kMaxWorkers) const;
  // A slot of this pool freed, or something changed that may let a waiter
  // in: wake the workers that should look (see above). Cheap when nobody waits.
  void kick(const WorkerWakers& wakers) const;

 private:
  struct Share {
    std::atomic<uint64_t> oldest_unpinned{kNoTicket};
    std::atomic<uint32_t> pinned{0};
  };
  std::atomic<uint64_t> next_ticket_{1};
  std::atomic<uint32_t> waiting_{0};
  std::array<Share, config::kMaxWorkers> shares_{};
};

}  // namespace lb::proxy
