#include "lb/http2/out_queue.h"

#include <algorithm>
#include <cstring>

namespace lb::http2 {

void OutQueue::push_ref(const BlockRef& block, const char* data, size_t len) {
  if (len == 0) return;
  bytes_ += len;
  if (!q_.empty() && q_.back().block && q_.back().block.get() == block.get()) {
    Chunk& last = q_.back();
    if (last.data + last.len == data) {
      last.len += len;  // the next bytes of the same read
      return;
    }
    q_.push_back({block, {}, data, len, true});
    return;
  }
  q_.push_back({block, {}, data, len, false});
  ++blocks_;
}

void OutQueue::push_copy(std::string_view bytes) {
  if (bytes.empty()) return;
  bytes_ += bytes.size();
  if (!q_.empty() && !q_.back().block && q_.back().copy.size() + bytes.size() <= kCopyChunk) {
    Chunk& last = q_.back();
    last.copy.append(bytes);
    last.len += bytes.size();
    return;
  }
  q_.push_back({BlockRef(), std::string(bytes), nullptr, bytes.size(), false});
  ++blocks_;
}

size_t OutQueue::read(uint8_t* out, size_t max) {
  size_t done = 0;
  while (done < max && !q_.empty()) {
    Chunk& c = q_.front();
    const size_t n = std::min(max - done, c.len);
    const char* src = c.block ? c.data : c.copy.data() + (c.copy.size() - c.len);
    std::memcpy(out + done, src, n);
    done += n;
    c.len -= n;
    if (c.block) c.data += n;
    if (c.len) break;
    if (q_.size() > 1 && q_[1].shares_prev)
      q_[1].shares_prev = false;  // the Block stays pinned by the next chunk
    else
      --blocks_;
    q_.pop_front();
  }
  bytes_ -= done;
  return done;
}

void OutQueue::clear() {
  q_.clear();
  bytes_ = 0;
  blocks_ = 0;
}

}  // namespace lb::http2
