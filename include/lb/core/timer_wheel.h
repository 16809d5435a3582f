#pragma once
// Timeouts for thousands of connections on one uv timer. Each connection
// embeds a DeadlineTimer (an intrusive node of 48 bytes) instead of owning a
// uv_timer_t (152 bytes, plus its allocation); moving a deadline is an O(1)
// relink, never a heap operation. Timeouts fire up to one tick
// (`resolution`) late, which is fine for second-scale connection timeouts.
//
// The uv timer is armed for the next tick whose slot holds a timer, not for
// every tick: a worker whose connections wait on 60 s deadlines sleeps
// between slots instead of waking 100 times a second. A slot may hold only
// timers of a later turn of the wheel; each such slot costs one wasted
// wake-up per turn (kSlots ticks), so thousands of deadlines scattered over
// the wheel still wake it almost every tick, as before.
//
// Due timers fire after the loop has polled for I/O, not in libuv's timer
// phase (which runs first in each loop turn). When a loop is held up (a
// starved CPU, a paused VM, a long callback), the I/O that completed
// meanwhile — a backend's connect, a client's bytes — is seen before the
// deadline it beat, as HAProxy does: a stall alone never turns into a
// timeout. A deadline whose I/O did arrive is moved or cancelled by that I/O
// callback and does not fire.
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
  bool pending() const { return deadline_ != 0 || due_; }  // armed or due, not yet fired
  // How long until it fires: zero when due or not pending.
  Duration remaining() const;

 private:
  friend class TimerWheel;
  TimerWheel* wheel_ = nullptr;
  void* owner_ = nullptr;
  Callback cb_ = nullptr;
  uint64_t deadline_ = 0;  // loop ms; 0 = not pending
  bool due_ = false;       // expired, in the wheel's due list, not yet called
  // Links in a slot's list while pending, in the due list while due.
  DeadlineTimer* prev_ = nullptr;
  DeadlineTimer* next_ = nullptr;
};

class TimerWheel {
 public:
  explicit TimerWheel(uv_loop_t* loop, Duration resolution = Duration(10));
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  void close() {
    tick_.close();
    after_poll_.close();
    no_wait_.close();
  }
  // Timers armed and not yet fired (including those due, waiting for the
  // loop's I/O poll to finish).
  size_t pending() const { return pending_ + due_count_; }

 private:
  friend class DeadlineTimer;
  static constexpr size_t kSlots = 512;

  void link(DeadlineTimer* t);
  void unlink(DeadlineTimer* t);
  void push_due(DeadlineTimer* t);
  void unlink_due(DeadlineTimer* t);
  void on_tick();
  // Arms the uv timer for the start of `tick`, or as soon as it can if that
  // has passed.
  void wake_at(uint64_t tick);
  // With no timer left in a slot, stops the uv timer: an armed one keeps
  // uv_run from returning (a loop ends when no handle is active), and would
  // hold a stopping loop until the cancelled deadline's time.
  void sleep_if_empty();
  // The first tick after last_tick_ whose slot holds a timer; pending_ > 0.
  uint64_t next_busy_tick() const;
  void fire_due();
  uint64_t now() const { return uv_now(loop_); }
  size_t slot_of(uint64_t deadline) const { return size_t((deadline + res_ - 1) / res_) % kSlots; }

  uv_loop_t* loop_;
  uint64_t res_;
  UvHandle<uv_timer_t> tick_;
  UvHandle<uv_check_t> after_poll_;  // fires the due list once I/O was polled
  UvHandle<uv_idle_t> no_wait_;      // keeps that poll from blocking meanwhile
  bool ticking_ = false;     // the uv timer is armed, for waking_tick_
  uint64_t waking_tick_ = 0;
  uint64_t last_tick_ = 0;  // the tick (time / res) processed last
  size_t pending_ = 0;      // timers in slots
  std::vector<DeadlineTimer*> slots_;  // list heads
  // Expired timers in deadline order (FIFO), fired by fire_due().
  DeadlineTimer* due_head_ = nullptr;
  DeadlineTimer* due_tail_ = nullptr;
  size_t due_count_ = 0;
};

}  // namespace lb
