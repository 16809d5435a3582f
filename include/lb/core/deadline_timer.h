#pragma once
// A one-shot timeout that is cheap to move. Connections push their timeout
// forward on nearly every event (each read re-arms the response timeout);
// doing that with uv_timer_start costs two heap operations every time.
// DeadlineTimer only records the new deadline and lets the armed uv timer
// fire early, re-arming then for the time that remains (as HAProxy's task
// expiry does). Millisecond resolution, from the loop's cached clock.
#include <uv.h>

#include <cstdint>

#include "lb/core/time.h"
#include "lb/core/uv_handle.h"

namespace lb {

class DeadlineTimer {
 public:
  using Callback = void (*)(void* owner);

  void init(uv_loop_t* loop, void* owner, Callback cb);
  // Fires `cb` once, `d` from now, unless moved or cancelled before.
  void expire_in(Duration d);
  void cancel() { deadline_ = 0; }
  bool pending() const { return deadline_ != 0; }
  void close() { timer_.close(); }

 private:
  static void on_fire(uv_timer_t* t);

  UvHandle<uv_timer_t> timer_;
  void* owner_ = nullptr;
  Callback cb_ = nullptr;
  uint64_t deadline_ = 0;   // loop ms; 0 = none
  uint64_t armed_for_ = 0;  // when the uv timer fires; 0 = not armed
};

}  // namespace lb
