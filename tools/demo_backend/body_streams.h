#pragma once
// The streamed bodies of /bytes, /chunked and /sse.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "body_stream.h"

namespace demo {

// `n` bytes of 'x' in pieces of at most 64 KiB, all views of one constant
// block: a 100 GB body costs no more memory than a 1 KB one.
class ByteStream : public BodyStream {
 public:
  static constexpr size_t kPieceSize = 64 * 1024;
  explicit ByteStream(uint64_t n) : remaining_(n) {}
  bool done() const override { return remaining_ == 0; }
  std::string_view next() override;

 private:
  uint64_t remaining_;
};

// `count` pieces of `size` bytes; piece i repeats the letter 'a' + i % 26 so
// a client can tell the pieces apart and check their order.
class LetterChunks : public BodyStream {
 public:
  LetterChunks(uint64_t count, size_t size, uint64_t interval_ms)
      : BodyStream(interval_ms), count_(count), size_(size) {}
  bool done() const override { return sent_ == count_; }
  std::string_view next() override;

 private:
  uint64_t count_, sent_ = 0;
  size_t size_;
  std::string piece_;
};

// Server-sent events "data: NAME i\n\n" for i = 1..count.
class SseEvents : public BodyStream {
 public:
  SseEvents(std::string name, uint64_t count, uint64_t interval_ms)
      : BodyStream(interval_ms), name_(std::move(name)), count_(count) {}
  bool done() const override { return sent_ == count_; }
  std::string_view next() override;

 private:
  std::string name_;
  uint64_t count_, sent_ = 0;
  std::string event_;
};

}  // namespace demo
