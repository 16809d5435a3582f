#pragma once
// Each worker's "look at your waiting room" async handle, so a worker that
// frees a backend slot can wake the worker whose queued request is next
// (lb/proxy/pool_queue.h). Filled by the daemon once every worker exists and
// read-only after; the handles live as long as their workers, and the
// daemon joins every worker thread before it destroys any of them.
#include <uv.h>

#include <vector>

namespace lb::proxy {

class WorkerWakers {
 public:
  explicit WorkerWakers(std::vector<uv_async_t*> handles) : handles_(std::move(handles)) {}
  unsigned size() const { return unsigned(handles_.size()); }
  // Thread-safe (uv_async_send); wakes coalesce.
  void wake(unsigned worker) const {
    if (worker < handles_.size()) uv_async_send(handles_[worker]);
  }

 private:
  std::vector<uv_async_t*> handles_;
};

}  // namespace lb::proxy
