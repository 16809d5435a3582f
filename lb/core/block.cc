#include "lb/core/block.h"

namespace lb {

void BlockRef::reset() {
  if (b_ && --b_->refs == 0) b_->pool->give_back(b_);
  b_ = nullptr;
}

BlockRef BlockPool::take() {
  Block* b = free_.pop();
  if (!b) {
    b = new Block;
    b->pool = this;
  }
  ++outstanding_;
  return BlockRef(b);
}

void BlockPool::give_back(Block* b) {
  --outstanding_;
  if (!free_.push(b)) delete b;
}

}  // namespace lb
