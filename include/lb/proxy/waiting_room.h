#pragma once
// A worker's half of the pool queues (lb/proxy/pool_queue.h): the requests
// waiting on this worker, per pool, in ticket order — those that may go to
// any backend ("unpinned") and those that wait for particular backends
// ("pinned": one of their own, or for a retry one it has not tried yet).
// drain() lets them in while slots are free and, for unpinned
// ones, while this worker holds the pool's oldest ticket; it runs when
// another worker's freed slot wakes this one, and on a short tick while
// anyone waits (a backend's health or max_requests changed, or a wake-up was
// lost). Worker-local: no locks; only the PoolQueue it publishes to is shared.
#include <uv.h>

#include <cstdint>
#include <unordered_map>

#include "lb/core/time.h"
#include "lb/core/uv_handle.h"
#include "lb/proxy/pool_queue.h"
#include "lb/proxy/worker_wakers.h"

namespace lb::proxy {

class WaitingRoom;

// One waiting request (an Exchange), linked into the room's lists.
class QueuedRequest {
 public:
  enum class Admit {
    admitted,  // took a slot and left the room (WaitingRoom::leave)
    wait,      // still no room
    unpinned,  // its own backend left: it now waits for any backend
  };
  virtual ~QueuedRequest() = default;
  // Tries to take a slot now; on success it leaves the room before it goes on.
  virtual Admit try_admit() = 0;

  bool queued() const { return queue_ != nullptr; }
  uint64_t ticket() const { return ticket_; }

 private:
  friend class WaitingRoom;
  PoolQueue* queue_ = nullptr;
  uint64_t ticket_ = 0;
  bool pinned_ = false;
  QueuedRequest* prev_ = nullptr;
  QueuedRequest* next_ = nullptr;
};

class WaitingRoom {
 public:
  WaitingRoom(uv_loop_t* loop, unsigned worker);
  ~WaitingRoom();
  WaitingRoom(const WaitingRoom&) = delete;
  WaitingRoom& operator=(const WaitingRoom&) = delete;

  // Set once before the worker runs; until then kicks reach nobody.
  void set_wakers(const WorkerWakers* wakers) { wakers_ = wakers; }
  const WorkerWakers* wakers() const { return wakers_; }

  // `r` waits in `queue` with `ticket` (PoolQueue::try_join), for its own
  // backend when `pinned`.
  void join(PoolQueue& queue, uint64_t ticket, bool pinned, QueuedRequest& r);
  // `r` leaves (admitted, timed out, client gone); the PoolQueue's count drops.
  void leave(QueuedRequest& r);
  // Lets in whoever may go now, in every pool with waiters here.
  void drain_all();
  // Wakes whoever should look at `queue` (a slot freed, a waiter joined).
  void kick(const PoolQueue& queue) const {
    if (wakers_) queue.kick(*wakers_);
  }
  bool empty() const { return count_ == 0; }
  // Closes the tick timer (worker teardown).
  void close();

 private:
  struct List {
    QueuedRequest* head = nullptr;
    QueuedRequest* tail = nullptr;
    uint32_t size = 0;
    void push_back(QueuedRequest& r);
    void insert_ordered(QueuedRequest& r);  // by ticket
    void remove(QueuedRequest& r);
  };
  struct Lines {
    List unpinned;
    List pinned;
  };

  void drain(PoolQueue* queue);
  void publish(PoolQueue* queue, const Lines& lines) const;
  void sweep_empty();
  void update_tick();

  unsigned worker_;
  const WorkerWakers* wakers_ = nullptr;
  // Keyed by the shared queue, which outlives its waiters: each one holds
  // the snapshot that holds the queue.
  std::unordered_map<PoolQueue*, Lines> lines_;
  size_t count_ = 0;
  bool draining_ = false;  // lines_ entries are not erased while drain runs
  UvHandle<uv_timer_t> tick_;
  bool ticking_ = false;
};

}  // namespace lb::proxy
