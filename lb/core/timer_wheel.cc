#include "lb/core/timer_wheel.h"

namespace lb {

void DeadlineTimer::expire_in(Duration d) {
  if (!wheel_) return;
  firing_ = false;
  if (deadline_ != 0) wheel_->unlink(this);
  deadline_ = wheel_->now() + to_uv_ms(d);
  if (deadline_ == 0) deadline_ = 1;
  wheel_->link(this);
}

void DeadlineTimer::cancel() {
  firing_ = false;
  if (deadline_ == 0) return;
  wheel_->unlink(this);
  deadline_ = 0;
}

TimerWheel::TimerWheel(uv_loop_t* loop, Duration resolution)
    : loop_(loop), res_(to_uv_ms(resolution) ? to_uv_ms(resolution) : 1), slots_(kSlots, nullptr) {
  tick_.init(loop_, uv_timer_init);
  tick_->data = this;
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
}

void TimerWheel::link(DeadlineTimer* t) {
  const bool start_ticking = !ticking_ && tick_;
  if (start_ticking) last_tick_ = now() / res_;
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
  if (++pending_ == 1 && start_ticking) {
    ticking_ = true;
    uv_timer_start(tick_.get(), [](uv_timer_t* h) { static_cast<TimerWheel*>(h->data)->on_tick(); }, res_, res_);
  }
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

void TimerWheel::on_tick() {
  const uint64_t current = now();
  const uint64_t target_tick = current / res_;
  // Visit every slot whose tick has passed (at most one full turn). A slot
  // only ever holds timers of its own slot, so the ones not yet due (a
  // later turn of the wheel) simply stay.
  uint64_t from = last_tick_ + 1;
  if (target_tick >= from + kSlots) from = target_tick - kSlots + 1;
  due_.clear();
  for (uint64_t tick = from; tick <= target_tick; ++tick) {
    for (DeadlineTimer* t = slots_[tick % kSlots]; t;) {
      DeadlineTimer* next = t->next_;
      if (t->deadline_ <= current) {
        unlink(t);
        t->deadline_ = 0;
        t->firing_ = true;
        due_.push_back(t);
      }
      t = next;
    }
  }
  last_tick_ = target_tick;
  // Callbacks may move or cancel other due timers (a client timing out
  // closes its upstream connection): those no longer fire.
  for (DeadlineTimer* t : due_) {
    if (!t->firing_) continue;
    t->firing_ = false;
    t->cb_(t->owner_);
  }
  due_.clear();
  if (pending_ == 0 && ticking_) {
    ticking_ = false;
    uv_timer_stop(tick_.get());
  }
}
}  // namespace lb
