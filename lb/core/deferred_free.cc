#include "lb/core/deferred_free.h"

namespace lb {

DeferredFree::DeferredFree(uv_loop_t* loop) {
  check_.init(loop, uv_check_init);
  check_->data = this;
  uv_check_start(check_.get(), [](uv_check_t* c) { static_cast<DeferredFree*>(c->data)->run(); });
  uv_unref(check_.handle());  // never keeps the loop alive by itself
}

DeferredFree::~DeferredFree() { run(); }

void DeferredFree::retire(std::unique_ptr<Retirable> obj) { retired_.push_back(std::move(obj)); }

void DeferredFree::run() {
  // Destructors may retire more objects: swap first, loop until quiet.
  while (!retired_.empty()) {
    deleting_.swap(retired_);
    deleting_.clear();
  }
}

}  // namespace lb
