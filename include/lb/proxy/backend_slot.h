#pragma once
// One in-flight slot of a backend (max_requests), held from the attempt that
// takes it until the response ends — or, for a WebSocket, until the tunnel
// closes — and given back exactly once, by release() or the destructor.
// Giving it back wakes the worker whose queued request is next in line
// (lb/proxy/pool_queue.h).
#include <memory>

#include "lb/balance/backend.h"
#include "lb/proxy/pool_shared.h"
#include "lb/proxy/waiting_room.h"

namespace lb::proxy {

class BackendSlot {
 public:
  BackendSlot() = default;
  // Adopts a slot already taken with Backend::try_acquire_slot().
  BackendSlot(std::shared_ptr<balance::Backend> backend, std::shared_ptr<PoolShared> pool, const WaitingRoom* room)
      : backend_(std::move(backend)), pool_(std::move(pool)), room_(room) {}
  BackendSlot(BackendSlot&& o) noexcept { *this = std::move(o); }
  BackendSlot& operator=(BackendSlot&& o) noexcept {
    if (this != &o) {
      release();
      backend_ = std::move(o.backend_);
      pool_ = std::move(o.pool_);
      room_ = o.room_;
    }
    return *this;
  }
  BackendSlot(const BackendSlot&) = delete;
  BackendSlot& operator=(const BackendSlot&) = delete;
  ~BackendSlot() { release(); }

  explicit operator bool() const { return backend_ != nullptr; }

  void release() {
    if (!backend_) return;
    backend_->release_slot();
    backend_.reset();
    if (pool_ && room_) room_->kick(pool_->queue);
    pool_.reset();
  }

 private:
  std::shared_ptr<balance::Backend> backend_;
  std::shared_ptr<PoolShared> pool_;
  const WaitingRoom* room_ = nullptr;
};

}  // namespace lb::proxy
