#include "lb/proxy/tunnel.h"

namespace lb::proxy {

Tunnel::Tunnel(TunnelSide& client_side, TunnelSide& upstream_side, TimerWheel& timers, Duration idle,
               TunnelOwner& owner)
    : sides_{&client_side, &upstream_side}, owner_(owner), idle_(idle) {
  timer_.init(timers, this, &Tunnel::on_idle);
}

void Tunnel::start() {
  if (idle_.count() > 0) timer_.expire_in(idle_);
  set_reading(client);
  set_reading(upstream);
}

void Tunnel::on_data(Side from, const BlockRef& block, const char* data, size_t len) {
  if (ended_ || len == 0) return;
  bytes_[from] += len;
  if (idle_.count() > 0) timer_.expire_in(idle_);
  TunnelSide& to = *sides_[other(from)];
  to.tunnel_send(block, data, len);
  if (ended_) return;  // the write failed at once and ended us
  if (to.tunnel_backlog() > kHighWater && !paused_[from]) {
    paused_[from] = true;
    set_reading(from);
  }
}

void Tunnel::on_eof(Side from) {
  if (ended_ || eof_[from]) return;
  eof_[from] = true;
  set_reading(from);
  // Half-close: the other side learns there is no more, and may still answer.
  sides_[other(from)]->tunnel_shutdown();
}

void Tunnel::on_error(Side, const char* why) { end(why); }

void Tunnel::on_drained(Side side) {
  if (ended_) return;
  const Side reader = other(side);
  sides_[reader]->tunnel_release_idle_block();
  if (paused_[reader] && sides_[side]->tunnel_backlog() < kLowWater) {
    paused_[reader] = false;
    set_reading(reader);
  }
}

void Tunnel::on_shutdown_done(Side side, int status) {
  if (ended_) return;
  if (status != 0) return end("shutdown failed");
  shut_[side] = true;
  if (shut_[client] && shut_[upstream]) end("closed by both sides");
}

void Tunnel::on_idle(void* p) { static_cast<Tunnel*>(p)->end("idle timeout"); }

void Tunnel::set_reading(Side s) {
  const bool want = !ended_ && !eof_[s] && !paused_[s];
  if (want == reading_[s]) return;
  reading_[s] = want;
  sides_[s]->tunnel_reading(want);
}

void Tunnel::end(const char* why) {
  if (ended_) return;
  ended_ = true;
  timer_.cancel();
  owner_.on_tunnel_end(why);  // may destroy nothing here: the owner frees us later
}

}  // namespace lb::proxy
