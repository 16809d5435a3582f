#include "lb/http/sse_events.h"

namespace lb::http {

size_t SseEvents::feed(const char* data, size_t len) {
  size_t ended = 0;
  for (size_t i = 0; i < len; ++i) {
    const char c = data[i];
    if (c == '\n' && after_cr_) {  // the LF of a CRLF: the line already ended
      after_cr_ = false;
      continue;
    }
    after_cr_ = c == '\r';
    if (c == '\n' || c == '\r') {
      if (line_empty_) {
        // An empty line: dispatches the event, if one was under way.
        if (in_event_) {
          in_event_ = false;
          ++ended;
        }
      }
      at_line_start_ = true;
      line_empty_ = true;
      continue;
    }
    at_line_start_ = false;
    line_empty_ = false;
    in_event_ = true;
  }
  events_ += ended;
  return ended;
}

}  // namespace lb::http
