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

  void push(const BlockRef& block, char* data, size_t len);
  bool empty() const { return head_ == slices_.size(); }
  // Removes and returns the oldest slice.
  Slice pop();
  // Puts back what was left of the slice just popped (O(1) after a pop).
  void push_front(Slice s);
  void clear();

  size_t bytes() const { return bytes_; }
  // Distinct Blocks referenced (consecutive slices of one Block count once).
  size_t blocks() const { return blocks_; }

 private:
  // A vector read from head_ on: O(1) pops, no allocation while empty
  // (std::deque allocates a chunk up front, per idle connection).
  std::vector<Slice> slices_;
  size_t head_ = 0;
  size_t bytes_ = 0;
  size_t blocks_ = 0;
};

}  // namespace lb
