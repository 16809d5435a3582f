#include "lb/proxy/upstream_pool.h"

#include "lb/proxy/upstream_connection.h"

namespace lb::proxy {

UpstreamPool::~UpstreamPool() { close_all(); }

UpstreamConnection* UpstreamPool::take() {
  // A backend whose host name now resolves elsewhere (lb/discovery): its
  // idle connections lead to the old address and are closed, not reused.
  const sockaddr_storage current = backend_->sockaddr();
  while (UpstreamConnection* c = head_) {
    remove(c);
    if (c->connected_to(current)) return c;
    c->close();
  }
  return nullptr;
}

void UpstreamPool::put(UpstreamConnection* c, size_t max_idle) {
  if (max_idle == 0) {
    c->close();
    return;
  }
  c->pool = this;
  c->parked_in = interval_;
  c->idle_prev = nullptr;
  c->idle_next = head_;
  if (head_) head_->idle_prev = c;
  head_ = c;
  if (!tail_) tail_ = c;
  ++count_;
  while (count_ > max_idle) {
    UpstreamConnection* oldest = tail_;
    remove(oldest);
    oldest->close();
  }
}

void UpstreamPool::remove(UpstreamConnection* c) {
  if (c->pool != this) return;
  if (c->idle_prev) c->idle_prev->idle_next = c->idle_next;
  else head_ = c->idle_next;
  if (c->idle_next) c->idle_next->idle_prev = c->idle_prev;
  else tail_ = c->idle_prev;
  c->idle_prev = c->idle_next = nullptr;
  c->pool = nullptr;
  --count_;
}

void UpstreamPool::close_all() {
  while (UpstreamConnection* c = take()) c->close();
}

size_t UpstreamPool::trim() {
  // Least recently parked last: walk from the tail while they were parked
  // before this interval began.
  size_t bytes = 0;
  for (UpstreamConnection* c = tail_; c && c->parked_in < interval_; c = c->idle_prev) bytes += c->release_idle_memory();
  ++interval_;
  return bytes;
}

UpstreamPool& UpstreamPools::for_backend(const std::shared_ptr<balance::Backend>& b) {
  auto& slot = pools_[b.get()];
  if (!slot) slot = std::make_unique<UpstreamPool>(b);
  return *slot;
}

size_t UpstreamPools::trim() {
  size_t bytes = 0;
  for (auto& [_, pool] : pools_) bytes += pool->trim();
  return bytes;
}

void UpstreamPools::close_all() {
  for (auto& [_, pool] : pools_) pool->close_all();
  pools_.clear();
}

}  // namespace lb::proxy
