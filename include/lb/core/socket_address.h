#pragma once
// An IPv4 or IPv6 socket address in the 28 bytes sockaddr_in6 needs, where
// sockaddr_storage takes 128. A client connection keeps four (its peer, the
// PROXY header's source, the current request's client, its local address),
// and a balancer holds idle connections by the hundred thousand: 400 bytes
// each is memory an operator pays for. sockaddr_storage stays at the edges
// (getpeername, PROXY headers, the hash of an address); other families are
// kept as "unspecified".
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string_view>

namespace lb {

class SocketAddress {
 public:
  SocketAddress() { std::memset(&u_, 0, sizeof u_); }
  explicit SocketAddress(const sockaddr_storage& address) { assign(address); }

  void assign(const sockaddr_storage& address) {
    std::memset(&u_, 0, sizeof u_);
    if (address.ss_family == AF_INET) std::memcpy(&u_.v4, &address, sizeof u_.v4);
    if (address.ss_family == AF_INET6) std::memcpy(&u_.v6, &address, sizeof u_.v6);
  }

  sockaddr_storage storage() const {
    sockaddr_storage out{};
    std::memcpy(&out, &u_, sizeof u_);
    return out;
  }
  sa_family_t family() const { return u_.v4.sin_family; }

  // The 4 or 16 address bytes; empty when unspecified.
  std::string_view ip_bytes() const {
    if (family() == AF_INET) return {reinterpret_cast<const char*>(&u_.v4.sin_addr), sizeof u_.v4.sin_addr};
    if (family() == AF_INET6) return {reinterpret_cast<const char*>(&u_.v6.sin6_addr), sizeof u_.v6.sin6_addr};
    return {};
  }

 private:
  union {
    sockaddr_in6 v6;
    sockaddr_in v4;
  } u_;
};

static_assert(sizeof(SocketAddress) == sizeof(sockaddr_in6));

}  // namespace lb
