#pragma once
// Gives the memory a burst took back to the kernel once the burst is over.
// glibc's free() keeps freed chunks in its arenas and returns pages only
// from the top of a heap. After 5,000 requests at once, the Exchanges,
// parsers and upstream connections they used are free but stay resident,
// held in pages by the long-lived objects allocated between them: measured,
// 24 MiB of RSS still held once those clients had gone, and given back by
// malloc_trim. (While the 5,000 stay connected, the free pieces sit between
// their connections and no whole page is free: that part stays.)
//
// Once a second the control thread reads how much the arenas hold free
// (mallinfo2) and calls malloc_trim(0), which hands every whole free page
// back, when that amount has grown by kTrimAfterGrowth since the last trim.
// Steady load, which reuses what it frees, never reaches the threshold, so
// it pays no page faults for memory given back and taken again. The cost is
// one walk of the arenas' free lists per second, and a trim per burst.
#include <uv.h>

#include <cstddef>

#include "lb/core/uv_handle.h"

namespace lb::control {

// The decision alone, for tests: trim when `free_bytes` exceeds the free
// amount left after the last trim (`*baseline`, lowered as memory is
// reused) by `growth`. Updates `*baseline`.
bool should_trim(size_t free_bytes, size_t growth, size_t* baseline);

class MemoryTrimmer {
 public:
  static constexpr size_t kTrimAfterGrowth = 8u << 20;

  explicit MemoryTrimmer(uv_loop_t* loop);
  void close() { timer_.close(); }
  size_t trims() const { return trims_; }

 private:
  void tick();

  UvHandle<uv_timer_t> timer_;
  size_t baseline_ = 0;
  size_t trims_ = 0;
};

}  // namespace lb::control
