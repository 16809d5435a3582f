#pragma once
// Long streams (SSE responses, WebSocket tunnels) of a backend that is
// leaving — set draining or maint through the admin API, or removed from its
// pool by a reload — keep running for shutdown_timeout from the first scan
// that found the backend leaving with a stream open (so within kScanEvery of
// the drain or the reload), then end as at stop (SSE: "retry:" and an error
// event; WebSocket: Close 1012). A reload that keeps the backend keeps the
// same Backend object and changes nothing. The Worker calls scan() from one
// repeating timer (kScanEvery); the request path never looks at this.
#include <unordered_map>
#include <unordered_set>

#include "lb/balance/backend.h"
#include "lb/core/time.h"
#include "lb/proxy/worker_context.h"

namespace lb::proxy {

struct Snapshot;

class DrainedStreams {
 public:
  static constexpr Duration kScanEvery = std::chrono::milliseconds(200);

  // The worker installed `snapshot`: its backends are the ones that stay.
  void set_current(const Snapshot& snapshot);

  // Ends the streams whose backend has been leaving for `grace` or longer;
  // returns how many it ended.
  size_t scan(WorkerContext& worker, TimePoint now, Duration grace);

  // Leaving: not in the current snapshot, or draining / in maintenance.
  bool leaving(const balance::Backend& b) const;

 private:
  std::unordered_set<const balance::Backend*> current_;
  // Backends seen leaving with a stream at the last scan, and since when.
  std::unordered_map<const balance::Backend*, TimePoint> leaving_since_;
};

}  // namespace lb::proxy
