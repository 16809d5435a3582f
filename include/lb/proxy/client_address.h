#pragma once
// The client's true address: one value per connection and per request that
// everything using a client address reads (rate limiting, ip_hash,
// consistent_hash on client_ip, route matching, X-Real-IP, logs).
//
// A connection's address is its peer's, or the source of its PROXY header
// when the listener has `proxy_protocol: true` and the peer is trusted (any
// peer when `trusted_proxies` is empty: such a port is reachable only by the
// balancers in front). A request's address starts as its connection's; when
// that is in `trusted_proxies`, X-Forwarded-For is read from the right and
// the first entry that is not itself trusted is the client (nginx's
// real_ip_recursive). If every entry is trusted, the leftmost is; an entry
// that is not an IP address ends the walk, keeping the last trusted hop, so a
// forged or garbled field never makes lbd believe more than its proxies said.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "lb/config/config.h"
#include "lb/core/socket_address.h"

namespace lb::proxy {

class ClientAddress {
 public:
  // From a socket or a PROXY header: IPv4 or IPv6 with its port.
  void assign(const sockaddr_storage& address);
  // Parses an IP literal (an X-Forwarded-For entry; "[v6]" is accepted).
  bool assign_text(std::string_view text);

  const char* text() const { return text_; }
  // The 4 or 16 address bytes (hashing, CIDR matching); empty when unknown.
  std::string_view bytes() const { return addr_.ip_bytes(); }
  sockaddr_storage sockaddr() const { return addr_.storage(); }

 private:
  SocketAddress addr_;
  char text_[INET6_ADDRSTRLEN] = "-";
};

// The request's client per the rules above. `forwarded_for` holds the
// values of the request's X-Forwarded-For fields in the order received.
// Returns `connection` itself unless it is trusted and an entry says more.
ClientAddress request_client(const ClientAddress& connection, const std::vector<config::Cidr>& trusted,
                             const std::vector<std::string_view>& forwarded_for);

}  // namespace lb::proxy
