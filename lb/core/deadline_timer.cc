#include "lb/core/deadline_timer.h"

namespace lb {

void DeadlineTimer::init(uv_loop_t* loop, void* owner, Callback cb) {
  timer_.init(loop, uv_timer_init);
  timer_->data = this;
  owner_ = owner;
  cb_ = cb;
}

void DeadlineTimer::expire_in(Duration d) {
  if (!timer_) return;
  const uint64_t ms = to_uv_ms(d);
  deadline_ = uv_now(timer_->loop) + ms;
  if (deadline_ == 0) deadline_ = 1;
  // An armed timer that fires no later than the new deadline re-arms itself.
  if (armed_for_ != 0 && armed_for_ <= deadline_) return;
  uv_timer_start(timer_.get(), &DeadlineTimer::on_fire, ms, 0);
  armed_for_ = deadline_;
}

void DeadlineTimer::on_fire(uv_timer_t* t) {
  auto* self = static_cast<DeadlineTimer*>(t->data);
  self->armed_for_ = 0;
  if (self->deadline_ == 0) return;
  const uint64_t now = uv_now(t->loop);
  if (now < self->deadline_) {
    uv_timer_start(t, &DeadlineTimer::on_fire, self->deadline_ - now, 0);
    self->armed_for_ = self->deadline_;
    return;
  }
  self->deadline_ = 0;
  self->cb_(self->owner_);
}

}  // namespace lb
