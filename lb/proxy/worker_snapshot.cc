#include "lb/proxy/worker_snapshot.h"

#include "lb/balance/factory.h"

namespace lb::proxy {

std::shared_ptr<const WorkerSnapshot> WorkerSnapshot::build(std::shared_ptr<const Snapshot> snap) {
  auto ws = std::make_shared<WorkerSnapshot>();
  for (const PoolRuntime& p : snap->pools) ws->strategies.push_back(balance::make_strategy(*p.config, p.backends));
  ws->snapshot = std::move(snap);
  return ws;
}

}  // namespace lb::proxy
