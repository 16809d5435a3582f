#include "lb/control/listener_binding.h"

#include "lb/proxy/listener.h"

namespace lb::control {

std::vector<const config::ListenerConfig*> added_listeners(const config::Config& previous,
                                                           const config::Config& next) {
  std::vector<const config::ListenerConfig*> added;
  for (const config::ListenerConfig& l : next.listeners) {
    bool kept = false;
    for (const config::ListenerConfig& o : previous.listeners)
      if (o.name == l.name && proxy::same_socket_address(o.listen, l.listen)) kept = true;
    if (!kept) added.push_back(&l);
  }
  return added;
}

bool bind_listeners(const std::vector<const config::ListenerConfig*>& listeners, unsigned count,
                    std::vector<std::vector<proxy::ListeningSocket>>* per_worker, std::string* error) {
  std::vector<std::vector<proxy::ListeningSocket>> sockets(count);
  for (const config::ListenerConfig* l : listeners) {
    for (unsigned w = 0; w < count; ++w) {
      int fd = proxy::open_listening_socket(l->listen, error);
      if (fd < 0) {
        *error = "listener " + l->name + ": " + *error;
        return false;  // `sockets` closes what was bound so far
      }
      sockets[w].emplace_back(l->name, l->listen, fd);
    }
  }
  *per_worker = std::move(sockets);
  return true;
}

}  // namespace lb::control
