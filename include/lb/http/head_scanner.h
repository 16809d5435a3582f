#pragma once
// A byte-level check of a request head that llhttp 8.1 does not make even
// in strict mode (DESIGN.md "llhttp as Debian ships it"): every line ends in
// CRLF (no bare CR or LF), no NUL byte, no obs-fold continuation line, and
// the head fits max_header_bytes, and the request line has single spaces
// between its three parts. It sees the same bytes as llhttp, up to the
// blank line that ends the head, and then stands aside until reset().
//
// One repair instead of a refusal: "HTTP/1.x" with x > 1 is rewritten in
// place to HTTP/1.1 before llhttp (which refuses it) sees it, because
// RFC 9112 §2.3 says to serve a higher minor version as the highest we know.
#include <cstddef>
#include <cstdint>

namespace lb::http {

class HeadScanner {
 public:
  enum class Verdict { need_more, head_done, malformed, too_large };

  explicit HeadScanner(uint64_t max_bytes = 32 * 1024) : max_bytes_(max_bytes) {}
  void set_limit(uint64_t max_bytes) { max_bytes_ = max_bytes; }
  void reset();

  // Scans data[0..len). On head_done, *consumed is the offset just past the
  // blank line; otherwise it equals len (or the offending byte's offset).
  Verdict scan(char* data, size_t len, size_t* consumed);
  bool done() const { return done_; }
  // Bytes of the head seen so far (all of it once done()).
  uint64_t bytes() const { return bytes_; }

 private:
  uint64_t max_bytes_;
  uint64_t bytes_ = 0;
  bool done_ = false;
  bool saw_cr_ = false;
  bool line_empty_ = true;   // nothing yet on the current line
  bool before_start_ = true; // still skipping empty lines before the request line
  bool in_request_line_ = false;
  char prev_ = 0;             // previous byte of the request line
  int spaces_ = 0;            // spaces seen in the request line
  char tail_[7] = {};          // last bytes of the request line, to spot "HTTP/1."
};

}  // namespace lb::http
