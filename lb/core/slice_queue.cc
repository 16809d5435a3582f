#include "lb/core/slice_queue.h"

namespace lb {

void SliceQueue::push(const BlockRef& block, char* data, size_t len) {
  if (len == 0) return;
  bytes_ += len;
  if (!empty()) {
    Slice& last = slices_.back();
    if (last.block.get() == block.get()) {
      if (last.data + last.len == data) {
        last.len += len;  // the next bytes of the same read stream
        return;
      }
      slices_.push_back({block, data, len});
      return;
    }
  }
  slices_.push_back({block, data, len});
  ++blocks_;
}

SliceQueue::Slice SliceQueue::pop() {
  Slice s = std::move(slices_[head_++]);
  bytes_ -= s.len;
  if (empty()) {
    slices_.clear();  // keeps the capacity: the next request reuses it
    head_ = 0;
    --blocks_;
  } else {
    if (slices_[head_].block.get() != s.block.get()) --blocks_;
    if (head_ >= 64 && head_ * 2 >= slices_.size()) {  // drop the consumed front, amortised O(1)
      slices_.erase(slices_.begin(), slices_.begin() + long(head_));
      head_ = 0;
    }
  }
  return s;
}

void SliceQueue::push_front(Slice s) {
  if (s.len == 0) return;
  bytes_ += s.len;
  if (empty() || slices_[head_].block.get() != s.block.get()) ++blocks_;
  if (head_ > 0) {
    slices_[--head_] = std::move(s);
  } else {
    slices_.insert(slices_.begin(), std::move(s));
  }
}

void SliceQueue::clear() {
  slices_.clear();
  head_ = 0;
  bytes_ = 0;
  blocks_ = 0;
}

}  // namespace lb
