#include "body_streams.h"

#include <algorithm>

namespace demo {

std::string_view ByteStream::next() {
  static const std::string block(kPieceSize, 'x');
  size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, kPieceSize));
  remaining_ -= n;
  return std::string_view(block).substr(0, n);
}

std::string_view LetterChunks::next() {
  piece_.assign(size_, static_cast<char>('a' + sent_ % 26));
  ++sent_;
  return piece_;
}

std::string_view SseEvents::next() {
  ++sent_;
  event_ = "data: " + name_ + " " + std::to_string(sent_) + "\n\n";
  return event_;
}

}  // namespace demo
