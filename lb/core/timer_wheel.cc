#include "lb/core/timer_wheel.h"

namespace lb {

void DeadlineTimer::expire_in(Duration d) {
  if (!wheel_) return;
  if (due_) wheel_->unlink_due(this);
  if (deadline_ != 0) wheel_->unlink(this);
  deadline_ = wheel_->now() + to_uv_ms(d);
  if (deadline_ == 0) deadline_ = 1;
  wheel_->link(this);
}

Duration DeadlineTimer::remaining() const {
  if (deadline_ == 0) return Duration(0);
  const uint64_t now = wheel_->now();
  return Duration(deadline_ > now ? deadline_ - now : 0);
}

void DeadlineTimer::cancel() {
  if (due_) wheel_->unlink_due(this);
  if (deadline_ == 0) return;
  wheel_->unlink(this);
  deadline_ = 0;
  wheel_->sleep_if_empty();
}

TimerWheel::TimerWheel(uv_loop_t* loop, Duration resolution)
    : loop_(loop), res_(to_uv_ms(resolution) ? to_uv_ms(resolution) : 1), slots_(kSlots, nullptr) {
  tick_.init(loop_, uv_timer_init);
  tick_->data = this;
  after_poll_.init(loop_, uv_check_init);
  after_poll_->data = this;
  no_wait_.init(loop_, uv_idle_init);
  last_tick_ = now() / res_;
}

TimerWheel::~TimerWheel() {
  // Timers still linked belong to objects being torn down with the worker.
  for (DeadlineTimer*& head : slots_) {
    for (DeadlineTimer* t = head; t;) {
      DeadlineTimer* next = t->next_;
      t->deadline_ = 0;
      t->prev_ = t->next_ = nullptr;
      t = next;
    }
    head = nullptr;
  }
  while (due_head_) unlink_due(due_head_);
}

void TimerWheel::link(DeadlineTimer* t) {
  if (!ticking_ && tick_) last_tick_ = now() / res_;  // idle until now: no slot to catch up on
  // The next tick visits the slots after last_tick_ only: a deadline that
  // rounds up to last_tick_ or before (a zero delay at a tick boundary,
  // armed idle or from a callback of the tick being run) moves to the next
  // tick instead of waiting a whole turn of the wheel.
  if ((t->deadline_ + res_ - 1) / res_ <= last_tick_) t->deadline_ = last_tick_ * res_ + 1;
  DeadlineTimer*& head = slots_[slot_of(t->deadline_)];
  t->prev_ = nullptr;
  t->next_ = head;
  if (head) head->prev_ = t;
  head = t;
  ++pending_;
  // Sleeping past this deadline's tick: wake up for it instead.
  const uint64_t tick = (t->deadline_ + res_ - 1) / res_;
  if (tick_ && (!ticking_ || tick < waking_tick_)) wake_at(tick);
}

void TimerWheel::wake_at(uint64_t tick) {
  const uint64_t at = tick * res_;
  const uint64_t current = now();
  ticking_ = true;
  waking_tick_ = tick;
  uv_timer_start(tick_.get(), [](uv_timer_t* h) { static_cast<TimerWheel*>(h->data)->on_tick(); },
                 at > current ? at - current : 0, 0);
}

void TimerWheel::sleep_if_empty() {
  if (pending_ > 0 || !ticking_ || !tick_) return;
  uv_timer_stop(tick_.get());
  ticking_ = false;
}

uint64_t TimerWheel::next_busy_tick() const {
  for (uint64_t tick = last_tick_ + 1; tick <= last_tick_ + kSlots; ++tick)
    if (slots_[tick % kSlots]) return tick;
  return last_tick_ + 1;  // not reached while pending_ > 0
}

void TimerWheel::unlink(DeadlineTimer* t) {
  if (t->prev_) {
    t->prev_->next_ = t->next_;
  } else {
    slots_[slot_of(t->deadline_)] = t->next_;
  }
  if (t->next_) t->next_->prev_ = t->prev_;
  t->prev_ = t->next_ = nullptr;
  --pending_;
}

void TimerWheel::push_due(DeadlineTimer* t) {
  t->due_ = true;
  t->next_ = nullptr;
  t->prev_ = due_tail_;
  if (due_tail_) {
    due_tail_->next_ = t;
  } else {
    due_head_ = t;
  }
  due_tail_ = t;
  ++due_count_;
}

void TimerWheel::unlink_due(DeadlineTimer* t) {
  if (t->prev_) {
    t->prev_->next_ = t->next_;
  } else {
    due_head_ = t->next_;
  }
  if (t->next_) {
    t->next_->prev_ = t->prev_;
  } else {
    due_tail_ = t->prev_;
  }
  t->prev_ = t->next_ = nullptr;
  t->due_ = false;
  --due_count_;
}

void TimerWheel::on_tick() {
  const uint64_t current = now();
  const uint64_t target_tick = current / res_;
  // Visit every slot whose tick has passed (at most one full turn). A slot
  // only ever holds timers of its own slot, so the ones not yet due (a
  // later turn of the wheel) simply stay.
  uint64_t from = last_tick_ + 1;
  if (target_tick >= from + kSlots) from = target_tick - kSlots + 1;
  for (uint64_t tick = from; tick <= target_tick; ++tick) {
    for (DeadlineTimer* t = slots_[tick % kSlots]; t;) {
      DeadlineTimer* next = t->next_;
      if (t->deadline_ <= current) {
        unlink(t);
        t->deadline_ = 0;
        push_due(t);
      }
      t = next;
    }
  }
  last_tick_ = target_tick;
  ticking_ = false;  // the one-shot uv timer has fired
  if (pending_ > 0) wake_at(next_busy_tick());
  // libuv runs timers before it polls for I/O; the due ones fire in the
  // check phase of this same loop turn, after a poll that must not block.
  if (due_head_ && after_poll_) {  // starting an active handle again is a no-op
    uv_check_start(after_poll_.get(), [](uv_check_t* h) { static_cast<TimerWheel*>(h->data)->fire_due(); });
    uv_idle_start(no_wait_.get(), [](uv_idle_t*) {});
  }
}

void TimerWheel::fire_due() {
  uv_check_stop(after_poll_.get());
  uv_idle_stop(no_wait_.get());
  // Callbacks may move or cancel other due timers (a client timing out
  // closes its upstream connection): those leave the list and never fire.
  // A timer re-armed by a callback goes to a slot, so this ends.
  while (DeadlineTimer* t = due_head_) {
    unlink_due(t);
    t->cb_(t->owner_);
  }
}
}  // namespace lb
