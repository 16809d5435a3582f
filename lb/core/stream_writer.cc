#include "lb/core/stream_writer.h"

#include <algorithm>

namespace lb {

// One uv_write: owned bytes plus referenced block slices, in order.
class WriteBatch {
 public:
  struct Segment {
    BlockRef block;   // empty: the bytes are in `owned` at `offset`
    const char* ptr;  // block slice start
    size_t offset;
    size_t len;
  };

  uv_write_t req{};
  std::string owned;
  std::vector<Segment> segments;
  std::vector<uv_buf_t> bufs;
  size_t bytes = 0;
  size_t blocks = 0;                  // distinct Blocks referenced (runs of one Block count once)
  const Block* last_block = nullptr;  // of the last referenced slice
  StreamWriter* writer = nullptr;
  WriteBatchPool* pool = nullptr;  // where it returns after the write

  void add_owned(std::string_view b) {
    if (b.empty()) return;
    // Extend the previous owned segment when it is the last one.
    if (!segments.empty() && !segments.back().block && segments.back().offset + segments.back().len == owned.size()) {
      segments.back().len += b.size();
    } else {
      segments.push_back({BlockRef(), nullptr, owned.size(), b.size()});
    }
    owned.append(b);
    bytes += b.size();
  }

  void add_ref(const BlockRef& block, const char* p, size_t len) {
    bytes += len;
    if (!segments.empty()) {
      Segment& last = segments.back();
      if (last.block.get() == block.get() && last.ptr + last.len == p) {
        last.len += len;  // continues the previous slice
        return;
      }
    }
    segments.push_back({block, p, 0, len});
    if (block.get() != last_block) {
      ++blocks;
      last_block = block.get();
    }
  }

  // Drops everything past the first `keep` bytes.
  void truncate(size_t keep) {
    while (bytes > keep) {
      Segment& last = segments.back();
      const size_t drop = std::min(last.len, bytes - keep);
      last.len -= drop;
      bytes -= drop;
      if (!last.block) owned.resize(last.offset + last.len);
      if (last.len == 0) segments.pop_back();
    }
    blocks = 0;
    last_block = nullptr;
    for (const Segment& seg : segments)
      if (seg.block && seg.block.get() != last_block) {
        ++blocks;
        last_block = seg.block.get();
      }
  }

  void build_bufs() {
    bufs.clear();
    for (const Segment& s : segments) {
      const char* p = s.block ? s.ptr : owned.data() + s.offset;
      bufs.push_back(uv_buf_init(const_cast<char*>(p), unsigned(s.len)));
    }
  }

  void reset() {
    owned.clear();
    segments.clear();
    bufs.clear();
    bytes = 0;
    blocks = 0;
    last_block = nullptr;
  }
};

WriteBatchPool::WriteBatchPool() = default;
WriteBatchPool::~WriteBatchPool() = default;

size_t WriteBatchPool::trim() { return free_.trim() * sizeof(WriteBatch); }

WriteBatch* WriteBatchPool::take() {
  WriteBatch* b = free_.pop();
  return b ? b : new WriteBatch;
}

void WriteBatchPool::give_back(WriteBatch* b) {
  b->reset();
  if (b->owned.capacity() > 64 * 1024 || !free_.push(b)) delete b;
}

namespace {
void release_batch(WriteBatch* b) {
  if (b->pool) b->pool->give_back(b);
  else delete b;
}
}  // namespace

StreamWriter::~StreamWriter() {
  // Writes in flight belong to libuv until their callback, which runs
  // (cancelled) before the stream's close callback frees this writer.
  if (batch_) release_batch(batch_);
}

WriteBatch& StreamWriter::current() {
  if (!batch_) {
    batch_ = pool_ ? pool_->take() : new WriteBatch;
    batch_->writer = this;
    batch_->pool = pool_;
  }
  return *batch_;
}

void StreamWriter::append_copy(std::string_view bytes) { current().add_owned(bytes); }

void StreamWriter::append_ref(const BlockRef& block, const char* p, size_t len) {
  if (len == 0) return;
  current().add_ref(block, p, len);
}

size_t StreamWriter::gathered() const { return batch_ ? batch_->bytes : 0; }

size_t StreamWriter::blocks_held() const { return (batch_ ? batch_->blocks : 0) + blocks_in_flight_; }

void StreamWriter::rollback(size_t gathered_bytes) {
  if (batch_ && batch_->bytes > gathered_bytes) batch_->truncate(gathered_bytes);
}

void StreamWriter::discard() {
  if (batch_) batch_->reset();
}

// Replaces the gathered batch by its encoded form (one owned segment).
void StreamWriter::encode_batch() {
  const bool have_plain = batch_ && batch_->bytes > 0;
  if (!have_plain && !encoder_->has_output()) return;
  WriteBatch* plain = batch_;
  batch_ = nullptr;
  WriteBatch& out = current();
  if (have_plain) plain->build_bufs();
  encoder_->encode(have_plain ? plain->bufs.data() : nullptr, have_plain ? plain->bufs.size() : 0, out.owned);
  if (plain) release_batch(plain);
  if (!out.owned.empty()) out.segments.push_back({BlockRef(), nullptr, 0, out.owned.size()});
  out.bytes = out.owned.size();
}

int StreamWriter::flush() {
  if (encoder_ && stream_) encode_batch();
  if (!batch_ || batch_->bytes == 0 || !stream_) return 0;
  WriteBatch* b = batch_;
  b->build_bufs();
  // Try the write now. When the socket takes it all (the usual case) no
  // uv_write_t is queued, so libuv does not re-register the socket with
  // epoll after the write completes: that saves an epoll_ctl per write.
  if (writes_in_flight_ == 0) {
    const int n = uv_try_write(stream_, b->bufs.data(), unsigned(b->bufs.size()));
    if (n < 0 && n != UV_EAGAIN) {
      batch_ = nullptr;
      release_batch(b);
      return n;
    }
    size_t written = n > 0 ? size_t(n) : 0;
    flushed_ += written;
    if (written == b->bytes) {
      // Done. The batch goes back to the worker's pool rather than staying
      // with this connection: an idle connection holds no buffers.
      batch_ = nullptr;
      release_batch(b);
      return 0;
    }
    // Partly written: queue the rest.
    size_t skip = 0;
    while (written >= b->bufs[skip].len) written -= b->bufs[skip++].len;
    b->bufs.erase(b->bufs.begin(), b->bufs.begin() + long(skip));
    b->bufs.front().base += written;
    b->bufs.front().len -= written;
    b->bytes = 0;
    for (const uv_buf_t& buf : b->bufs) b->bytes += buf.len;
  }
  b->req.data = b;
  const int rc = uv_write(&b->req, stream_, b->bufs.data(), unsigned(b->bufs.size()), &StreamWriter::on_write);
  if (rc != 0) {
    b->reset();
    return rc;
  }
  batch_ = nullptr;
  in_flight_ += b->bytes;
  flushed_ += b->bytes;
  blocks_in_flight_ += b->blocks;
  ++writes_in_flight_;
  return 0;
}

void StreamWriter::on_write(uv_write_t* req, int status) {
  auto* b = static_cast<WriteBatch*>(req->data);
  StreamWriter* w = b->writer;
  const size_t bytes = b->bytes;
  const size_t blocks = b->blocks;
  release_batch(b);
  if (!w) return;
  w->in_flight_ -= bytes;
  w->blocks_in_flight_ -= blocks;
  --w->writes_in_flight_;
  if (w->done_) w->done_(w->owner_, status);
}

}  // namespace lb
