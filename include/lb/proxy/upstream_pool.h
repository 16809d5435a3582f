#pragma once
// A worker's idle keep-alive connections to one backend (keepalive.max_idle,
// keepalive.idle_timeout), most recently used first so the warmest
// connection is reused and the coldest ones time out.
//
// An idle connection keeps the buffers its last response was parsed into,
// so that the next one allocates nothing. After a burst, hundreds may stay
// idle for up to idle_timeout, and those small buffers, allocated among the
// burst's request memory, keep its pages from going back to the kernel.
// trim(), called every second, lets the connections that sat idle through
// a whole interval give them back; steady traffic reuses the warm end of
// the list and never gets there.
#include <cstddef>
#include <memory>
#include <unordered_map>

#include "lb/balance/backend.h"
#include "lb/core/time.h"

namespace lb::proxy {

class UpstreamConnection;

class UpstreamPool {
 public:
  explicit UpstreamPool(std::shared_ptr<balance::Backend> backend) : backend_(std::move(backend)) {}
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // An idle connection, or nullptr.
  UpstreamConnection* take();
  // Parks `c` (already idle); closes the oldest when over `max_idle`.
  void put(UpstreamConnection* c, size_t max_idle);
  // Removes `c` (it is closing itself).
  void remove(UpstreamConnection* c);
  void close_all();
  // Connections idle since before the previous trim() give back their
  // parse buffers; returns the bytes given back.
  size_t trim();

  size_t idle() const { return count_; }
  const std::shared_ptr<balance::Backend>& backend() const { return backend_; }

 private:
  std::shared_ptr<balance::Backend> backend_;
  UpstreamConnection* head_ = nullptr;  // most recently used
  UpstreamConnection* tail_ = nullptr;
  size_t count_ = 0;
  uint64_t interval_ = 0;  // trim() calls so far
};

// All of a worker's pools, one per backend it has talked to.
class UpstreamPools {
 public:
  UpstreamPool& for_backend(const std::shared_ptr<balance::Backend>& b);
  // Closes pools of backends no longer configured (after a reload).
  template <typename StillUsed>
  void prune(StillUsed&& still_used) {
    for (auto it = pools_.begin(); it != pools_.end();) {
      if (still_used(it->first)) {
        ++it;
      } else {
        it->second->close_all();
        it = pools_.erase(it);
      }
    }
  }
  void close_all();
  size_t trim();  // UpstreamPool::trim for each

 private:
  std::unordered_map<const balance::Backend*, std::unique_ptr<UpstreamPool>> pools_;
};

}  // namespace lb::proxy
