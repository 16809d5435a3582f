#pragma once
// The byte relay an upgraded connection becomes after 101 Switching
// Protocols (DESIGN.md §2): what one side sends is written to the other,
// reading a side stops while the other side's write queue is above the
// high-water mark, an EOF is passed on as a half-close (FIN after the queued
// bytes), and the tunnel ends when both directions are shut, on any error,
// or after timeouts.idle without a byte either way.
//
// Only WebSocket is tunnelled (lb/http/upgrade.h), so the relay follows the
// frame boundaries of both directions (lb/http/ws_frames.h) and can end the
// connection the WebSocket way when lbd must (stop, a drained or removed
// backend): close_with() puts a Close frame into each direction at its next
// frame boundary, FINs both sides, and ends once the client closed too.
//
// The relay knows nothing of sockets: each side is a TunnelSide, so the
// client side works the same over TCP or TLS, and the logic is tested on
// fake sides (tests/unit/proxy/tunnel_test.cc).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lb/core/block.h"
#include "lb/core/time.h"
#include "lb/core/timer_wheel.h"
#include "lb/http/ws_frames.h"

namespace lb::proxy {

// One connection of a tunnel, as the relay drives it.
class TunnelSide {
 public:
  virtual ~TunnelSide() = default;
  // Queues `len` bytes at `data` inside `block` and starts writing them.
  virtual void tunnel_send(const BlockRef& block, const char* data, size_t len) = 0;
  // Queues bytes of lbd's own (a Close frame) and starts writing them.
  virtual void tunnel_send_copy(std::string_view bytes) = 0;
  // Bytes queued and not yet written.
  virtual size_t tunnel_backlog() const = 0;
  virtual void tunnel_reading(bool on) = 0;
  // FIN once the queued bytes are out; completion comes back through
  // Tunnel::on_shutdown_done.
  virtual void tunnel_shutdown() = 0;
  // What this side sent was written by the other: let go of the read
  // Block it no longer shares (a quiet tunnel holds no Block).
  virtual void tunnel_release_idle_block() {}
};

class TunnelOwner {
 public:
  virtual ~TunnelOwner() = default;
  // The tunnel is over (`why` for the log); close both connections. Called
  // once; the tunnel ignores everything after it.
  virtual void on_tunnel_end(const char* why) = 0;
};

class Tunnel {
 public:
  enum Side { client = 0, upstream = 1 };
  // Above this many queued bytes on one side, the other side is not read.
  static constexpr size_t kHighWater = 256 * 1024;
  static constexpr size_t kLowWater = 64 * 1024;

  Tunnel(TunnelSide& client_side, TunnelSide& upstream_side, TimerWheel& timers, Duration idle,
         TunnelOwner& owner);
  Tunnel(const Tunnel&) = delete;
  Tunnel& operator=(const Tunnel&) = delete;

  // Starts reading both sides and the idle timer.
  void start();

  // lbd ends the tunnel itself: the client gets a Close frame with `code`
  // (http::kWsGoingAway at stop, kWsServiceRestart for a drained backend),
  // the backend a masked Close with kWsGoingAway, each at the next frame
  // boundary of its direction; nothing is relayed that way after it. The
  // bytes of a frame in flight still go through, for up to kCloseWait; a
  // direction whose frame does not end by then, or whose framing is broken,
  // is cut as before. The tunnel ends when the client closes its side after
  // its Close (it answers our FIN), or after kCloseWait.
  void close_with(uint16_t code);
  bool closing() const { return closing_; }
  static constexpr Duration kCloseWait = std::chrono::seconds(1);

  // What the sides report.
  void on_data(Side from, const BlockRef& block, const char* data, size_t len);
  void on_eof(Side from);
  void on_error(Side side, const char* why);
  void on_drained(Side side);  // a write on `side` completed
  void on_shutdown_done(Side side, int status);

  uint64_t bytes_from(Side s) const { return bytes_[s]; }
  bool ended() const { return ended_; }

 private:
  static Side other(Side s) { return s == client ? upstream : client; }
  static void on_idle(void* self);
  void set_reading(Side s);
  void end(const char* why);
  // Relays `len` bytes at `data` from `from` to the other side.
  void relay(Side from, const BlockRef& block, const char* data, size_t len);
  // Our Close frame towards `to`, then FIN; once per side.
  void send_close(Side to);
  void end_if_closed();

  TunnelSide* sides_[2];
  TunnelOwner& owner_;
  Duration idle_;
  DeadlineTimer timer_;
  uint64_t bytes_[2] = {0, 0};
  bool eof_[2] = {false, false};       // the side sent FIN
  bool paused_[2] = {false, false};    // not read: the other side is backed up
  bool reading_[2] = {false, false};   // as last told to the side
  bool shut_[2] = {false, false};      // our FIN to the side is out
  bool ended_ = false;
  // Frame boundaries of what each side sends (the client's frames are masked).
  http::WsFrames frames_[2] = {http::WsFrames(true), http::WsFrames(false)};
  bool closing_ = false;                    // close_with() was called
  uint16_t close_code_ = 0;                 // for the client
  bool close_done_[2] = {false, false};     // our Close is queued to the side (or cannot be sent)
};

}  // namespace lb::proxy
