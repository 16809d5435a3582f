#include "lb/proxy/client_address.h"

#include <arpa/inet.h>

#include <cstring>

#include "lb/config/cidr.h"
#include "lb/http/ows.h"

namespace lb::proxy {

void ClientAddress::assign(const sockaddr_storage& address) {
  addr_.assign(address);
  text_[0] = '-';
  text_[1] = 0;
  if (address.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&address)->sin_addr, text_, sizeof text_);
  else if (address.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&address)->sin6_addr, text_, sizeof text_);
}

bool ClientAddress::assign_text(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  char buf[INET6_ADDRSTRLEN];
  // inet_pton would stop at a NUL and take what is before it.
  if (text.empty() || text.size() >= sizeof buf || text.find('\0') != std::string_view::npos) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  sockaddr_storage a{};
  if (inet_pton(AF_INET, buf, &reinterpret_cast<sockaddr_in*>(&a)->sin_addr) == 1) {
    a.ss_family = AF_INET;
  } else if (inet_pton(AF_INET6, buf, &reinterpret_cast<sockaddr_in6*>(&a)->sin6_addr) == 1) {
    a.ss_family = AF_INET6;
  } else {
    return false;
  }
  assign(a);
  return true;
}

ClientAddress request_client(const ClientAddress& connection, const std::vector<config::Cidr>& trusted,
                             const std::vector<std::string_view>& forwarded_for) {
  ClientAddress current = connection;
  if (trusted.empty() || !config::any_contains(trusted, current.bytes())) return current;
  // Right to left over the fields, and over each field's comma-separated entries.
  for (auto field = forwarded_for.rbegin(); field != forwarded_for.rend(); ++field) {
    std::string_view rest = *field;
    while (true) {
      const size_t comma = rest.rfind(',');
      const std::string_view entry = http::trim_ows(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
      if (!entry.empty()) {
        ClientAddress next;
        if (!next.assign_text(entry)) return current;  // garbled: believe no further
        current = next;
        if (!config::any_contains(trusted, current.bytes())) return current;
      }
      if (comma == std::string_view::npos) break;
      rest = rest.substr(0, comma);
    }
  }
  return current;  // every hop trusted: the leftmost
}

}  // namespace lb::proxy
