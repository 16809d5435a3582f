#include "lb/proxy/proxy_header.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>
#include <string_view>

namespace lb::proxy {

namespace {

constexpr uint8_t kV2Signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::string_view kV1Prefix = "PROXY ";
constexpr size_t kV2Fixed = 16;

// v2 families (high nibble of byte 13) and the size of their addresses.
constexpr uint8_t kUnspec = 0, kInet = 1, kInet6 = 2, kUnix = 3;
size_t v2_address_size(uint8_t family) {
  switch (family) {
    case kInet: return 12;
    case kInet6: return 36;
    case kUnix: return 216;
    default: return 0;
  }
}

// A decimal port: 1 to 5 digits, 0..65535.
bool parse_port(std::string_view s, uint16_t& port) {
  if (s.empty() || s.size() > 5) return false;
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v > 65535) return false;
  port = uint16_t(v);
  return true;
}

bool parse_ip(std::string_view s, int family, uint16_t port, sockaddr_storage& out) {
  char text[INET6_ADDRSTRLEN];
  if (s.empty() || s.size() >= sizeof text) return false;
  std::memcpy(text, s.data(), s.size());
  text[s.size()] = 0;
  out = {};
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&out);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    return inet_pton(AF_INET, text, &a->sin_addr) == 1;
  }
  auto* a = reinterpret_cast<sockaddr_in6*>(&out);
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(port);
  return inet_pton(AF_INET6, text, &a->sin6_addr) == 1;
}

uint16_t be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }

}  // namespace

ProxyHeaderParser::Result ProxyHeaderParser::fail(const char* why, size_t consumed) {
  state_ = State::finished;
  error_ = why;
  return {Status::error, consumed};
}

ProxyHeaderParser::Result ProxyHeaderParser::feed(const char* data, size_t len) {
  if (state_ == State::finished) return {*error_ ? Status::error : Status::done, 0};
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  size_t i = 0;
  while (i < len) {
    // TLV values and skipped blocks go by in bulk: they are not looked at.
    if (state_ == State::v2_tlv_value || state_ == State::v2_skip) {
      size_t& left = state_ == State::v2_skip ? v2_left_ : tlv_value_left_;
      const size_t n = std::min(left, len - i);
      left -= n;
      if (state_ == State::v2_tlv_value) v2_left_ -= n;
      i += n;
      if (left == 0) {
        if (state_ == State::v2_tlv_value) state_ = State::v2_tlv_head;
        v2_finish_if_done();
      }
    } else {
      const bool go_on = step(p[i++]);
      if (!go_on && *error_) return {Status::error, i};
    }
    if (state_ == State::finished) return {Status::done, i};
  }
  return {Status::need_more, i};
}

bool ProxyHeaderParser::step(uint8_t byte) {
  switch (state_) {
    case State::detect:
      if (byte == 'P') {
        state_ = State::v1_line;
        return v1_byte(byte);
      }
      if (byte == kV2Signature[0]) {
        state_ = State::v2_fixed;
        return v2_fixed_byte(byte);
      }
      error_ = "the connection does not start with a PROXY protocol header";
      state_ = State::finished;
      return false;
    case State::v1_line:
      return v1_byte(byte);
    case State::v2_fixed:
      return v2_fixed_byte(byte);
    case State::v2_addresses:
      buf_[have_++] = byte;
      --v2_left_;
      if (have_ == v2_addr_len_) return v2_addresses_done();
      return true;
    case State::v2_tlv_head:
      tlv_head_[tlv_have_++] = byte;
      --v2_left_;
      if (tlv_have_ < 3) {
        if (v2_left_ == 0) {
          error_ = "PROXY v2 TLV cut short by the header length";
          state_ = State::finished;
          return false;
        }
        return true;
      }
      tlv_have_ = 0;
      tlv_value_left_ = be16(tlv_head_ + 1);
      if (tlv_value_left_ > v2_left_) {
        error_ = "PROXY v2 TLV longer than the header";
        state_ = State::finished;
        return false;
      }
      state_ = State::v2_tlv_value;
      if (tlv_value_left_ == 0) state_ = State::v2_tlv_head;
      v2_finish_if_done();
      return true;
    default:
      return false;  // bulk states are handled by feed()
  }
}

// ---- version 1 -------------------------------------------------------------

bool ProxyHeaderParser::v1_byte(uint8_t byte) {
  auto refuse = [this](const char* why) {
    error_ = why;
    state_ = State::finished;
    return false;
  };
  if (have_ < kV1Prefix.size()) {
    if (byte != uint8_t(kV1Prefix[have_])) return refuse("the connection does not start with a PROXY protocol header");
    buf_[have_++] = byte;
    return true;
  }
  if (byte == '\n') {
    if (buf_[have_ - 1] != '\r') return refuse("PROXY v1 line ends without CR");
    buf_[have_++] = byte;
    return v1_parse();
  }
  if (have_ + 1 >= kMaxV1Line) return refuse("PROXY v1 line longer than 107 bytes");
  // Printable ASCII, and CR only as the line's end.
  if ((byte < 0x20 || byte > 0x7e) && byte != '\r') return refuse("PROXY v1 line holds a control byte");
  if (have_ > 0 && buf_[have_ - 1] == '\r') return refuse("PROXY v1 line has CR inside it");
  buf_[have_++] = byte;
  return true;
}

bool ProxyHeaderParser::v1_parse() {
  // buf_ is "PROXY <rest>\r\n"
  std::string_view rest(reinterpret_cast<const char*>(buf_) + kV1Prefix.size(), have_ - kV1Prefix.size() - 2);
  state_ = State::finished;
  header_.version = 1;
  if (rest == "UNKNOWN" || rest.starts_with("UNKNOWN ")) return false;  // done: the peer stands (the rest is ignored)
  std::string_view fields[5];
  size_t n = 0;
  while (n < 5) {
    const size_t sp = rest.find(' ');
    fields[n++] = rest.substr(0, sp);
    if (sp == std::string_view::npos) {
      rest = {};
      break;
    }
    rest.remove_prefix(sp + 1);
    if (n == 5) {
      error_ = "PROXY v1 line has too many fields";
      return false;
    }
  }
  if (n != 5) {
    error_ = "PROXY v1 line needs protocol, two addresses and two ports";
    return false;
  }
  int family;
  if (fields[0] == "TCP4") family = AF_INET;
  else if (fields[0] == "TCP6") family = AF_INET6;
  else {
    error_ = "PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN";
    return false;
  }
  uint16_t sport, dport;
  if (!parse_port(fields[3], sport) || !parse_port(fields[4], dport)) {
    error_ = "PROXY v1 port is not a number 0..65535";
    return false;
  }
  if (!parse_ip(fields[1], family, sport, header_.source) || !parse_ip(fields[2], family, dport, header_.destination)) {
    error_ = "PROXY v1 address is not one of the declared family";
    return false;
  }
  header_.has_addresses = true;
  return false;
}

// ---- version 2 -------------------------------------------------------------

bool ProxyHeaderParser::v2_fixed_byte(uint8_t byte) {
  auto refuse = [this](const char* why) {
    error_ = why;
    state_ = State::finished;
    return false;
  };
  if (have_ < sizeof kV2Signature) {
    if (byte != kV2Signature[have_]) return refuse("the connection does not start with a PROXY protocol header");
    buf_[have_++] = byte;
    return true;
  }
  buf_[have_++] = byte;
  if (have_ == 13) {
    if (byte >> 4 != 2) return refuse("PROXY v2 version is not 2");
    if ((byte & 0xF) > 1) return refuse("PROXY v2 command is neither LOCAL nor PROXY");
    return true;
  }
  if (have_ == 14) {
    if (byte >> 4 > kUnix) return refuse("PROXY v2 address family is unknown");
    if ((byte & 0xF) > 2) return refuse("PROXY v2 transport is unknown");
    return true;
  }
  if (have_ < kV2Fixed) return true;
  // The fixed part is complete.
  header_.version = 2;
  v2_left_ = be16(buf_ + 14);
  const bool local = (buf_[12] & 0xF) == 0;
  v2_family_ = buf_[13] >> 4;
  v2_addr_len_ = v2_address_size(v2_family_);
  have_ = 0;
  if (local || v2_family_ == kUnspec) {
    // No client to take: the whole block is skipped, unread.
    state_ = State::v2_skip;
    v2_finish_if_done();
    return true;
  }
  if (v2_left_ < v2_addr_len_) return refuse("PROXY v2 length too short for its addresses");
  state_ = State::v2_addresses;
  return true;
}

bool ProxyHeaderParser::v2_addresses_done() {
  if (v2_family_ == kInet) {
    auto* s = reinterpret_cast<sockaddr_in*>(&header_.source);
    auto* d = reinterpret_cast<sockaddr_in*>(&header_.destination);
    s->sin_family = d->sin_family = AF_INET;
    std::memcpy(&s->sin_addr, buf_, 4);
    std::memcpy(&d->sin_addr, buf_ + 4, 4);
    std::memcpy(&s->sin_port, buf_ + 8, 2);  // both in network order already
    std::memcpy(&d->sin_port, buf_ + 10, 2);
    header_.has_addresses = true;
  } else if (v2_family_ == kInet6) {
    auto* s = reinterpret_cast<sockaddr_in6*>(&header_.source);
    auto* d = reinterpret_cast<sockaddr_in6*>(&header_.destination);
    s->sin6_family = d->sin6_family = AF_INET6;
    std::memcpy(&s->sin6_addr, buf_, 16);
    std::memcpy(&d->sin6_addr, buf_ + 16, 16);
    std::memcpy(&s->sin6_port, buf_ + 32, 2);
    std::memcpy(&d->sin6_port, buf_ + 34, 2);
    header_.has_addresses = true;
  }  // UNIX: no IP client; the peer stands
  state_ = State::v2_tlv_head;
  v2_finish_if_done();
  return true;
}

void ProxyHeaderParser::v2_finish_if_done() {
  if (v2_left_ != 0) return;
  // tlv_head with a partial head is refused in step() before getting here.
  state_ = State::finished;
}

// ---- writing -----------------------------------------------------------------

std::string proxy_header_v1_unknown() { return "PROXY UNKNOWN\r\n"; }

std::string proxy_header_v2_local() {
  std::string out(reinterpret_cast<const char*>(kV2Signature), sizeof kV2Signature);
  out += char(0x20);  // version 2, LOCAL
  out += char(0x00);  // UNSPEC, UNSPEC
  out += char(0);
  out += char(0);
  return out;
}

std::string proxy_header_v1(const sockaddr_storage& source, const sockaddr_storage& destination) {
  if (source.ss_family != destination.ss_family ||
      (source.ss_family != AF_INET && source.ss_family != AF_INET6))
    return proxy_header_v1_unknown();
  char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
  uint16_t sp, dp;
  if (source.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&source);
    const auto* b = reinterpret_cast<const sockaddr_in*>(&destination);
    inet_ntop(AF_INET, &a->sin_addr, s, sizeof s);
    inet_ntop(AF_INET, &b->sin_addr, d, sizeof d);
    sp = ntohs(a->sin_port);
    dp = ntohs(b->sin_port);
  } else {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&source);
    const auto* b = reinterpret_cast<const sockaddr_in6*>(&destination);
    inet_ntop(AF_INET6, &a->sin6_addr, s, sizeof s);
    inet_ntop(AF_INET6, &b->sin6_addr, d, sizeof d);
    sp = ntohs(a->sin6_port);
    dp = ntohs(b->sin6_port);
  }
  std::string out = "PROXY ";
  out += source.ss_family == AF_INET ? "TCP4 " : "TCP6 ";
  out += s;
  out += ' ';
  out += d;
  out += ' ';
  out += std::to_string(sp);
  out += ' ';
  out += std::to_string(dp);
  out += "\r\n";
  return out;
}

std::string proxy_header_v2(const sockaddr_storage& source, const sockaddr_storage& destination) {
  if (source.ss_family != destination.ss_family ||
      (source.ss_family != AF_INET && source.ss_family != AF_INET6))
    return proxy_header_v2_local();
  std::string out(reinterpret_cast<const char*>(kV2Signature), sizeof kV2Signature);
  out += char(0x21);  // version 2, PROXY
  auto append = [&out](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); };
  if (source.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&source);
    const auto* b = reinterpret_cast<const sockaddr_in*>(&destination);
    out += char(0x11);  // INET, STREAM
    out += char(0);
    out += char(12);
    append(&a->sin_addr, 4);
    append(&b->sin_addr, 4);
    append(&a->sin_port, 2);
    append(&b->sin_port, 2);
  } else {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&source);
    const auto* b = reinterpret_cast<const sockaddr_in6*>(&destination);
    out += char(0x21);  // INET6, STREAM
    out += char(0);
    out += char(36);
    append(&a->sin6_addr, 16);
    append(&b->sin6_addr, 16);
    append(&a->sin6_port, 2);
    append(&b->sin6_port, 2);
  }
  return out;
}

std::string check_proxy_header(config::SendProxyProtocol mode) {
  switch (mode) {
    case config::SendProxyProtocol::v1: return proxy_header_v1_unknown();
    case config::SendProxyProtocol::v2: return proxy_header_v2_local();
    case config::SendProxyProtocol::off: break;
  }
  return {};
}

std::string proxy_header_for(config::SendProxyProtocol mode, const sockaddr_storage& source,
                             const sockaddr_storage& destination) {
  switch (mode) {
    case config::SendProxyProtocol::v1: return proxy_header_v1(source, destination);
    case config::SendProxyProtocol::v2: return proxy_header_v2(source, destination);
    case config::SendProxyProtocol::off: break;
  }
  return {};
}

}  // namespace lb::proxy
