#pragma once
// Test side of an HTTP/2 connection to lb::http2::Session: a real nghttp2
// client session, raw frame builders for what no well-behaved client sends,
// and the events the Session reports, recorded.
#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lb/core/block.h"
#include "lb/http2/session.h"

namespace lb::http2::test {

using Fields = std::vector<std::pair<std::string, std::string>>;

struct RecordedRequest {
  std::string method, url;
  int major = 0, minor = 0;
  bool keep_alive = false, chunked = false, end_stream = false, ended = false;
  std::optional<uint64_t> content_length;
  Fields fields;
  std::string body;
  bool closed = false;
  uint32_t close_code = 0;
};

class Recorder : public SessionEvents {
 public:
  std::map<int32_t, RecordedRequest> req;
  std::vector<int32_t> writable;
  Session* session = nullptr;
  bool respond_404_at_once = false;

  void on_request(int32_t id, http::RequestHead& head, bool end_stream) override {
    RecordedRequest& r = req[id];
    r.method = std::string(head.method_name());
    r.url = head.url;
    r.major = head.major;
    r.minor = head.minor;
    r.keep_alive = head.keep_alive;
    r.chunked = head.chunked;
    r.content_length = head.content_length;
    r.end_stream = end_stream;
    for (size_t i = 0; i < head.headers.size(); ++i)
      r.fields.emplace_back(std::string(head.headers.name(i)), std::string(head.headers.value(i)));
    if (respond_404_at_once && session) session->submit_fixed(id, 404, {}, "404 Not Found\n", false);
  }
  void on_request_data(int32_t id, const BlockRef& block, const char* data, size_t len) override {
    EXPECT_TRUE(block) << "request DATA comes with the Block it sits in";
    if (block) {
      EXPECT_GE(data, block.data());
      EXPECT_LE(data + len, block.data() + Block::kSize);
    }
    req[id].body.append(data, len);
  }
  void on_request_end(int32_t id) override { req[id].ended = true; }
  void on_stream_closed(int32_t id, uint32_t code) override {
    req[id].closed = true;
    req[id].close_code = code;
  }
  void on_stream_writable(int32_t id) override { writable.push_back(id); }

  std::string field(int32_t id, std::string_view name) {
    std::string out;
    size_t n = 0;
    for (auto& [k, v] : req[id].fields)
      if (k == name) out += (n++ ? "|" : "") + v;
    return out;
  }
};

// One response as the client saw it.
struct Response {
  int status = 0;
  Fields fields;
  std::string body;
  bool closed = false;
  uint32_t close_code = 0;
  std::string field(std::string_view name) const {
    for (auto& [k, v] : fields)
      if (k == name) return v;
    return "<none>";
  }
  bool has(std::string_view name) const {
    for (auto& [k, v] : fields)
      if (k == name) return true;
    return false;
  }
};

class Client {
 public:
  struct Options {
    uint32_t initial_window = 65535;
    bool auto_window_update = true;
  };
  Client() : Client(Options{}) {}
  explicit Client(Options o) {
    nghttp2_session_callbacks* cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
    nghttp2_option* opt;
    nghttp2_option_new(&opt);
    if (!o.auto_window_update) nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_session_client_new2(&s, cb, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry e[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, o.initial_window}};
    nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, e, 1);
  }
  ~Client() { nghttp2_session_del(s); }

  int32_t request(std::string method, std::string path, std::string authority, Fields extra = {},
                  const std::string* body = nullptr) {
    Fields all = {{":method", method}, {":scheme", "https"}, {":path", path}};
    if (!authority.empty()) all.push_back({":authority", authority});
    for (auto& f : extra) all.push_back(f);
    std::vector<nghttp2_nv> nv;
    for (auto& [k, v] : all)
      nv.push_back({(uint8_t*)k.data(), (uint8_t*)v.data(), k.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    if (!body) return nghttp2_submit_request(s, nullptr, nv.data(), nv.size(), nullptr, this);
    nghttp2_data_provider dp{};
    dp.read_callback = read_body;
    const int32_t id = nghttp2_submit_request(s, nullptr, nv.data(), nv.size(), &dp, this);
    bodies[id] = *body;
    return id;
  }

  std::string take() {
    std::string out;
    for (;;) {
      const uint8_t* p;
      const ssize_t n = nghttp2_session_mem_send(s, &p);
      if (n <= 0) break;
      out.append(reinterpret_cast<const char*>(p), size_t(n));
    }
    return out;
  }
  void give(const std::string& bytes) {
    ASSERT_EQ(nghttp2_session_mem_recv(s, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
              ssize_t(bytes.size()));
  }

  nghttp2_session* s = nullptr;
  std::map<int32_t, Response> resp;
  std::map<int32_t, std::string> bodies;
  int goaways = 0;
  uint32_t goaway_code = 0;
  int32_t goaway_last = -1;
  int window_updates = 0;
  int pings = 0;

 private:
  static int on_header(nghttp2_session*, const nghttp2_frame* f, const uint8_t* n, size_t nl, const uint8_t* v,
                       size_t vl, uint8_t, void* self) {
    auto& c = *static_cast<Client*>(self);
    std::string name((const char*)n, nl), value((const char*)v, vl);
    Response& r = c.resp[f->hd.stream_id];
    if (name == ":status") {
      r.status = std::stoi(value);
      r.fields.clear();  // a final response after an interim one
    }
    r.fields.emplace_back(name, value);
    return 0;
  }
  static int on_data(nghttp2_session*, uint8_t, int32_t id, const uint8_t* d, size_t len, void* self) {
    static_cast<Client*>(self)->resp[id].body.append((const char*)d, len);
    return 0;
  }
  static int on_close(nghttp2_session*, int32_t id, uint32_t code, void* self) {
    auto& r = static_cast<Client*>(self)->resp[id];
    r.closed = true;
    r.close_code = code;
    return 0;
  }
  static int on_frame(nghttp2_session*, const nghttp2_frame* f, void* self) {
    auto& c = *static_cast<Client*>(self);
    if (f->hd.type == NGHTTP2_GOAWAY) {
      ++c.goaways;
      c.goaway_code = f->goaway.error_code;
      c.goaway_last = f->goaway.last_stream_id;
    } else if (f->hd.type == NGHTTP2_WINDOW_UPDATE) {
      ++c.window_updates;
    } else if (f->hd.type == NGHTTP2_PING && !(f->hd.flags & NGHTTP2_FLAG_ACK)) {
      ++c.pings;
    }
    return 0;
  }
  static ssize_t read_body(nghttp2_session*, int32_t id, uint8_t* buf, size_t len, uint32_t* flags,
                           nghttp2_data_source*, void* self) {
    auto& body = static_cast<Client*>(self)->bodies[id];
    const size_t n = std::min(len, body.size());
    std::memcpy(buf, body.data(), n);
    body.erase(0, n);
    if (body.empty()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return ssize_t(n);
  }
};

// ---- raw frames ----

inline std::string frame(uint8_t type, uint8_t flags, int32_t stream, std::string_view payload) {
  std::string f;
  const size_t n = payload.size();
  f.push_back(char(n >> 16));
  f.push_back(char(n >> 8));
  f.push_back(char(n));
  f.push_back(char(type));
  f.push_back(char(flags));
  f.push_back(char((stream >> 24) & 0x7f));
  f.push_back(char(stream >> 16));
  f.push_back(char(stream >> 8));
  f.push_back(char(stream));
  f.append(payload);
  return f;
}

inline std::string preface() {
  return std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + frame(NGHTTP2_SETTINGS, 0, 0, "");
}

// A header block, encoded by a fresh HPACK encoder (literals only refer to
// what the same block added, so any decoder state accepts it).
inline std::string hpack(const Fields& fields) {
  nghttp2_hd_deflater* d;
  nghttp2_hd_deflate_new(&d, 4096);
  std::vector<nghttp2_nv> nv;
  for (auto& [k, v] : fields)
    nv.push_back({(uint8_t*)k.data(), (uint8_t*)v.data(), k.size(), v.size(), NGHTTP2_NV_FLAG_NO_INDEX});
  std::string out(nghttp2_hd_deflate_bound(d, nv.data(), nv.size()), '\0');
  const ssize_t n = nghttp2_hd_deflate_hd(d, (uint8_t*)out.data(), out.size(), nv.data(), nv.size());
  nghttp2_hd_deflate_del(d);
  out.resize(n > 0 ? size_t(n) : 0);
  return out;
}

inline Fields get(std::string path = "/") {
  return {{":method", "GET"}, {":scheme", "https"}, {":path", path}, {":authority", "example.com"}};
}

inline std::string u32(uint32_t v) {
  std::string s;
  for (int sh = 24; sh >= 0; sh -= 8) s.push_back(char(v >> sh));
  return s;
}

// Frames found in server output.
struct Frame {
  uint8_t type, flags;
  int32_t stream;
  std::string payload;
};
inline std::vector<Frame> frames(std::string_view bytes) {
  std::vector<Frame> out;
  while (bytes.size() >= 9) {
    const size_t n = (uint8_t(bytes[0]) << 16) | (uint8_t(bytes[1]) << 8) | uint8_t(bytes[2]);
    if (bytes.size() < 9 + n) break;
    Frame f{uint8_t(bytes[3]), uint8_t(bytes[4]),
            int32_t(((uint8_t(bytes[5]) & 0x7f) << 24) | (uint8_t(bytes[6]) << 16) | (uint8_t(bytes[7]) << 8) |
                    uint8_t(bytes[8])),
            std::string(bytes.substr(9, n))};
    out.push_back(std::move(f));
    bytes.remove_prefix(9 + n);
  }
  return out;
}
inline uint32_t be32(std::string_view p, size_t off) {
  return (uint32_t(uint8_t(p[off])) << 24) | (uint32_t(uint8_t(p[off + 1])) << 16) |
         (uint32_t(uint8_t(p[off + 2])) << 8) | uint8_t(p[off + 3]);
}

}  // namespace lb::http2::test
