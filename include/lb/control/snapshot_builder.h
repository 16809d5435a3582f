#pragma once
// Building the workers' config snapshot (proxy::Snapshot) on the control
// thread, at start and on every reload, in two steps so that a reload can
// still be refused after the snapshot is built.
#include <memory>
#include <vector>

#include "lb/config/config.h"
#include "lb/proxy/snapshot.h"

namespace lb::control {

// A snapshot built but not yet in force. Backends carried over from the
// previous snapshot are live (workers read them), so their new weight and
// slow start wait here until commit(): a reload refused after preparing
// leaves them as they were.
class PreparedSnapshot {
 public:
  // Applies the carried backends' new settings and hands the snapshot
  // over. Cannot fail; call once, after every other fallible reload step.
  std::shared_ptr<const proxy::Snapshot> commit() &&;

 private:
  friend PreparedSnapshot prepare_snapshot(std::shared_ptr<const config::Config>, const proxy::Snapshot*);
  struct CarriedBackend {
    std::shared_ptr<balance::Backend> backend;
    uint32_t weight;
    uint32_t max_requests;
    Duration slow_start;
  };
  std::shared_ptr<proxy::Snapshot> snapshot_;
  std::vector<CarriedBackend> carried_;
};

// Builds a snapshot; Backend objects and listener states of `previous` are
// carried over where a pool keeps a backend of the same name and address
// (so health, counters and connection pools survive a reload). TLS
// listeners get a new context, re-reading their certificate files; throws
// tls::TlsError when one cannot be used. Changes nothing shared.
PreparedSnapshot prepare_snapshot(std::shared_ptr<const config::Config> config, const proxy::Snapshot* previous);

// prepare_snapshot(...).commit(), for callers with nothing else to check.
std::shared_ptr<const proxy::Snapshot> build_snapshot(std::shared_ptr<const config::Config> config,
                                                      const proxy::Snapshot* previous);

}  // namespace lb::control
