#pragma once
// Timeouts for thousands of connections on one uv timer. Each connection
// embeds a DeadlineTimer (an intrusive node of 48 bytes) instead of owning a
// uv_timer_t (152 bytes, plus its allocation); moving a deadline is an O(1)
// relink, never a heap operation. The wheel ticks every `resolution` while
// any timer is pending, so timeouts fire up to one tick late, which is fine
// for second-scale connection timeouts.
#include <uv.h>

#include <cstdint>
#include <vector>

#include "lb/core/time.h"
#include "lb/core/uv_handle.h"

namespace lb {

class TimerWheel;

class DeadlineTimer {
 public:
  using Callback = void (*)(void* owner);

  DeadlineTimer() = default;
  ~DeadlineTimer() { cancel(); }
  DeadlineTimer(const DeadlineTimer&) = delete;
  DeadlineTimer& operator=(const DeadlineTimer&) = delete;

  void init(TimerWheel& wheel, void* owner, Callback cb) {
    wheel_ = &wheel;
    owner_ = owner;
    cb_ = cb;
  }
  // Fires `cb` once, `d` from now (rounded up to the wheel's tick), unless
  // moved or cancelled before.
  void expire_in(Duration d);
  void cancel();
  bool pending() const { return deadline_ != 0; }

 private:
  friend class TimerWheel;
  TimerWheel* wheel_ = nullptr;
  void* owner_ = nullptr;
  Callback cb_ = nullptr;
  uint64_t deadline_ = 0;  // loop ms; 0 = not pending
  bool firing_ = false;    // due in the tick being run, not yet called
  DeadlineTimer* prev_ = nullptr;
  DeadlineTimer* next_ = nullptr;
};

class TimerWheel {
 public:
  explicit TimerWheel(uv_loop_t* loop, Duration resolution = Duration(10));
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  void close() { tick_.close(); }
  size_t pending() const { return pending_; }

 private:
  friend class DeadlineTimer;
  static constexpr size_t kSlots = 512;

  void link(DeadlineTimer* t);
  void unlink(DeadlineTimer* t);
  void on_tick();
  uint64_t now() const { return uv_now(loop_); }
  size_t slot_of(uint64_t deadline) const { return size_t((deadline + res_ - 1) / res_) % kSlots; }

  uv_loop_t* loop_;
  uint64_t res_;
  UvHandle<uv_timer_t> tick_;
  bool ticking_ = false;
  uint64_t last_tick_ = 0;  // the tick (time / res) processed last
  size_t pending_ = 0;
  std::vector<DeadlineTimer*> slots_;  // list heads
  std::vector<DeadlineTimer*> due_;    // reused by on_tick
};

}  // namespace lb
