// The listener's whole request path, through real sockets on one loop:
// a client connects to an lbd Listener (the public entry point that hands
// accepted sockets to ClientConnection::accept_from), sends the input in
// reads cut where the input says, and half-closes; lbd routes each request
// to a pool whose backend is a FakeBackend on the same loop. Pipelining,
// bodies, trailers, Expect, upgrades into a tunnel, sticky cookies, errors
// and limits are all reachable from the input.
//
// Each input runs on a fresh loop and WorkerContext (the config snapshot
// and the listening sockets are made once per process), so an input that
// fails fails again on its own. What must hold:
//  - the connection ends within kMaxWaitMs: nothing waits on a timeout
//    when both peers are done (a spin is caught by libFuzzer's -timeout);
//  - lbd's answer parses as a sequence of HTTP/1.1 responses with 3-digit
//    statuses, one per request at most (plus one error), up to a 101, and
//    a first request read to its end gets one; or, when the input opens
//    with the whole h2c preface (the listener has HTTP/2 on), as whole
//    HTTP/2 frames led by lbd's SETTINGS, and never otherwise;
//  - nothing lbd forwarded was refused by the backend's llhttp;
//  - after closing everything, uv_loop_close() == 0 and no connection of
//    either side is left (ASan's leak check sees the rest).
#include <arpa/inet.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "fake_backend.h"
#include "fuzz_check.h"
#include "lb/config/loader.h"
#include "lb/control/snapshot_builder.h"
#include "lb/http/response_parser.h"
#include "lb/http2/preface.h"
#include "lb/proxy/client_connection.h"
#include "lb/proxy/listener.h"
#include "lb/proxy/snapshot.h"
#include "lb/proxy/upstream_connection.h"
#include "lb/proxy/upstream_pool.h"
#include "lb/proxy/worker_snapshot.h"
#include "request_recorder.h"

namespace {

using namespace lb;

constexpr uint64_t kMaxWaitMs = 5000;  // under the 10 s header and idle timeouts
constexpr int kQuietPolls = 8;

uint16_t bound_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  FUZZ_CHECK(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  return ntohs(a.sin_port);
}

int listening_socket() {
  std::string error;
  const int fd = proxy::open_listening_socket(config::Address{"127.0.0.1", 0, "127.0.0.1:0"}, &error);
  if (fd < 0) std::fprintf(stderr, "request_path: %s\n", error.c_str());
  FUZZ_CHECK(fd >= 0);
  return fd;
}

int bound_socket() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  FUZZ_CHECK(fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

// Made once per process: the sockets lbd and the backend listen on, and
// the snapshot of a config that routes to that backend.
struct Process {
  int lbd_fd = listening_socket();
  int backend_fd = listening_socket();
  int refusing_fd = bound_socket();  // bound, never listening: connects are refused
  std::shared_ptr<const proxy::Snapshot> snapshot;

  Process() {
    spdlog::set_level(spdlog::level::off);
    // A sticky pool needs a key file only its owner can read.
    char key_path[] = "/tmp/lbd-fuzz-key-XXXXXX";
    const int kfd = mkstemp(key_path);
    FUZZ_CHECK(kfd >= 0);
    FUZZ_CHECK(write(kfd, "0123456789abcdef0123456789abcdef", 32) == 32);
    fchmod(kfd, 0600);
    close(kfd);
    const std::string backend = "127.0.0.1:" + std::to_string(bound_port(backend_fd));
    const std::string yaml =
        "listeners:\n"
        "  - name: web\n"
        "    listen: 127.0.0.1:" + std::to_string(bound_port(lbd_fd)) + "\n"
        "    timeouts: {header: 10s, idle: 10s}\n"
        "    limits: {max_header_bytes: 2KiB, max_body_bytes: 4KiB, max_connections: 100}\n"
        "    routes:\n"
        "      - {host: sticky.example, pool: sticky}\n"
        "      - {path_prefix: /v1/, pool: app}\n"
        "      - {host: down.example, pool: down}\n"
        "      - {pool: app}\n"
        "pools:\n"
        "  - name: app\n"
        "    retries: 1\n"
        "    passive: {max_fails: 0}\n"
        "    timeouts: {connect: 1s, response: 2s}\n"
        "    keepalive: {max_idle: 4, idle_timeout: 10s}\n"
        "    backends:\n"
        "      - {name: a1, address: " + backend + "}\n"
        "      - {name: a2, address: " + backend + "}\n"
        "  - name: sticky\n"
        "    passive: {max_fails: 0}\n"
        "    session: {mode: sticky, cookie: {name: LB, secret_file: " + key_path + "}}\n"
        "    backends:\n"
        "      - {name: s1, address: " + backend + "}\n"
        "  - name: down\n"
        "    passive: {max_fails: 0}\n"
        "    backends:\n"
        "      - {name: d1, address: 127.0.0.1:" + std::to_string(bound_port(refusing_fd)) + "}\n";
    config::LoadResult r = config::load_string(yaml, "request_path.yaml");
    unlink(key_path);
    for (const auto& e : r.errors) std::fprintf(stderr, "request_path config: %s\n", e.to_string().c_str());
    FUZZ_CHECK(r.ok());
    snapshot = control::build_snapshot(std::make_shared<const config::Config>(std::move(*r.config)), nullptr);
  }
};

// The client: connects, writes the input in pieces, and once lbd has gone
// quiet (everything it will answer before more input is answered)
// half-closes, then reads until lbd closes. A half-close at once would be
// the client's "no more requests": lbd then answers the first request only
// and pipelining would be out of reach.
struct Client {
  uv_tcp_t tcp{};
  uv_connect_t connect{};
  uv_shutdown_t shutdown{};
  std::vector<uv_write_t> writes;
  size_t writes_done = 0;
  std::string input;
  std::vector<size_t> pieces;
  std::string received;
  bool connected = false;
  bool shut = false;
  bool done = false;  // EOF or error from lbd
  bool closed = false;

  void start(uv_loop_t* loop, uint16_t port) {
    uv_tcp_init(loop, &tcp);
    tcp.data = this;
    uv_tcp_nodelay(&tcp, 1);
    sockaddr_in a{};
    uv_ip4_addr("127.0.0.1", port, &a);
    connect.data = this;
    FUZZ_CHECK(uv_tcp_connect(&connect, &tcp, reinterpret_cast<sockaddr*>(&a), [](uv_connect_t* c, int status) {
                 static_cast<Client*>(c->data)->on_connected(status);
               }) == 0);
  }

  void on_connected(int status) {
    if (status != 0) {
      done = true;
      return;
    }
    connected = true;
    auto* s = reinterpret_cast<uv_stream_t*>(&tcp);
    uv_read_start(s,
                  [](uv_handle_t*, size_t, uv_buf_t* buf) {
                    static char block[64 * 1024];
                    *buf = uv_buf_init(block, sizeof block);
                  },
                  [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
                    auto* self = static_cast<Client*>(s->data);
                    if (n > 0) self->received.append(buf->base, size_t(n));
                    if (n < 0) {
                      self->done = true;
                      uv_read_stop(s);
                    }
                  });
    writes.resize(pieces.size());
    size_t at = 0;
    for (size_t i = 0; i < pieces.size(); ++i) {
      uv_buf_t b = uv_buf_init(input.data() + at, unsigned(pieces[i]));
      at += pieces[i];
      writes[i].data = this;
      // lbd may close before reading it all: a failed write is no finding.
      if (uv_write(&writes[i], s, &b, 1, [](uv_write_t* w, int) { ++static_cast<Client*>(w->data)->writes_done; }) != 0)
        ++writes_done;
    }
  }

  bool all_written() const { return connected && writes_done == pieces.size(); }

  // Also after lbd's EOF: lbd's lingering close waits for this FIN.
  void half_close() {
    if (shut || !connected) return;
    shut = true;
    uv_shutdown(&shutdown, reinterpret_cast<uv_stream_t*>(&tcp), [](uv_shutdown_t*, int) {});
  }

  void close() {
    if (closed) return;
    closed = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp), nullptr);
  }
};

// The requests lbd will answer, in order, as lbd's own parser reads the
// input (no checks here: the request_parser target makes them): whether
// each is a HEAD (its response has no body), and whether the list is
// known to be whole. It is not past a request the parser cannot resume
// after (an upgrade), nor past one the parser has not finished.
struct Requests {
  std::vector<bool> head;
  bool whole = true;
  bool first_complete = false;  // the first request was read to its end
};

Requests requests_in(std::string wire) {
  fuzz::RequestRecorder rec;
  http::RequestParser parser(rec);
  parser.set_max_header_bytes(2048);  // as the listener's limits say
  Requests out;
  size_t at = 0;
  while (at < wire.size()) {
    const auto r = parser.execute(wire.data() + at, wire.size() - at);
    if (r.status != http::RequestParser::Status::complete) break;
    if (r.consumed == 0 || r.consumed > wire.size() - at) {
      out.whole = false;
      break;
    }
    at += r.consumed;
    parser.resume();
  }
  for (const auto& h : rec.heads) out.head.push_back(h.method == HTTP_HEAD);
  out.first_complete = !rec.messages.empty() && rec.messages.front().complete;
  return out;
}

class ResponseCounter final : public http::ResponseEvents {
 public:
  void on_response_head(http::ResponseHead& h) override {
    last_status = h.status;
    // llhttp 8.1 reads "HTTP/1.1 20 OK" as status 20; a client must never
    // see one (RFC 9110 §15: three digits, 1xx to 5xx).
    if (h.status < 100 || h.status > 599) std::fprintf(stderr, "lbd relayed status %d\n", h.status);
    FUZZ_CHECK(h.status >= 100 && h.status <= 599);
  }
  void on_response_body(const char*, size_t) override {}
  void on_response_complete() override {
    if (last_status >= 200 || last_status == 101) ++finals;
  }
  int last_status = 0;
  size_t finals = 0;
};

// An answer in HTTP/2 (RFC 9113 §4.1): whole frames, the first lbd's SETTINGS.
void check_http2_answer(const std::string& answer) {
  if (answer.empty()) std::fprintf(stderr, "lbd sent no SETTINGS after the h2c preface\n");
  FUZZ_CHECK(!answer.empty());
  size_t at = 0;
  while (at < answer.size()) {
    const auto byte = [&](size_t i) { return size_t(uint8_t(answer[at + i])); };
    if (answer.size() - at < 9) std::fprintf(stderr, "lbd's HTTP/2 answer ends inside a frame header\n");
    FUZZ_CHECK(answer.size() - at >= 9);
    const size_t length = byte(0) << 16 | byte(1) << 8 | byte(2);
    const size_t type = byte(3);
    const size_t stream = (byte(5) & 0x7f) << 24 | byte(6) << 16 | byte(7) << 8 | byte(8);
    if (at == 0) {
      if (type != 4 || stream != 0 || length % 6 != 0) std::fprintf(stderr, "lbd's first frame is no SETTINGS\n");
      FUZZ_CHECK(type == 4 && stream == 0 && length % 6 == 0);
    }
    if (answer.size() - at - 9 < length) std::fprintf(stderr, "lbd's HTTP/2 answer ends inside a frame\n");
    FUZZ_CHECK(answer.size() - at - 9 >= length);
    at += 9 + length;
  }
}

// lbd's answer must read as HTTP/1.1 responses, at most one per request
// (plus one error for the request it refused), up to a 101.
void check_answer(const std::string& input, const std::string& answer) {
  if (input.starts_with(http2::kClientPreface)) return check_http2_answer(answer);
  const Requests requests = requests_in(input);
  const std::vector<bool>& heads = requests.head;
  ResponseCounter counter;
  http::ResponseParser parser(counter);
  parser.expect_response(!heads.empty() && heads[0]);
  size_t at = 0;
  while (at < answer.size()) {
    const auto r = parser.execute(answer.data() + at, answer.size() - at);
    if (r.status == http::ResponseParser::Status::error) {
      std::fprintf(stderr, "lbd's answer does not parse at byte %zu: %s\n", at + r.consumed, parser.error_reason());
      FUZZ_CHECK(!"lbd's answer is not a sequence of responses");
    }
    at += r.consumed;
    if (r.status != http::ResponseParser::Status::complete) {
      parser.finish();  // lbd closed: that ends a close-delimited body
      break;
    }
    parser.resume();
    if (counter.last_status == 101) return;  // the tunnel's bytes follow
    if (counter.last_status >= 200) {
      const size_t i = counter.finals;
      parser.expect_response(i < heads.size() && heads[i]);
    }
  }
  if (requests.whole) FUZZ_CHECK(counter.finals <= heads.size() + 1);
  // A request read to its end is answered, if only with an error.
  if (requests.first_complete && counter.finals == 0) std::fprintf(stderr, "lbd answered nothing to a whole request\n");
  FUZZ_CHECK(!requests.first_complete || counter.finals > 0 || counter.last_status == 101);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Process process;

  uv_loop_t loop;
  FUZZ_CHECK(uv_loop_init(&loop) == 0);
  // Where a Worker keeps its connections; declared first, freed last.
  SlabPool client_memory(sizeof(proxy::ClientConnection), alignof(proxy::ClientConnection));
  SlabPool upstream_memory(sizeof(proxy::UpstreamConnection), alignof(proxy::UpstreamConnection));
  proxy::WorkerContext ctx;
  ctx.loop = &loop;
  ctx.client_memory = &client_memory;
  ctx.upstream_memory = &upstream_memory;
  auto deferred = std::make_unique<DeferredFree>(&loop);
  ctx.deferred = deferred.get();
  auto timers = std::make_unique<TimerWheel>(&loop);
  ctx.timers = timers.get();
  proxy::UpstreamPools upstreams;
  ctx.upstreams = &upstreams;
  ctx.current = proxy::WorkerSnapshot::build(process.snapshot);

  const proxy::ListenerRuntime* lr = process.snapshot->find_listener("web");
  auto identity = std::make_shared<proxy::ListenerIdentity>();
  identity->name = "web";
  identity->state = lr->state;
  proxy::Listener listener(ctx, identity);
  std::string error;
  FUZZ_CHECK(listener.start(dup(process.lbd_fd), &error));

  fuzz::FakeBackend backend;
  backend.start(&loop, process.backend_fd);

  Client client;
  client.input.assign(reinterpret_cast<const char*>(data), size);
  client.pieces = fuzz::read_cuts(data, size);
  client.start(&loop, bound_port(process.lbd_fd));

  // Run until lbd has closed the connection and the client has read all.
  // Loopback delivers a write at once, so a few polls in a row in which no
  // byte moved anywhere mean lbd waits for the client: time to half-close.
  const uint64_t start = uv_now(&loop);
  bool accepted = false;
  int quiet_polls = 0;
  uint64_t last_activity = UINT64_MAX;
  while (!(client.done && accepted && ctx.client_count == 0)) {
    if (ctx.client_count > 0) accepted = true;
    if (client.done && !accepted && uv_now(&loop) - start > 100) break;  // never accepted (connect failed)
    uv_update_time(&loop);
    if (uv_now(&loop) - start > kMaxWaitMs) {
      std::fprintf(stderr, "request_path: connection still open %llu ms after the client's first byte\n",
                   (unsigned long long)kMaxWaitMs);
      FUZZ_CHECK(!"lbd kept a connection open with both peers done");
    }
    if (!client.shut) {
      const uint64_t activity = client.received.size() + backend.activity() + ctx.client_count + client.writes_done;
      quiet_polls = activity == last_activity && client.all_written() ? quiet_polls + 1 : 0;
      last_activity = activity;
      if (quiet_polls >= kQuietPolls || client.done) client.half_close();
      uv_run(&loop, UV_RUN_NOWAIT);
    } else {
      uv_run(&loop, UV_RUN_ONCE);
    }
  }
  // LBD_FUZZ_VERBOSE=1 shows lbd's answer, to read a crash file's story.
  static const bool verbose = std::getenv("LBD_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "---- lbd answered:\n%s\n----\n", client.received.c_str());
  FUZZ_CHECK(accepted);
  FUZZ_CHECK(backend.refused() == 0);  // lbd forwarded nothing a strict parser refuses
  check_answer(client.input, client.received);

  // Close everything, the way a worker stops, and the loop must be empty.
  client.close();
  listener.close();
  backend.close();
  upstreams.close_all();
  timers->close();
  uv_run(&loop, UV_RUN_DEFAULT);
  deferred.reset();
  uv_run(&loop, UV_RUN_DEFAULT);
  timers.reset();
  uv_run(&loop, UV_RUN_DEFAULT);
  FUZZ_CHECK(ctx.client_count == 0);
  FUZZ_CHECK(backend.open_connections() == 0);
  FUZZ_CHECK(uv_loop_close(&loop) == 0);
  return 0;
}
