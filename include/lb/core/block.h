#pragma once
// Read buffers. Every read lands in a Block taken from the worker's pool;
// body bytes are forwarded by reference (BlockRef) instead of copied, and a
// Block goes back to the pool when the last write that points into it is
// done. Single-threaded: each worker owns its pool, so the reference count
// is a plain integer. Idle connections hold no Block at all.
#include <cstddef>
#include <cstdint>
#include <utility>

#include "lb/core/free_list.h"

namespace lb {

class BlockPool;

struct Block {
  static constexpr size_t kSize = 64 * 1024;
  uint32_t refs = 0;
  BlockPool* pool = nullptr;
  alignas(16) char data[kSize];
};

class BlockRef {
 public:
  BlockRef() = default;
  explicit BlockRef(Block* b) : b_(b) {
    if (b_) ++b_->refs;
  }
  BlockRef(const BlockRef& o) : BlockRef(o.b_) {}
  BlockRef(BlockRef&& o) noexcept : b_(std::exchange(o.b_, nullptr)) {}
  BlockRef& operator=(BlockRef o) noexcept {
    std::swap(b_, o.b_);
    return *this;
  }
  ~BlockRef() { reset(); }
  void reset();
  Block* get() const { return b_; }
  char* data() const { return b_->data; }
  explicit operator bool() const { return b_ != nullptr; }

 private:
  Block* b_ = nullptr;
};

class BlockPool {
 public:
  explicit BlockPool(size_t max_cached = 256) : free_(max_cached) {}
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  BlockRef take();
  void give_back(Block* b);
  // Frees the cached Blocks no read needed since the previous trim (see
  // FreeList); returns the bytes freed.
  size_t trim() { return free_.trim() * sizeof(Block); }
  size_t cached() const { return free_.size(); }
  size_t outstanding() const { return outstanding_; }

 private:
  size_t outstanding_ = 0;
  FreeList<Block> free_;
};

}  // namespace lb
