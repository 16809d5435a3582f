#pragma once
// A worker's own view of a config Snapshot: one Strategy instance per pool,
// so picking a backend needs no lock. Rebuilt when the snapshot changes;
// requests in flight keep the one they started with.
#include <memory>
#include <vector>

#include "lb/balance/strategy.h"
#include "lb/proxy/snapshot.h"

namespace lb::proxy {

struct WorkerSnapshot {
  std::shared_ptr<const Snapshot> snapshot;
  std::vector<std::unique_ptr<balance::Strategy>> strategies;  // per pool index

  static std::shared_ptr<const WorkerSnapshot> build(std::shared_ptr<const Snapshot> snap);
};

}  // namespace lb::proxy
