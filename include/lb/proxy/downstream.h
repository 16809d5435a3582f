#pragma once
// The client side of one request, as an Exchange sees it (DESIGN.md §2 "one
// exchange, two protocols"): who the client is, where the response goes,
// and the flow-control signals between the two. An HTTP/1.1 connection
// (ClientConnection) and one stream of an HTTP/2 connection (Http2Stream)
// implement it, so routing, balancing, retries, sessions, queueing and
// metrics never know which protocol the client speaks.
//
// The Exchange hands over the response as a head, body pieces and an end;
// the framing (HTTP/1.1 chunks or length, HTTP/2 frames) is the
// Downstream's business.
#include <sys/socket.h>

#include <cstddef>
#include <string_view>

#include "lb/core/block.h"
#include "lb/http/header_edits.h"
#include "lb/http/message.h"
#include "lb/proxy/backend_slot.h"

namespace lb::proxy {

struct ListenerRuntime;
struct WorkerContext;
class UpstreamConnection;

class Downstream {
 public:
  virtual ~Downstream() = default;

  // ---- who the client is
  virtual WorkerContext& worker() = 0;
  // The true client of the request (lb/proxy/client_address.h), as text and
  // as its 4 or 16 address bytes (ip_hash, consistent_hash on client_ip).
  virtual const char* client_ip() const = 0;
  virtual std::string_view client_address() const = 0;
  // What this hop appends to X-Forwarded-For: the connection's client.
  virtual const char* forwarded_for() const = 0;
  // For a PROXY header towards a backend: the client, and where it came in.
  virtual sockaddr_storage client_sockaddr() const = 0;
  virtual sockaddr_storage local_sockaddr() const = 0;
  virtual const ListenerRuntime& listener() const = 0;
  virtual std::string_view request_id() const = 0;

  // ---- the response
  // An interim response (1xx other than 100 and 101) where the protocol
  // can carry it.
  virtual void send_interim(const http::ResponseHead& head) = 0;
  // The final response head, with a route's `edits`. Returns true when lbd
  // may put bytes of its own between body pieces (SSE heartbeats and
  // closing events): never inside a Content-Length body.
  virtual bool send_head(const http::ResponseHead& head, const http::HeaderEdits* edits) = 0;
  // Body bytes as the backend sent them (`block` is held, not copied).
  virtual void send_body(const BlockRef& block, const char* data, size_t len) = 0;
  // Bytes of lbd's own inside the body (only after send_head returned true).
  virtual void send_own(std::string_view bytes) = 0;
  // The body is complete. `then_close`: an HTTP/1.1 connection closes
  // after it (a stream lbd ended early); an HTTP/2 stream just ends.
  // `trailers`: the backend's trailer section (null: none), relayed less
  // its hop-by-hop fields (http/trailer_fields.h) where the framing can
  // carry it: a chunked HTTP/1.1 body, or a HEADERS frame ending an HTTP/2
  // stream. Other HTTP/1.1 framings drop it (RFC 9112 §7.1.2).
  virtual void end_response(bool then_close, const http::HeaderList* trailers) = 0;
  // The head went out by send_head but not a byte of it has left lbd: take
  // it back (true), so a failure right behind it can still be retried or
  // answered 502. False: too late, the client saw it.
  virtual bool take_back_head() = 0;
  // Answers of lbd's own: "<code> <reason>" text, or a route's fixed
  // answer. `extra_headers` are whole "Name: value\r\n" lines.
  // `request_read` says the request will have been read to its end, so an
  // HTTP/1.1 connection can stay open.
  virtual void send_error(int status, std::string_view extra_headers, bool request_read) = 0;
  virtual void send_fixed(int status, std::string_view content_type, std::string_view body,
                          std::string_view extra_headers, bool request_read) = 0;

  // ---- protocol switch (HTTP/1.1 only: an HTTP/2 request carries no Upgrade)
  virtual void send_switching_protocols(const http::ResponseHead& head) = 0;
  // The backend switched protocols: the connection becomes a tunnel to
  // `upstream`, which holds the backend's `slot` until it ends; `len` bytes
  // at `rest` in `block` came after the backend's head.
  virtual void start_tunnel(UpstreamConnection* upstream, BackendSlot slot, const char* pool, double upstream_ms,
                            const BlockRef& block, const char* rest, size_t len) = 0;

  // ---- flow control
  // The response bytes waiting for the client are past the mark where the
  // Exchange stops reading the backend / below the one where it resumes.
  virtual bool above_high_water() const = 0;
  virtual bool below_low_water() const = 0;
  // Something moved towards or from the backend: send what was gathered
  // and look at back-pressure again.
  virtual void after_upstream_io() = 0;
  // The backend was sent what it referenced: drop the read Block if
  // nothing else holds a slice of it.
  virtual void release_idle_block() = 0;
  // The response cannot go on (the backend cut it, not a stream lbd can
  // end cleanly): drop the client's connection or reset its stream.
  virtual void abort() = 0;
  // The Exchange is done (its response is complete or abandoned). May
  // retire the Exchange: it touches nothing after this call.
  virtual void on_exchange_done() = 0;
};

}  // namespace lb::proxy
