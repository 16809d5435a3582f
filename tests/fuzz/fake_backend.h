#pragma once
// An in-process backend for the request_path target, on the worker's own
// loop: it parses what lbd forwards with llhttp and answers each request at
// once with a fixed response picked by the path, so every shape of response
// lbd relays is within the fuzzer's reach:
//   /chunked  chunked body with a trailer     /close  close-delimited body
//   /204      no body                         /100    a 100 Continue first
//   /bad/status  a two-digit status           /bad/crlf  CRLF, then close
//   /bad/interim 100 Continue, then close     else  "ok" with Content-Length
// A WebSocket upgrade is answered 101 and the tunnel echoes what comes;
// CONNECT is answered 405 and the connection closed. A
// request llhttp refuses is answered 400 and the connection closed: lbd must
// never forward one, and the fuzz target counts them.
#include <llhttp.h>
#include <uv.h>

#include <cstring>
#include <string>

namespace lb::fuzz {

class FakeBackend {
 public:
  // Serves on a listening socket bound once per process (a dup of `fd`).
  void start(uv_loop_t* loop, int fd);
  void close();  // the server and every connection
  size_t refused() const { return refused_; }
  size_t open_connections() const { return connections_; }
  // Bytes read and written so far: a sign of life for the target's loop.
  uint64_t activity() const { return activity_; }

 private:
  class Conn;
  static void on_connection(uv_stream_t* server, int status);

  uv_loop_t* loop_ = nullptr;
  uv_tcp_t server_{};
  bool open_ = false;
  Conn* conns_ = nullptr;
  size_t connections_ = 0;
  size_t refused_ = 0;
  uint64_t activity_ = 0;
};

}  // namespace lb::fuzz
