#include "slots.h"

#include <algorithm>

namespace demo {

Slots::Slots(uint64_t capacity, uint64_t max_waiting)
    : capacity_(capacity), max_waiting_(std::min(max_waiting, kMaxWaiting)) {}

void Slots::take() {
  ++in_use_;
  peak_in_use_ = std::max(peak_in_use_, in_use_);
}

bool Slots::try_acquire() {
  if (!slot_free() || !waiting_.empty()) {
    ++refused_;
    return false;
  }
  take();
  return true;
}

Slots::Admission Slots::acquire_or_wait(SlotWaiter* waiter) {
  if (slot_free() && waiting_.empty()) {
    take();
    return Admission::granted;
  }
  if (waiting_.size() < max_waiting_) {
    waiting_.push_back(waiter);
    return Admission::queued;
  }
  ++refused_;
  return Admission::refused;
}

SlotWaiter* Slots::release() {
  if (in_use_ == 0) return nullptr;  // nothing held: a caller bug, kept harmless
  if (waiting_.empty()) {
    --in_use_;
    return nullptr;
  }
  // The slot changes hands: in_use_ stays as it is.
  SlotWaiter* next = waiting_.front();
  waiting_.pop_front();
  return next;
}

void Slots::cancel(SlotWaiter* waiter) {
  auto it = std::find(waiting_.begin(), waiting_.end(), waiter);
  if (it != waiting_.end()) waiting_.erase(it);
}

}  // namespace demo
