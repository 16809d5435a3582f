#include "lb/proxy/sse_stream.h"

#include <strings.h>

namespace lb::proxy {

bool SseStream::is_event_stream(const http::ResponseHead& head) {
  const auto type = head.headers.find("content-type");
  if (!type) return false;
  constexpr std::string_view kType = "text/event-stream";
  std::string_view v = *type;
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  if (v.size() < kType.size() || strncasecmp(v.data(), kType.data(), kType.size()) != 0) return false;
  v.remove_prefix(kType.size());
  return v.empty() || v.front() == ';' || v.front() == ' ' || v.front() == '\t';
}

std::optional<Duration> SseStream::on_body(const char* data, size_t len, TimePoint now) {
  if (len == 0) return std::nullopt;
  const char last = data[len - 1];
  line_open_ = last != '\n' && last != '\r';
  if (events_.feed(data, len) == 0) return std::nullopt;
  const Duration gap = std::chrono::duration_cast<Duration>(now - last_event_at_);
  last_event_at_ = now;
  return gap;
}

std::string SseStream::closing_event(std::string_view reason, int retry_ms) const {
  std::string out;
  if (!events_.at_boundary()) {
    // Inside an event: end its line, then the event, so the error below is
    // an event of its own.
    // After a lone CR the client takes an LF as the rest of that CRLF.
    if (line_open_ || events_.after_cr()) out += '\n';
    out += '\n';
  }
  if (retry_ms > 0) out += "retry: " + std::to_string(retry_ms) + "\n";
  out += "event: error\ndata: {\"error\": \"";
  out += reason;
  out += "\"}\n\n";
  return out;
}

}  // namespace lb::proxy
