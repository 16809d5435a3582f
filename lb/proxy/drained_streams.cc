#include "lb/proxy/drained_streams.h"

#include <spdlog/spdlog.h>

#include "lb/proxy/client_connection.h"
#include "lb/proxy/snapshot.h"

namespace lb::proxy {

void DrainedStreams::set_current(const Snapshot& snapshot) {
  current_.clear();
  for (const PoolRuntime& p : snapshot.pools)
    for (const auto& b : p.backends) current_.insert(b.get());
}

bool DrainedStreams::leaving(const balance::Backend& b) const {
  if (!current_.count(&b)) return true;
  const balance::AdminState s = b.admin_state();
  return s == balance::AdminState::draining || s == balance::AdminState::maint;
}

size_t DrainedStreams::scan(WorkerContext& worker, TimePoint now, Duration grace) {
  // Rebuilt each time, so an entry never outlives the backend it points to
  // (the streams hold their backend) and a backend set ready again is forgotten.
  std::unordered_map<const balance::Backend*, TimePoint> seen;
  size_t ended = 0;
  std::vector<const balance::Backend*> backends;  // of one connection (HTTP/2: one per stream)
  for (ClientConnection* c = worker.clients; c;) {
    ClientConnection* next = c->next_client;  // ending a stream may close c
    backends.clear();
    c->long_stream_backends(backends);
    for (const balance::Backend* b : backends) {
      if (!leaving(*b)) continue;
      auto it = seen.find(b);
      if (it == seen.end()) {
        const auto before = leaving_since_.find(b);
        it = seen.emplace(b, before != leaving_since_.end() ? before->second : now).first;
      }
      if (now - it->second >= grace && c->end_streams_of(*b)) ++ended;
    }
    c = next;
  }
  leaving_since_ = std::move(seen);
  if (ended > 0)
    spdlog::info("worker {}: ended {} stream(s) of drained or removed backends after shutdown_timeout", worker.index,
                 ended);
  return ended;
}

}  // namespace lb::proxy
