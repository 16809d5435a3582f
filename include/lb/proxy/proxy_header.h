#pragma once
// The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2)
// that a TCP balancer in front of lbd puts at the start of a connection to
// say who the client is. Pure byte-level code: no sockets, no uv.
//
// ProxyHeaderParser is fed the connection's first bytes as they arrive, in
// any cuts, and consumes exactly the header, never a byte past it, so what
// follows (a TLS ClientHello, an HTTP request) is left to the caller.
// Anything that is not a well-formed header is refused as early as the
// first wrong byte, so garbage costs nothing to reject:
//   v1  "PROXY TCP4|TCP6|UNKNOWN ...\r\n", at most 107 bytes, single spaces,
//       addresses of the declared family, ports 0..65535
//   v2  the 12-byte signature, version 2, command LOCAL or PROXY, family
//       UNSPEC/INET/INET6/UNIX, transport UNSPEC/STREAM/DGRAM, and a length
//       that must hold the family's addresses. The bytes after the addresses
//       must be a well-formed list of TLVs (each type, 16-bit length, value
//       inside the block); TLVs are checked and skipped, never kept, so the
//       parser's memory stays a few hundred bytes whatever the length.
// LOCAL (v2) and UNKNOWN (v1) carry no client: the connection's own peer
// stands. So do v2 UNSPEC and UNIX addresses, as the spec asks.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "lb/config/config.h"

namespace lb::proxy {

struct ProxyHeader {
  int version = 0;             // 1 or 2
  bool has_addresses = false;  // false: LOCAL / UNKNOWN / UNSPEC / UNIX: use the peer
  sockaddr_storage source{};   // the client, when has_addresses
  sockaddr_storage destination{};
};

class ProxyHeaderParser {
 public:
  // The longest v1 line the spec allows, CRLF included.
  static constexpr size_t kMaxV1Line = 107;

  enum class Status { need_more, done, error };
  struct Result {
    Status status;
    size_t consumed;  // header bytes taken from this call's input
  };

  // Takes header bytes from `data`. After `done` or `error` it takes no more.
  Result feed(const char* data, size_t len);

  // Valid after `done`.
  const ProxyHeader& header() const { return header_; }
  // Why it was refused (static text), after `error`.
  const char* error() const { return error_; }

 private:
  enum class State { detect, v1_line, v2_fixed, v2_addresses, v2_tlv_head, v2_tlv_value, v2_skip, finished };

  Result fail(const char* why, size_t consumed);
  bool step(uint8_t byte);  // false: refused (error_ set) or done
  bool v1_byte(uint8_t byte);
  bool v1_parse();
  bool v2_fixed_byte(uint8_t byte);
  bool v2_addresses_done();
  void v2_finish_if_done();

  State state_ = State::detect;
  ProxyHeader header_;
  const char* error_ = "";
  // v1: the line so far; v2: the 16-byte fixed part, then the addresses.
  uint8_t buf_[216];
  size_t have_ = 0;
  // v2: bytes of the address block + TLVs still to come, the addresses' size.
  size_t v2_left_ = 0;
  size_t v2_addr_len_ = 0;
  uint8_t v2_family_ = 0;
  uint8_t tlv_head_[3] = {};
  size_t tlv_have_ = 0;
  size_t tlv_value_left_ = 0;
};

// The header lbd sends to a backend (pool send_proxy_protocol) for a client
// at `source` that reached lbd at `destination`. Families must match; an
// address of another family (or none) gives v1 "UNKNOWN" / v2 LOCAL.
std::string proxy_header_v1(const sockaddr_storage& source, const sockaddr_storage& destination);
std::string proxy_header_v2(const sockaddr_storage& source, const sockaddr_storage& destination);
// For lbd's own connections (health checks): no client to speak for.
std::string proxy_header_v1_unknown();
std::string proxy_header_v2_local();
// What a health check of such a pool starts with: it speaks for no client.
std::string check_proxy_header(config::SendProxyProtocol mode);
// What a pool's send_proxy_protocol asks for ("" when off).
std::string proxy_header_for(config::SendProxyProtocol mode, const sockaddr_storage& source,
                             const sockaddr_storage& destination);

}  // namespace lb::proxy
