#pragma once
// The model-server mode's slots and queue (--max-concurrent, --queue): at
// most `capacity` requests are served at once (0 = no limit); a request that
// may wait (/v1/chat/completions) joins a first-come-first-served queue of at
// most `max_waiting` when every slot is taken; anything else is refused (the
// caller answers 503). Pure bookkeeping: no I/O, no libuv.
#include <cstdint>
#include <deque>

namespace demo {

// Whoever waits in the queue: told when a slot has become theirs.
class SlotWaiter {
 public:
  virtual void slot_granted() = 0;

 protected:
  ~SlotWaiter() = default;
};

class Slots {
 public:
  enum class Admission { granted, queued, refused };
  // The queue is bounded whatever the flag says (options.cc enforces it too).
  static constexpr uint64_t kMaxWaiting = 10'000;

  Slots(uint64_t capacity, uint64_t max_waiting);

  // Takes a free slot, or refuses: for requests that never wait.
  bool try_acquire();
  // Takes a free slot, or joins the queue (when it has room), or refuses.
  // A slot is free only when nobody waits: no request jumps the queue.
  Admission acquire_or_wait(SlotWaiter* waiter);
  // Gives back a slot held. When someone waits, the slot passes straight to
  // the first waiter, which is returned (the caller calls slot_granted on
  // it); else nullptr.
  SlotWaiter* release();
  // A waiter that leaves before its turn (its client went away).
  void cancel(SlotWaiter* waiter);

  uint64_t in_use() const { return in_use_; }
  uint64_t waiting() const { return waiting_.size(); }
  uint64_t peak_in_use() const { return peak_in_use_; }
  uint64_t refused() const { return refused_; }

 private:
  bool slot_free() const { return capacity_ == 0 || in_use_ < capacity_; }
  void take();

  uint64_t capacity_;
  uint64_t max_waiting_;
  uint64_t in_use_ = 0;
  uint64_t peak_in_use_ = 0;
  uint64_t refused_ = 0;
  std::deque<SlotWaiter*> waiting_;
};

}  // namespace demo
