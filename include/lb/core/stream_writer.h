#pragma once
// Gathers what one event-loop turn wants to send on a stream — a rewritten
// head, chunk framing, body bytes still sitting in read Blocks — and sends
// it with a single uv_write (writev) when flush() is called. Tracks the
// bytes not yet written so callers can apply back-pressure.
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lb/core/block.h"

namespace lb {

class WriteBatch;

// Recycles WriteBatch objects (and the capacity of their buffers) within one
// worker, so a steady stream of requests allocates nothing for its writes.
class WriteBatchPool {
 public:
  // Both where WriteBatch is complete (FreeList deletes its items).
  WriteBatchPool();
  ~WriteBatchPool();
  WriteBatchPool(const WriteBatchPool&) = delete;
  WriteBatchPool& operator=(const WriteBatchPool&) = delete;
  WriteBatch* take();
  void give_back(WriteBatch* b);
  // Frees the batches no write needed since the previous trim (see
  // FreeList); returns the bytes freed.
  size_t trim();

 private:
  static constexpr size_t kMaxCached = 1024;
  FreeList<WriteBatch> free_{kMaxCached};
};

// Transforms what a StreamWriter sends (TLS encryption, lb/tls). encode()
// consumes the gathered bytes of one flush and appends to `out` what goes
// on the wire, including output it produced by itself since (has_output).
class StreamEncoder {
 public:
  virtual ~StreamEncoder() = default;
  virtual void encode(const uv_buf_t* bufs, size_t count, std::string& out) = 0;
  virtual bool has_output() const = 0;
};

class StreamWriter {
 public:
  // Called after each completed write with its status (0 or a uv error).
  using DoneFn = void (*)(void* owner, int status);

  StreamWriter() = default;
  ~StreamWriter();
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;

  // `pool` may be null (batches are then allocated per write).
  void attach(uv_stream_t* stream, void* owner, DoneFn done, WriteBatchPool* pool = nullptr) {
    stream_ = stream;
    owner_ = owner;
    done_ = done;
    pool_ = pool;
  }

  // Everything flushed from now on passes through `e` (null: sent as is).
  void set_encoder(StreamEncoder* e) { encoder_ = e; }

  // Copies `bytes` (heads, framing).
  void append_copy(std::string_view bytes);
  // References `len` bytes at `p` inside `block` (body data).
  void append_ref(const BlockRef& block, const char* p, size_t len);

  // Sends everything gathered; returns a uv error (then nothing was queued).
  int flush();
  // Drops everything gathered but not flushed.
  void discard();
  // Drops what was gathered after the first `gathered_bytes` (a response
  // head the client must never see, when nothing was flushed since).
  void rollback(size_t gathered_bytes);

  size_t gathered() const;            // appended, not flushed
  size_t in_flight() const { return in_flight_; }  // flushed, not yet written
  size_t pending() const { return gathered() + in_flight_; }
  bool idle() const { return in_flight_ == 0 && gathered() == 0; }
  // Read Blocks referenced by what is gathered or in flight: the memory
  // pending() really holds (a 100-byte slice can pin a 64 KiB Block).
  size_t blocks_held() const;
  // Every byte ever handed to the stream (flushed), for "was anything sent since?".
  uint64_t flushed() const { return flushed_; }

 private:
  static void on_write(uv_write_t* req, int status);
  WriteBatch& current();
  void encode_batch();

  uv_stream_t* stream_ = nullptr;
  void* owner_ = nullptr;
  DoneFn done_ = nullptr;
  WriteBatchPool* pool_ = nullptr;
  WriteBatch* batch_ = nullptr;  // being gathered
  StreamEncoder* encoder_ = nullptr;
  size_t in_flight_ = 0;
  size_t blocks_in_flight_ = 0;
  uint64_t flushed_ = 0;
  int writes_in_flight_ = 0;
};

}  // namespace lb
