// The SSE boundary tracker (lb/http/sse_events.h) against a reference SSE
// parser: lbd inserts ": keepalive" comments wherever the tracker says the
// stream is between events, and a client must then see exactly the events
// it would have seen without them — same types, same data, same order.
// A heartbeat inside an event would change its data or split it. Reads are
// cut where the input says; the event count must not depend on the cuts.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_check.h"
#include "lb/http/sse_events.h"

namespace {

using Events = std::vector<std::pair<std::string, std::string>>;  // (type, data)

// The WHATWG event-stream interpretation, cut down to what a client sees.
Events parse_like_a_browser(const std::string& stream) {
  Events out;
  std::string type, data, line;
  auto end_line = [&] {
    if (line.empty()) {
      if (!data.empty()) {
        data.pop_back();  // the last "\n"
        out.emplace_back(type.empty() ? "message" : type, data);
      }
      type.clear();
      data.clear();
      return;
    }
    if (line[0] != ':') {
      const size_t colon = line.find(':');
      std::string field = line.substr(0, colon);
      std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
      if (field == "event") type = value;
      if (field == "data") data += value + "\n";
    }
    line.clear();
  };
  for (size_t i = 0; i < stream.size(); ++i) {
    const char c = stream[i];
    if (c == '\r') {
      end_line();
      if (i + 1 < stream.size() && stream[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      end_line();
    } else {
      line += c;
    }
  }
  return out;  // an unfinished event at the end is not dispatched
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string stream(reinterpret_cast<const char*>(data), size);
  const std::vector<size_t> cuts = lb::fuzz::read_cuts(data, size);

  lb::http::SseEvents tracker;
  std::string with_heartbeats;
  size_t at = 0;
  for (size_t piece : cuts) {
    // What the heartbeat timer may do before each read: insert a comment.
    if (tracker.at_boundary()) with_heartbeats += ": keepalive\n\n";
    tracker.feed(stream.data() + at, piece);
    with_heartbeats.append(stream, at, piece);
    at += piece;
  }
  if (tracker.at_boundary()) with_heartbeats += ": keepalive\n\n";

  lb::http::SseEvents whole;
  whole.feed(stream.data(), stream.size());
  FUZZ_CHECK(whole.events() == tracker.events());
  FUZZ_CHECK(whole.at_boundary() == tracker.at_boundary());
  FUZZ_CHECK(parse_like_a_browser(with_heartbeats) == parse_like_a_browser(stream));
  return 0;
}
