#pragma once
// One stream's response bytes waiting for the client's flow-control window.
// Bytes relayed from the backend stay in their read Blocks (referenced, not
// copied) until a DATA frame takes them, so the queue counts the Blocks it
// pins as well as the bytes: the owner stops reading the backend above its
// high-water mark, which is what bounds this queue (see session.h). Copies
// (submit_data_copy: SSE comments, chunk re-framing) are kept in strings;
// consecutive copies share one string and each such string counts as a Block.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "lb/core/block.h"

namespace lb::http2 {

class OutQueue {
 public:
  void push_ref(const BlockRef& block, const char* data, size_t len);
  void push_copy(std::string_view bytes);
  // Moves up to `max` bytes into `out`; returns how many.
  size_t read(uint8_t* out, size_t max);
  void clear();
  bool empty() const { return bytes_ == 0; }
  size_t bytes() const { return bytes_; }
  size_t blocks() const { return blocks_; }

 private:
  static constexpr size_t kCopyChunk = 16 * 1024;  // copies gathered into one string up to this size
  struct Chunk {
    BlockRef block;     // empty for a copy
    std::string copy;   // a copy's bytes; the unread ones are its last `len`
    const char* data;   // a reference's unread bytes
    size_t len;
    bool shares_prev;   // same Block as the chunk before: not counted again
  };
  std::deque<Chunk> q_;
  size_t bytes_ = 0;
  size_t blocks_ = 0;
};

}  // namespace lb::http2
