#pragma once
// One client connection: reads requests, answers them one at a time in
// arrival order (pipelining), streams bodies with back-pressure, and closes
// gracefully. The Server owns it and frees it once its socket is closed.
#include <uv.h>

#include <memory>
#include <string>
#include <string_view>

#include "lb/core/uv_handle.h"
#include "request.h"
#include "request_parser.h"
#include "response.h"
#include "slots.h"
#include "websocket.h"

namespace demo {

class Server;

class Connection final : public SlotWaiter {
 public:
  explicit Connection(Server& server) : server_(server) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Accepts the pending connection of `listener` and starts reading.
  int accept(uv_loop_t* loop, uv_stream_t* listener);
  // Closes at once; Server::forget runs when the socket is really closed.
  void close();
  // The queued request's turn has come (Slots::release): its body starts.
  void slot_granted() override;

 private:
  using Step = void (Connection::*)();
  struct WriteReq;

  // Reading and parsing.
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  void handle_read(ssize_t nread, const uv_buf_t* buf);
  void handle_read_end(ssize_t status);
  void parse(std::string_view data);
  void start_reading();
  void stop_reading();

  // Answering one request.
  Response admit(const Request& request);
  void uncount();
  void begin(Request request, Response response);
  void send_head();
  void start_body();
  void send_next_piece();
  void after_piece();
  void finish_response();

  // After a WebSocket handshake to /ws: echo frames until either side closes.
  void begin_websocket(const Request& request, std::string_view key);
  void websocket_input(std::string_view data);
  void websocket_written();

  // Writing, timers, closing.
  void write(std::string owned, std::string_view borrowed, std::string_view tail, Step then);
  static void on_write(uv_write_t* req, int status);
  void after(uint64_t ms, Step then);
  void close_gracefully();
  void linger();

  Server& server_;
  lb::UvHandle<uv_tcp_t> tcp_;
  lb::UvHandle<uv_timer_t> timer_;
  Step timer_step_ = nullptr;
  RequestParser parser_;
  std::string pending_;  // received while busy: the next pipelined requests
  Request request_;
  Response response_;
  ResponsePlan plan_;
  bool busy_ = false;         // a response is in progress
  bool counted_ = false;      // holds one of AppState::slots until it ends
  bool queued_ = false;       // waits in AppState::slots' queue
  bool body_on_grant_ = false;  // the head is out: slot_granted starts the body
  bool reading_ = false;
  bool peer_closed_ = false;  // the client half-closed: answer what we have, then close
  bool lingering_ = false;    // FIN sent: drain the client's last bytes, then close
  bool closing_ = false;
  std::unique_ptr<WebSocketEcho> websocket_;  // set once upgraded
  bool shutting_down_ = false;                // close_gracefully in progress
};

}  // namespace demo
