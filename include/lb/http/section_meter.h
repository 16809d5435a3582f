#pragma once
// Counts the raw bytes of a message's field sections (a head, then the
// trailer section after a chunked body) against one limit, for the parts of
// a message that HeadScanner does not see. llhttp hands over names and
// values but skips whitespace and line ends without a callback, so adding up
// the lengths it reports would let a sender pad a section without bound.
// The meter counts by position instead: from where a section opens to the
// furthest byte llhttp reported, and the whole rest of a parse call while a
// section is still open at its end.
//
// Positions are only compared within one parse call: begin_call() and
// end_call() bracket every llhttp_execute.
#include <cstddef>
#include <cstdint>

namespace lb::http {

class SectionMeter {
 public:
  explicit SectionMeter(uint64_t limit) : limit_(limit) {}
  void set_limit(uint64_t limit) { limit_ = limit; }
  uint64_t limit() const { return limit_; }

  // A new message: `used` bytes already count against the limit (for a
  // request, its head, which HeadScanner measured).
  void reset(uint64_t used = 0);
  void begin_call(const char* data);
  // A section starts at `at`; nothing happens if one is open already.
  void open(const char* at);
  // llhttp reported bytes up to `pos` of the open section. False once the
  // sections of this message are over the limit.
  bool reach(const char* pos);
  // The open section ended at the last position reached.
  void close();
  // The parse call stopped at `end`. False once over the limit.
  bool end_call(const char* end);

  bool is_open() const { return open_; }
  uint64_t used() const { return used_; }

 private:
  uint64_t limit_;
  uint64_t used_ = 0;         // bytes of this message's sections before origin_
  const char* origin_ = nullptr;  // where counting resumes in this call
  const char* last_ = nullptr;    // furthest position reached in this call
  bool open_ = false;
};

}  // namespace lb::http
