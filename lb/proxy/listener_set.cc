#include "lb/proxy/listener_set.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <cstring>

#include <spdlog/spdlog.h>

#include "lb/proxy/client_connection.h"

namespace lb::proxy {

bool same_socket_address(const config::Address& a, const config::Address& b) {
  if (a.port != b.port) return false;
  unsigned char ba[sizeof(in6_addr)] = {}, bb[sizeof(in6_addr)] = {};
  for (int family : {AF_INET, AF_INET6}) {
    const bool pa = inet_pton(family, a.host.c_str(), ba) == 1;
    const bool pb = inet_pton(family, b.host.c_str(), bb) == 1;
    if (pa || pb) return pa && pb && std::memcmp(ba, bb, sizeof ba) == 0;
  }
  return a.host == b.host;
}

// ---- ListeningSocket -----------------------------------------------------

ListeningSocket::~ListeningSocket() {
  if (fd_ >= 0) ::close(fd_);
}

ListeningSocket::ListeningSocket(ListeningSocket&& o) noexcept
    : name_(std::move(o.name_)), address_(std::move(o.address_)), fd_(std::exchange(o.fd_, -1)) {}

ListeningSocket& ListeningSocket::operator=(ListeningSocket&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    name_ = std::move(o.name_);
    address_ = std::move(o.address_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

bool ListenerSet::start(const std::string& name, const config::Address& address,
                        std::shared_ptr<ListenerState> state, int fd, std::string* error) {
  auto identity = std::make_shared<ListenerIdentity>(ListenerIdentity{name, std::move(state)});
  auto listener = std::make_unique<Listener>(worker_, identity);
  if (!listener->start(fd, error)) return false;
  entries_.push_back({address, std::move(identity), std::move(listener)});
  return true;
}

bool ListenerSet::open(const Snapshot& snapshot, std::string* error) {
  for (const ListenerRuntime& lr : snapshot.listeners) {
    int fd = open_listening_socket(lr.config->listen, error);
    if (fd < 0) return false;
    if (!start(lr.config->name, lr.config->listen, lr.state, fd, error)) return false;
  }
  return true;
}

void ListenerSet::apply(const Snapshot& snapshot, std::vector<ListeningSocket> added) {
  auto in_snapshot = [&](const std::string& name, const config::Address& address) -> const ListenerRuntime* {
    const ListenerRuntime* lr = snapshot.find_listener(name);
    return lr && same_socket_address(lr->config->listen, address) ? lr : nullptr;
  };
  for (size_t i = 0; i < entries_.size();) {
    if (in_snapshot(entries_[i].identity->name, entries_[i].address)) {
      ++i;
      continue;
    }
    retire(entries_[i]);
    entries_.erase(entries_.begin() + ptrdiff_t(i));
  }
  for (ListeningSocket& s : added) {
    const ListenerRuntime* lr = in_snapshot(s.name(), s.address());
    bool running = false;
    for (const Entry& e : entries_)
      if (e.identity->name == s.name() && same_socket_address(e.address, s.address())) running = true;
    if (!lr || running) continue;  // folded reloads: `s` closes its fd
    std::string error;
    if (start(s.name(), s.address(), lr->state, s.release(), &error)) {
      spdlog::info("worker {}: listener {} accepting on {}", worker_.index, s.name(), s.address().text);
    } else {
      spdlog::error("worker {}: {}", worker_.index, error);
    }
  }
}

void ListenerSet::retire(Entry& e) {
  spdlog::info("worker {}: listener {} on {} removed by reload; its connections finish, then close",
               worker_.index, e.identity->name, e.address.text);
  e.listener->close();
  e.identity->retired = true;
  // Idle keep-alive connections close now; busy ones after their response,
  // which says Connection: close.
  for (ClientConnection* c = worker_.clients; c;) {
    ClientConnection* next = c->next_client;
    if (c->listener_identity() == e.identity.get()) c->close_if_idle();
    c = next;
  }
}

void ListenerSet::close_all() {
  for (Entry& e : entries_) e.listener->close();
}

}  // namespace lb::proxy
