#include "lb/proxy/waiting_room.h"

#include <vector>

namespace lb::proxy {

namespace {
// How often a worker with waiters looks again without being woken.
constexpr uint64_t kTickMs = 50;
}  // namespace

void WaitingRoom::List::push_back(QueuedRequest& r) {
  r.prev_ = tail;
  r.next_ = nullptr;
  (tail ? tail->next_ : head) = &r;
  tail = &r;
  ++size;
}

void WaitingRoom::List::insert_ordered(QueuedRequest& r) {
  QueuedRequest* after = tail;
  while (after && after->ticket_ > r.ticket_) after = after->prev_;
  r.prev_ = after;
  r.next_ = after ? after->next_ : head;
  (r.next_ ? r.next_->prev_ : tail) = &r;
  (after ? after->next_ : head) = &r;
  ++size;
}

void WaitingRoom::List::remove(QueuedRequest& r) {
  (r.prev_ ? r.prev_->next_ : head) = r.next_;
  (r.next_ ? r.next_->prev_ : tail) = r.prev_;
  r.prev_ = r.next_ = nullptr;
  --size;
}

WaitingRoom::WaitingRoom(uv_loop_t* loop, unsigned worker) : worker_(worker) {
  tick_.init(loop, uv_timer_init);
  tick_->data = this;
}

WaitingRoom::~WaitingRoom() { close(); }

void WaitingRoom::close() { tick_.close(); }

void WaitingRoom::join(PoolQueue& queue, uint64_t ticket, bool pinned, QueuedRequest& r) {
  r.queue_ = &queue;
  r.ticket_ = ticket;
  r.pinned_ = pinned;
  Lines& lines = lines_[&queue];
  (pinned ? lines.pinned : lines.unpinned).insert_ordered(r);
  ++count_;
  publish(&queue, lines);
  update_tick();
}

void WaitingRoom::leave(QueuedRequest& r) {
  PoolQueue* queue = r.queue_;
  if (!queue) return;
  auto it = lines_.find(queue);
  if (it != lines_.end()) {
    Lines& lines = it->second;
    (r.pinned_ ? lines.pinned : lines.unpinned).remove(r);
    publish(queue, lines);
    if (!draining_ && lines.unpinned.size == 0 && lines.pinned.size == 0) lines_.erase(it);
  }
  r.queue_ = nullptr;
  queue->left();
  --count_;
  update_tick();
}

void WaitingRoom::publish(PoolQueue* queue, const Lines& lines) const {
  queue->publish(worker_, lines.unpinned.head ? lines.unpinned.head->ticket_ : PoolQueue::kNoTicket,
                 lines.pinned.size);
}

void WaitingRoom::drain_all() {
  if (draining_ || lines_.empty()) return;
  draining_ = true;
  std::vector<PoolQueue*> queues;
  queues.reserve(lines_.size());
  for (const auto& [queue, lines] : lines_) queues.push_back(queue);
  for (PoolQueue* q : queues) drain(q);
  draining_ = false;
  sweep_empty();
}

void WaitingRoom::drain(PoolQueue* queue) {
  auto it = lines_.find(queue);
  if (it == lines_.end()) return;
  Lines& lines = it->second;  // stays valid: no erase while draining_

  // Pinned waiters go whenever their own backend has room.
  for (QueuedRequest* r = lines.pinned.head; r;) {
    QueuedRequest* next = r->next_;
    if (r->try_admit() == QueuedRequest::Admit::unpinned && r->queue_ == queue && r->pinned_) {
      lines.pinned.remove(*r);
      r->pinned_ = false;
      lines.unpinned.insert_ordered(*r);
    }
    r = next;
  }

  // Unpinned waiters in ticket order, while this worker holds the oldest.
  while (QueuedRequest* r = lines.unpinned.head) {
    // Only the running workers publish: no need to look at all 256 shares.
    const auto [other, other_ticket] =
        queue->oldest_elsewhere(worker_, wakers_ ? unsigned(wakers_->size()) : config::kMaxWorkers);
    if (other_ticket < r->ticket_) {
      if (wakers_) wakers_->wake(other);
      break;
    }
    if (r->try_admit() != QueuedRequest::Admit::admitted) break;
  }
  publish(queue, lines);
}

void WaitingRoom::sweep_empty() {
  for (auto it = lines_.begin(); it != lines_.end();) {
    if (it->second.unpinned.size == 0 && it->second.pinned.size == 0) {
      it = lines_.erase(it);
    } else {
      ++it;
    }
  }
}

void WaitingRoom::update_tick() {
  const bool want = count_ > 0;
  if (want == ticking_ || !tick_) return;
  ticking_ = want;
  if (want) {
    uv_timer_start(tick_.get(), [](uv_timer_t* t) { static_cast<WaitingRoom*>(t->data)->drain_all(); }, kTickMs,
                   kTickMs);
  } else {
    uv_timer_stop(tick_.get());
  }
}

}  // namespace lb::proxy
