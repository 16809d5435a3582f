#pragma once
// Bytes read and not yet consumed, as a FIFO of slices of read Blocks
// (pipelined requests wait here while the one before is answered). Slices
// that continue each other inside one Block are merged, and the queue
// counts the Blocks it holds as well as the bytes, so a limit can bound
// what is held rather than what is used: many small reads land in one
// Block (see ReadBuffer), and the count stays honest if they do not.
#include <cstddef>
#include <vector>

#include "lb/core/block.h"

namespace lb {

class SliceQueue {
 public:
  struct Slice {
    BlockRef block;
    char* data;  // inside block
    size_t len;
  };

  SliceQueue() = default;
  // A moved-from queue is empty (the default move would leave first_.len).
  SliceQueue(SliceQueue&& other) noexcept { *this = std::move(other); }
  SliceQueue& operator=(SliceQueue&& other) noexcept;

  void push(const BlockRef& block, char* data, size_t len);
  bool empty() const { return first_.len == 0; }
  // Removes and returns the oldest slice.
  Slice pop();
  // Puts back what was left of the slice just popped (O(1) after a pop).
  void push_front(Slice s);
  void clear();

  size_t bytes() const { return bytes_; }
  // Distinct Blocks referenced (consecutive slices of one Block count once).
  size_t blocks() const { return blocks_; }

 private:
  bool rest_empty() const { return head_ == rest_.size(); }

  // The oldest slice lives in the queue itself (len 0: the queue is empty),
  // so one request at a time never allocates: an idle connection's queue
  // owns no heap memory unless its client once pipelined, or after a burst
  // each would pin a heap page full of freed request state. The slices
  // behind it (pipelining) are a vector read from head_ on: O(1) pops.
  Slice first_{};
  std::vector<Slice> rest_;
  size_t head_ = 0;
  size_t bytes_ = 0;
  size_t blocks_ = 0;
};

}  // namespace lb
