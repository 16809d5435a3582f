#include "lb/http/head_scanner.h"

#include <cstring>

namespace lb::http {

void HeadScanner::reset() {
  bytes_ = 0;
  done_ = false;
  saw_cr_ = false;
  line_empty_ = true;
  before_start_ = true;
  in_request_line_ = false;
  prev_ = 0;
  spaces_ = 0;
  std::memset(tail_, 0, sizeof tail_);
}

namespace {

constexpr char kVersionPrefix[] = "HTTP/1.";

// Inside a header line only these bytes need a closer look.
struct SpecialBytes {
  bool table[256] = {};
  constexpr SpecialBytes() {
    table[uint8_t('\r')] = table[uint8_t('\n')] = table[0] = true;
  }
};
constexpr SpecialBytes kSpecial;

}  // namespace

HeadScanner::Verdict HeadScanner::scan(char* data, size_t len, size_t* consumed) {
  if (done_) {
    *consumed = 0;
    return Verdict::head_done;
  }
  for (size_t i = 0; i < len; ++i) {
    if (!line_empty_ && !in_request_line_ && !saw_cr_) {
      // Fast path through the middle of a header line.
      size_t j = i;
      while (j < len && !kSpecial.table[uint8_t(data[j])]) ++j;
      bytes_ += j - i;
      if (bytes_ > max_bytes_) {
        *consumed = j - size_t(bytes_ - max_bytes_);  // the first byte over the limit, as below
        return Verdict::too_large;
      }
      i = j;
      if (i == len) break;
    }
    const char c = data[i];
    *consumed = i;
    if (++bytes_ > max_bytes_) return Verdict::too_large;
    if (saw_cr_) {
      if (c != '\n') return Verdict::malformed;  // bare CR
      saw_cr_ = false;
      in_request_line_ = false;
      if (line_empty_) {
        if (before_start_) continue;  // RFC 9112 §2.2: ignore a CRLF before the request line
        done_ = true;
        *consumed = i + 1;
        return Verdict::head_done;
      }
      line_empty_ = true;
      continue;
    }
    switch (c) {
      case '\r':
        saw_cr_ = true;
        continue;
      case '\n':  // bare LF
      case '\0':
        return Verdict::malformed;
      case ' ':
      case '\t':
        // A header line that starts with whitespace is obs-fold (RFC 9112 §5.2).
        if (line_empty_ && !before_start_) return Verdict::malformed;
        break;
      default:
        break;
    }
    if (before_start_) in_request_line_ = true;
    if (in_request_line_) {
      // method SP target SP version: exactly one SP between parts, no HTAB.
      if (c == '\t' || (c == ' ' && (prev_ == ' ' || prev_ == 0))) return Verdict::malformed;
      if (c == ' ') ++spaces_;
      // Only the version (after the second space) is repaired, never the target.
      if (spaces_ == 2 && c > '1' && c <= '9' && std::memcmp(tail_, kVersionPrefix, sizeof tail_) == 0) data[i] = '1';
      std::memmove(tail_, tail_ + 1, sizeof tail_ - 1);
      tail_[sizeof tail_ - 1] = c;
      prev_ = c;
    }
    line_empty_ = false;
    before_start_ = false;
  }
  *consumed = len;
  return Verdict::need_more;
}

}  // namespace lb::http
