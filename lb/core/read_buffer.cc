#include "lb/core/read_buffer.h"

namespace lb {

uv_buf_t ReadBuffer::offer(BlockPool& pool) {
  if (block_ && block_.get()->refs == 1) used_ = 0;  // only we hold it: start over
  if (!block_ || Block::kSize - used_ < kMinReadRoom) {
    block_ = pool.take();
    used_ = 0;
  }
  return uv_buf_init(block_.data() + used_, unsigned(Block::kSize - used_));
}

char* ReadBuffer::commit(size_t n) {
  char* at = block_.data() + used_;
  used_ += n;
  return at;
}

}  // namespace lb
