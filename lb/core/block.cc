#include "lb/core/block.h"

namespace lb {

void BlockRef::reset() {
  if (b_ && --b_->refs == 0) b_->pool->give_back(b_);
  b_ = nullptr;
}

BlockPool::~BlockPool() {
  for (Block* b : free_) delete b;
}

BlockRef BlockPool::take() {
  Block* b;
  if (!free_.empty()) {
    b = free_.back();
    free_.pop_back();
  } else {
    b = new Block;
    b->pool = this;
  }
  ++outstanding_;
  return BlockRef(b);
}

void BlockPool::give_back(Block* b) {
  --outstanding_;
  if (free_.size() < max_cached_) {
    free_.push_back(b);
  } else {
    delete b;
  }
}

}  // namespace lb
