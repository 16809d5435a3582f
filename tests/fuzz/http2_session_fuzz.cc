// lb::http2::Session fed arbitrary client bytes, answering every request it
// reports (relayed body, lbd's own answer, or a reset, picked by the stream
// id) so both directions run: nghttp2's framing and HPACK, our header and
// flow-control handling, the budgets, the response queues. The first byte
// chooses whether the valid client preface and SETTINGS go first (most
// mutations would otherwise die at the preface) and a few limits; read
// sizes come from fuzz::read_cuts. Checked: no crash, no UB, no leak, every
// Block given back once the session is gone, and the session's own counts
// agree with what the events said.
#include <cstdint>
#include <cstring>
#include <set>
#include <string>

#include "fuzz_check.h"
#include "lb/core/block.h"
#include "lb/http2/session.h"

namespace {

using namespace lb;

class Answerer : public http2::SessionEvents {
 public:
  http2::Session* s = nullptr;
  std::set<int32_t> open;
  BlockRef last_block;

  void on_request(int32_t id, http::RequestHead& head, bool end_stream) override {
    FUZZ_CHECK(open.insert(id).second);
    FUZZ_CHECK(head.major == 1 && head.minor == 1 && head.headers.find(http::FieldId::host));
    switch ((id >> 1) % 4) {
      case 0: {
        http::ResponseHead r;
        r.status = 200;
        r.headers.add("Content-Type", "text/plain");
        r.headers.add("Connection", "close");
        s->submit_response(id, r, nullptr, false);
        s->submit_data_copy(id, head.url);
        if (last_block) s->submit_data(id, last_block, last_block.data(), 100);
        if (end_stream) s->submit_end(id);
        break;
      }
      case 1:
        s->submit_fixed(id, 503, "Retry-After: 1\r\nConnection: close\r\n", "503 Service Unavailable\n", false);
        break;
      case 2:
        s->reset_stream(id, 8);
        break;
      default:
        break;  // answered when the body ends
    }
  }
  void on_request_data(int32_t id, const BlockRef& block, const char* data, size_t len) override {
    FUZZ_CHECK(open.count(id));
    FUZZ_CHECK(block && data >= block.data() && data + len <= block.data() + Block::kSize);
    last_block = block;
    s->consume(id, len);
    s->submit_data(id, block, data, len);  // echo, where a response was started
  }
  void on_request_end(int32_t id) override {
    FUZZ_CHECK(open.count(id));
    if ((id >> 1) % 4 == 3) s->submit_fixed(id, 204, {}, {}, false);
    s->submit_end(id);
  }
  void on_stream_closed(int32_t id, uint32_t) override { FUZZ_CHECK(open.erase(id) == 1); }
  void on_stream_writable(int32_t id) override { FUZZ_CHECK(open.count(id)); }
};

const char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\4\0\0\0\0\0";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  ++data;
  --size;
  BlockPool pool;
  {
    Answerer ev;
    http2::SessionLimits lim;
    lim.max_concurrent_streams = 1 + (mode >> 4);  // small, so the limits are in reach
    lim.initial_window = (mode & 2) ? 1024 : 65535;
    lim.max_header_list_bytes = (mode & 4) ? 512 : 16384;
    http2::Session s(ev, lim);
    ev.s = &s;
    std::string in;
    if (mode & 1) in.assign(kPreface, sizeof kPreface - 1);
    in.append(reinterpret_cast<const char*>(data), size);
    size_t off = 0;
    bool alive = true;
    for (size_t piece : fuzz::read_cuts(reinterpret_cast<const uint8_t*>(in.data()), in.size())) {
      BlockRef b = pool.take();
      const size_t n = std::min(piece, Block::kSize);
      std::memcpy(b.data(), in.data() + off, n);
      off += piece;
      if (alive) alive = s.feed(b, b.data(), n);
      std::string out;
      s.write_to(out, (mode & 8) ? 100 : 1 << 20);
      FUZZ_CHECK(s.open_streams() >= ev.open.size());
      if (!alive) FUZZ_CHECK(s.reason() != http2::GoawayReason::none);
      if (mode & 32) s.shutdown_gracefully();
    }
    std::string out;
    for (int i = 0; i < 64 && s.wants_write(); ++i) s.write_to(out, 1 << 20);
    if (!alive) FUZZ_CHECK(s.finished());
    ev.last_block.reset();
  }
  FUZZ_CHECK(pool.outstanding() == 0);
  return 0;
}
