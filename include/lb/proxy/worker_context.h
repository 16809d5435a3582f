#pragma once
// What every connection of a worker thread shares: its loop, its buffer
// pool, its access log. Passed by reference; owned by the Worker.
#include <uv.h>

#include <cstdint>

#include <memory>
#include <string>
#include <vector>

#include "lb/core/block.h"
#include "lb/core/deferred_free.h"
#include "lb/core/slab_pool.h"
#include "lb/core/stream_writer.h"
#include "lb/core/timer_wheel.h"
#include "lb/http/request_parser_pool.h"

namespace lb::log {
class AccessLog;
}

namespace lb::proxy {

class UpstreamPools;
class WaitingRoom;
class ClientConnection;
struct WorkerSnapshot;

struct WorkerContext {
  uv_loop_t* loop = nullptr;
  unsigned index = 0;  // worker number, for logs
  BlockPool blocks;
  WriteBatchPool write_batches;
  http::RequestParserPool parsers;
  DeferredFree* deferred = nullptr;
  TimerWheel* timers = nullptr;
  std::shared_ptr<const WorkerSnapshot> current;  // newest config for new requests
  log::AccessLog* access_log = nullptr;  // null: access log off
  UpstreamPools* upstreams = nullptr;
  // Where client and upstream connections live (lb/core/slab_pool.h); the
  // Worker owns both and outlives every connection.
  SlabPool* client_memory = nullptr;
  SlabPool* upstream_memory = nullptr;
  WaitingRoom* waiting = nullptr;  // requests queued for a backend slot
  std::string scratch;  // formatting space for one head at a time
  uint32_t id_prefix = 0;        // random per process: request ids differ across restarts
  uint64_t next_request_id = 0;  // combined with the prefix and the worker index
  ClientConnection* clients = nullptr;  // every open client connection (intrusive list)
  size_t client_count = 0;
  // Connections whose output waits for the end of this loop turn
  // (ClientConnection::flush_soon); the Worker flushes them before the loop
  // blocks again.
  std::vector<ClientConnection*> flush_soon;
  bool flushing_clients = false;  // the Worker is going through flush_soon: flush at once
  bool stopping = false;         // graceful stop: finish in-flight, close keep-alive
};

}  // namespace lb::proxy
