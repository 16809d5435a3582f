#include "connection.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "handlers.h"
#include "query.h"
#include "server.h"

namespace demo {
namespace {

// Past this much unanswered pipelined input we stop reading from the client.
constexpr size_t kMaxPending = 64 * 1024;
// How long a closing connection waits for the client's FIN (as nginx's
// lingering_close), so unread input does not turn our close into a reset
// that could destroy the response in flight.
constexpr uint64_t kLingerMs = 2000;
constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";
// A WebSocket peer that does not read its echo stops being read past this.
constexpr size_t kMaxWebSocketQueue = 1 << 20;

}  // namespace

struct Connection::WriteReq {
  uv_write_t req{};
  Connection* conn;
  Step then;          // runs once the bytes are in the kernel; nullptr: nothing
  std::string owned;  // head or chunk-size line; the borrowed part outlives the write
};

int Connection::accept(uv_loop_t* loop, uv_stream_t* listener) {
  if (int rc = tcp_.init(loop, uv_tcp_init)) return rc;
  if (int rc = timer_.init(loop, uv_timer_init)) return rc;
  tcp_->data = this;
  timer_->data = this;
  if (int rc = uv_accept(listener, tcp_.stream())) return rc;
  uv_tcp_nodelay(tcp_.get(), 1);
  start_reading();
  return 0;
}

void Connection::close() {
  if (closing_) return;
  closing_ = true;
  uncount();
  timer_.close();
  // Pending write callbacks run (cancelled) before this close callback, so
  // the object stays alive for them.
  tcp_.close([](uv_handle_t* h) {
    auto* self = static_cast<Connection*>(h->data);
    self->server_.forget(self);
  });
}

// ---- reading ---------------------------------------------------------------

void Connection::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  *buf = static_cast<Connection*>(h->data)->server_.read_buffer();
}

void Connection::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  static_cast<Connection*>(s->data)->handle_read(nread, buf);
}

void Connection::start_reading() {
  if (reading_ || peer_closed_ || closing_) return;
  if (uv_read_start(tcp_.stream(), on_alloc, on_read) != 0) return close();
  reading_ = true;
}

void Connection::stop_reading() {
  if (reading_) uv_read_stop(tcp_.stream());
  reading_ = false;
}

void Connection::handle_read(ssize_t nread, const uv_buf_t* buf) {
  if (nread < 0) return handle_read_end(nread);
  std::string_view data(buf->base, static_cast<size_t>(nread));
  if (lingering_ || data.empty()) return;
  if (websocket_) return websocket_input(data);
  if (!busy_) return parse(data);
  pending_.append(data);
  if (pending_.size() >= kMaxPending) stop_reading();
}

void Connection::handle_read_end(ssize_t status) {
  reading_ = false;  // libuv stops reading at EOF and on errors
  if (websocket_ && status == UV_EOF && !lingering_) {
    // The peer half-closed its side of the tunnel: send what is queued, then FIN.
    peer_closed_ = true;
    return close_gracefully();
  }
  if (status != UV_EOF || lingering_ || !busy_) return close();
  // A chat client that leaves frees its slot or its place in the queue.
  if (response_.waits_for_slot) return close();
  // Half-close (e.g. `printf ... | nc`): the requests already received are
  // still answered; finish_response closes after the last one.
  peer_closed_ = true;
}

// Parses until a request is complete, then answers it; the rest of `data`
// waits in pending_ until the response is done.
void Connection::parse(std::string_view data) {
  while (!data.empty()) {
    RequestParser::Result r = parser_.feed(data);
    data.remove_prefix(r.consumed);
    switch (r.event) {
      case RequestParser::Event::need_more:
        return;
      case RequestParser::Event::expect_continue:
        write("HTTP/1.1 100 Continue\r\n\r\n", {}, {}, nullptr);
        break;
      case RequestParser::Event::request: {
        pending_.append(data);
        Request req = parser_.take_request();
        if (std::string_view key = websocket_key(req); !key.empty()) return begin_websocket(req, key);
        if (Response busy = admit(req); busy.status != 0) return begin(std::move(req), std::move(busy));
        Response resp = route(req, server_.app());
        return begin(std::move(req), std::move(resp));
      }
      case RequestParser::Event::error: {
        Request req;  // the broken one is unusable; answer as HTTP/1.1
        req.keep_alive = false;
        Response resp;
        resp.status = r.error_status;
        resp.body = std::string(reason_phrase(r.error_status)) + "\n";
        resp.close = true;
        return begin(std::move(req), std::move(resp));
      }
    }
  }
}

// ---- answering -------------------------------------------------------------

// Model-server mode (--max-concurrent): takes a slot for the request, or
// queues it (chat requests, --queue), or answers 503 when the server is full.
// Probes and the server's gauges take no slot. Returns a response with
// status 0 when the request may go on.
Response Connection::admit(const Request& req) {
  Slots& slots = server_.app().slots;
  Response go_on;
  go_on.status = 0;
  if (takes_no_slot(req)) return go_on;
  if (waits_for_slot(req)) {
    switch (slots.acquire_or_wait(this)) {
      case Slots::Admission::granted: counted_ = true; return go_on;
      case Slots::Admission::queued: queued_ = true; return go_on;
      case Slots::Admission::refused: break;
    }
  } else if (slots.try_acquire()) {
    counted_ = true;
    return go_on;
  }
  Response r;
  r.status = 503;
  r.body = "busy: " + std::to_string(slots.in_use()) + " requests in flight (--max-concurrent), " +
           std::to_string(slots.waiting()) + " waiting (--queue)\n";
  r.extra_headers.emplace_back("Retry-After", "1");
  return r;
}

// Gives back the slot (to the first waiter, if any) or leaves the queue.
void Connection::uncount() {
  Slots& slots = server_.app().slots;
  if (queued_) {
    queued_ = false;
    slots.cancel(this);
  }
  if (!counted_) return;
  counted_ = false;
  if (SlotWaiter* next = slots.release()) next->slot_granted();
}

void Connection::slot_granted() {
  queued_ = false;
  counted_ = true;
  // On the next loop turn, not in the releasing connection's call stack: a
  // reply that ends at once (die_after=0) releases its slot to the next
  // waiter, and a queue of such replies would recurse --queue levels deep.
  if (std::exchange(body_on_grant_, false)) after(0, &Connection::start_body);
}

void Connection::begin(Request request, Response response) {
  busy_ = true;
  request_ = std::move(request);
  response_ = std::move(response);
  uint64_t wait = server_.options().delay_ms + response_.delay_ms;
  if (wait > 0) return after(wait, &Connection::send_head);
  send_head();
}

void Connection::send_head() {
  plan_ = plan_response(response_, request_);
  // What lbd's load_report.header reads: the requests waiting here now.
  if (server_.options().max_concurrent > 0)
    response_.extra_headers.emplace_back("X-Backend-Load", std::to_string(server_.app().slots.waiting()));
  std::string head = serialize_head(response_, plan_, request_, server_.app().name);
  if (!plan_.send_body) return write(std::move(head), {}, {}, &Connection::finish_response);
  if (!response_.stream) return write(std::move(head), response_.body, {}, &Connection::finish_response);
  write(std::move(head), {}, {}, &Connection::start_body);
}

// After the head: waits for a slot (a queued chat request), then the stream's
// first delay (a model's prefill), then sends the pieces.
void Connection::start_body() {
  if (response_.waits_for_slot && queued_) {
    body_on_grant_ = true;
    return;
  }
  if (uint64_t delay = response_.stream->first_delay_ms(); delay > 0) return after(delay, &Connection::send_next_piece);
  send_next_piece();
}

// One piece per write, the next only after the previous one drained: at most
// one piece is ever queued in user space, however slow the reader.
void Connection::send_next_piece() {
  BodyStream& stream = *response_.stream;
  // A crash mid-reply: the pieces so far are in the kernel (each write
  // completed before this step), so the client gets them, then a FIN with
  // no end of the body.
  if (stream.cut()) return close();
  if (stream.done()) {
    if (plan_.framing == Framing::chunked) return write({}, kLastChunk, {}, &Connection::finish_response);
    return finish_response();
  }
  std::string_view piece = stream.next();
  if (plan_.framing == Framing::chunked)
    return write(chunk_size_line(piece.size()), piece, kCrlf, &Connection::after_piece);
  write({}, piece, {}, &Connection::after_piece);
}

void Connection::after_piece() {
  uint64_t interval = response_.stream->interval_ms();
  if (interval > 0 && !response_.stream->done()) return after(interval, &Connection::send_next_piece);
  send_next_piece();
}

void Connection::finish_response() {
  busy_ = false;
  uncount();
  response_ = Response{};
  if (!plan_.keep_alive) return close_gracefully();
  if (!pending_.empty()) {
    std::string data = std::move(pending_);
    pending_.clear();
    parse(data);
    if (closing_) return;
  }
  if (!busy_ && peer_closed_) return close();
  if (pending_.size() < kMaxPending) start_reading();
}

// ---- WebSocket echo -------------------------------------------------------

void Connection::begin_websocket(const Request& request, std::string_view key) {
  busy_ = true;  // no HTTP from here on
  const auto close_after = query_number(request.query(), "close_after", 0, 0, uint64_t{1} << 40);
  websocket_ = std::make_unique<WebSocketEcho>(close_after.value_or(0));
  std::string head =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " + websocket_accept(key) + "\r\nX-Backend: " + server_.app().name + "\r\n\r\n";
  write(std::move(head), {}, {}, nullptr);
  // Frames the client sent right behind its handshake.
  std::string early = std::move(pending_);
  pending_.clear();
  if (!early.empty()) websocket_input(early);
}

void Connection::websocket_input(std::string_view data) {
  std::string out;
  const bool open = websocket_->feed(data, out);
  if (!out.empty()) write(std::move(out), {}, {}, &Connection::websocket_written);
  if (closing_) return;
  if (!open) return close_gracefully();  // FIN goes after the queued close frame
  if (uv_stream_get_write_queue_size(tcp_.stream()) > kMaxWebSocketQueue) stop_reading();
}

void Connection::websocket_written() {
  if (!shutting_down_ && uv_stream_get_write_queue_size(tcp_.stream()) < kMaxWebSocketQueue / 4) start_reading();
}

// ---- writing, timers, closing ---------------------------------------------

void Connection::write(std::string owned, std::string_view borrowed, std::string_view tail, Step then) {
  auto* w = new WriteReq{{}, this, then, std::move(owned)};
  uv_buf_t bufs[3];
  unsigned n = 0;
  for (std::string_view part : {std::string_view(w->owned), borrowed, tail})
    if (!part.empty()) bufs[n++] = uv_buf_init(const_cast<char*>(part.data()), static_cast<unsigned>(part.size()));
  w->req.data = w;
  if (uv_write(&w->req, tcp_.stream(), bufs, n, on_write) != 0) {
    delete w;
    close();
  }
}

void Connection::on_write(uv_write_t* req, int status) {
  std::unique_ptr<WriteReq> w(static_cast<WriteReq*>(req->data));
  Connection* self = w->conn;
  if (self->closing_) return;
  if (status < 0) return self->close();
  if (w->then) (self->*(w->then))();
}

void Connection::after(uint64_t ms, Step then) {
  timer_step_ = then;
  uv_timer_start(
      timer_.get(),
      [](uv_timer_t* t) {
        auto* self = static_cast<Connection*>(t->data);
        (self->*std::exchange(self->timer_step_, nullptr))();
      },
      ms, 0);
}

void Connection::close_gracefully() {
  if (shutting_down_) return;
  shutting_down_ = true;
  auto* req = new uv_shutdown_t{};
  req->data = this;
  int rc = uv_shutdown(req, tcp_.stream(), [](uv_shutdown_t* r, int status) {
    auto* self = static_cast<Connection*>(r->data);
    delete r;
    if (self->closing_) return;
    if (status < 0) return self->close();
    self->linger();
  });
  if (rc != 0) {
    delete req;
    close();
  }
}

void Connection::linger() {
  if (peer_closed_) return close();
  lingering_ = true;
  pending_.clear();
  start_reading();
  after(kLingerMs, &Connection::close);
}

}  // namespace demo
