#include "lb/proxy/tunnel.h"

#include <openssl/rand.h>

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
  if (closing_) {
    // After our Close nothing more goes that way (read and dropped, so the
    // socket closes without unread bytes); before it, only the rest of the
    // frame in flight.
    if (close_done_[other(from)]) return;
    const size_t n = frames_[from].feed(data, len, true);
    relay(from, block, data, n);
    if (!ended_ && frames_[from].at_boundary()) send_close(other(from));
    return;
  }
  frames_[from].feed(data, len);
  if (idle_.count() > 0) timer_.expire_in(idle_);
  relay(from, block, data, len);
}

void Tunnel::relay(Side from, const BlockRef& block, const char* data, size_t len) {
  if (len == 0) return;
  TunnelSide& to = *sides_[other(from)];
  to.tunnel_send(block, data, len);
  if (ended_) return;  // the write failed at once and ended us
  if (to.tunnel_backlog() > kHighWater && !paused_[from]) {
    paused_[from] = true;
    set_reading(from);
  }
}

void Tunnel::close_with(uint16_t code) {
  if (ended_ || closing_) return;
  closing_ = true;
  close_code_ = code;
  timer_.expire_in(kCloseWait);  // from now on the timer bounds the close, not idleness
  // A side that already sent its FIN mid-frame will never finish that
  // frame: the way towards `to` is over, nothing waits for it.
  for (Side to : {client, upstream})
    if (eof_[other(to)] || frames_[other(to)].at_boundary()) send_close(to);
}

void Tunnel::send_close(Side to) {
  if (ended_ || close_done_[to]) return;
  close_done_[to] = true;
  // After the other side's EOF we already sent `to` our FIN; after a Close
  // the peer sent `to` itself, a second one would break RFC 6455 §5.5.1
  // (the peer's close handshake runs its course): either way no frame.
  if (!eof_[other(to)] && !frames_[other(to)].saw_close()) {
    if (to == client) {
      sides_[client]->tunnel_send_copy(http::ws_close_frame(close_code_, nullptr));
    } else {
      uint8_t key[4] = {0x5a, 0x17, 0xc3, 0x8e};  // fixed only if OpenSSL has no randomness
      RAND_bytes(key, sizeof key);
      sides_[upstream]->tunnel_send_copy(http::ws_close_frame(http::kWsGoingAway, key));
    }
    if (ended_) return;
  }
  if (!eof_[other(to)]) sides_[to]->tunnel_shutdown();
  end_if_closed();
}

void Tunnel::end_if_closed() {
  // Both sides have our Close and our FIN (a shutdown completes once the
  // writes queued before it are out, so ending cuts nothing), and the
  // client closed its side: nothing is left to say. kCloseWait bounds it.
  if (closing_ && close_done_[client] && close_done_[upstream] && shut_[client] && shut_[upstream] && eof_[client])
    end("closed by lbd");
}

void Tunnel::on_eof(Side from) {
  if (ended_ || eof_[from]) return;
  eof_[from] = true;
  set_reading(from);
  if (closing_) {
    // The frame in flight from this side will not end: that way is cut.
    if (!close_done_[other(from)]) {
      close_done_[other(from)] = true;
      sides_[other(from)]->tunnel_shutdown();
    }
    return end_if_closed();
  }
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
  if (closing_) return end_if_closed();  // wait for the client's end, not only ours
  if (shut_[client] && shut_[upstream]) end("closed by both sides");
}

void Tunnel::on_idle(void* p) {
  auto* self = static_cast<Tunnel*>(p);
  self->end(self->closing_ ? "close timeout" : "idle timeout");
}

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
