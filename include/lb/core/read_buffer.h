#pragma once
// Where the successive reads of one stream land. Each read goes into the
// unused tail of the current Block instead of a Block of its own, so bytes
// that arrive in many small reads (1-byte segments, 100-byte SSE events)
// share Blocks: what a connection holds is close to what it received, not
// one 64 KiB Block per read. Slices handed out keep their Block alive by
// reference; bytes already written to the Block are never touched again,
// so a Block can be shared by its readers and still be appended to.
#include <uv.h>

#include <cstddef>

#include "lb/core/block.h"

namespace lb {

class ReadBuffer {
 public:
  // Less room than this left in the current Block: the next read takes a
  // fresh one (a read into a tiny tail would mostly cost a syscall).
  static constexpr size_t kMinReadRoom = 4 * 1024;

  // Room for the next read: the current Block's tail, or the start of the
  // current Block when nobody else holds it (everything in it was used),
  // or a fresh Block from `pool`.
  uv_buf_t offer(BlockPool& pool);
  // `n` bytes were read into the last offer; returns where they are.
  char* commit(size_t n);
  // The Block the last committed bytes are in.
  const BlockRef& block() const { return block_; }
  // Lets go of the current Block if nobody else holds a slice of it: once
  // every byte was written on, a quiet connection holds no Block at all.
  void release_if_unshared() {
    if (block_ && block_.get()->refs == 1) reset();
  }
  // Lets go of the current Block (others holding slices keep it alive).
  void reset() {
    block_.reset();
    used_ = 0;
  }

 private:
  BlockRef block_;
  size_t used_ = 0;  // bytes of block_ handed out so far
};

}  // namespace lb
