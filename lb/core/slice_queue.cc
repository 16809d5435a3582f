#include "lb/core/slice_queue.h"

#include <utility>

namespace lb {

SliceQueue& SliceQueue::operator=(SliceQueue&& other) noexcept {
  if (this == &other) return *this;
  first_ = std::exchange(other.first_, {});
  rest_ = std::move(other.rest_);
  head_ = std::exchange(other.head_, 0);
  bytes_ = std::exchange(other.bytes_, 0);
  blocks_ = std::exchange(other.blocks_, 0);
  other.rest_.clear();
  return *this;
}

void SliceQueue::push(const BlockRef& block, char* data, size_t len) {
  if (len == 0) return;
  bytes_ += len;
  if (empty()) {
    first_ = {block, data, len};
    ++blocks_;
    return;
  }
  Slice& last = rest_empty() ? first_ : rest_.back();
  if (last.block.get() == block.get()) {
    if (last.data + last.len == data) {
      last.len += len;  // the next bytes of the same read stream
      return;
    }
  } else {
    ++blocks_;
  }
  rest_.push_back({block, data, len});
}

SliceQueue::Slice SliceQueue::pop() {
  Slice s = std::move(first_);
  bytes_ -= s.len;
  if (rest_empty()) {
    first_ = {};
    rest_.clear();  // keeps the capacity a pipelining client needed
    head_ = 0;
    --blocks_;
    return s;
  }
  first_ = std::move(rest_[head_++]);
  if (first_.block.get() != s.block.get()) --blocks_;
  if (rest_empty()) {
    rest_.clear();
    head_ = 0;
  } else if (head_ >= 64 && head_ * 2 >= rest_.size()) {  // drop the consumed front, amortised O(1)
    rest_.erase(rest_.begin(), rest_.begin() + long(head_));
    head_ = 0;
  }
  return s;
}

void SliceQueue::push_front(Slice s) {
  if (s.len == 0) return;
  bytes_ += s.len;
  if (empty()) {
    first_ = std::move(s);
    ++blocks_;
    return;
  }
  if (first_.block.get() != s.block.get()) ++blocks_;
  if (head_ > 0) {
    rest_[--head_] = std::move(first_);
  } else {
    rest_.insert(rest_.begin(), std::move(first_));
  }
  first_ = std::move(s);
}

void SliceQueue::clear() {
  first_ = {};
  rest_.clear();
  head_ = 0;
  bytes_ = 0;
  blocks_ = 0;
}

}  // namespace lb
