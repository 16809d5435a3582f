#pragma once
// The listening sockets of one worker, and how a reload changes them without
// dropping a connection: a listener whose name and address stay the same
// keeps its socket (never closed and reopened, so nothing queued in its
// accept backlog is lost); a removed or moved one stops accepting at once
// and its connections finish what they are doing, then close; an added one
// starts on a socket the control thread has already bound
// (control::bind_listeners), so a reload that cannot bind fails before
// anything changes.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lb/config/config.h"
#include "lb/proxy/listener.h"
#include "lb/proxy/snapshot.h"
#include "lb/proxy/worker_context.h"

namespace lb::proxy {

// True when both name the same socket address ("0.0.0.0:80" and
// "0.0.0.0:080" do; host names are compared as written).
bool same_socket_address(const config::Address& a, const config::Address& b);

// A bound, listening fd that nobody has taken over yet; closed unless
// released. Made on the control thread, started on a worker's loop.
class ListeningSocket {
 public:
  ListeningSocket() = default;
  ListeningSocket(std::string name, config::Address address, int fd)
      : name_(std::move(name)), address_(std::move(address)), fd_(fd) {}
  ~ListeningSocket();
  ListeningSocket(ListeningSocket&& o) noexcept;
  ListeningSocket& operator=(ListeningSocket&& o) noexcept;
  ListeningSocket(const ListeningSocket&) = delete;
  ListeningSocket& operator=(const ListeningSocket&) = delete;

  const std::string& name() const { return name_; }
  const config::Address& address() const { return address_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  std::string name_;
  config::Address address_;
  int fd_ = -1;
};

class ListenerSet {
 public:
  explicit ListenerSet(WorkerContext& worker) : worker_(worker) {}

  // Start-up: binds and starts one socket per listener of `snapshot`.
  bool open(const Snapshot& snapshot, std::string* error);
  // Reload, after the worker has installed `snapshot`: retires listeners
  // it no longer has and starts `added` (sockets for listeners this worker
  // already runs are closed: two reloads may have been folded into one).
  void apply(const Snapshot& snapshot, std::vector<ListeningSocket> added);
  // Graceful stop: no more accepting anywhere.
  void close_all();
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    config::Address address;
    std::shared_ptr<ListenerIdentity> identity;
    std::unique_ptr<Listener> listener;
  };
  bool start(const std::string& name, const config::Address& address, std::shared_ptr<ListenerState> state,
             int fd, std::string* error);
  void retire(Entry& e);

  WorkerContext& worker_;
  std::vector<Entry> entries_;
};

}  // namespace lb::proxy
