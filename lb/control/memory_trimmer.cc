#include "lb/control/memory_trimmer.h"

#include <malloc.h>

#include <algorithm>

namespace lb::control {

bool should_trim(size_t free_bytes, size_t growth, size_t* baseline) {
  *baseline = std::min(*baseline, free_bytes);
  if (free_bytes < *baseline + growth) return false;
  *baseline = free_bytes;
  return true;
}

MemoryTrimmer::MemoryTrimmer(uv_loop_t* loop) {
  timer_.init(loop, uv_timer_init);
  timer_->data = this;
  uv_timer_start(timer_.get(), [](uv_timer_t* t) { static_cast<MemoryTrimmer*>(t->data)->tick(); }, 1000, 1000);
  uv_unref(reinterpret_cast<uv_handle_t*>(timer_.get()));  // never keeps the daemon alive
}

void MemoryTrimmer::tick() {
  // fordblks: bytes in free chunks, over all arenas. It still counts the
  // pages a trim gave back (they stay free chunks), hence the baseline.
  const struct mallinfo2 info = ::mallinfo2();
  if (!should_trim(info.fordblks, kTrimAfterGrowth, &baseline_)) return;
  ::malloc_trim(0);
  ++trims_;
}

}  // namespace lb::control
