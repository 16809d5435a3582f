#include "websocket.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <strings.h>

namespace demo {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
enum Opcode : uint8_t { kContinuation = 0, kText = 1, kBinary = 2, kClose = 8, kPing = 9, kPong = 10 };

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool contains_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view t = list.substr(0, comma);
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    if (iequal(t, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// An unmasked server frame (RFC 6455 §5.2).
void append_frame(std::string& out, uint8_t first_byte, std::string_view payload) {
  out.push_back(char(first_byte));
  const uint64_t n = payload.size();
  if (n < 126) {
    out.push_back(char(n));
  } else if (n <= 0xffff) {
    out.push_back(char(126));
    out.push_back(char(n >> 8));
    out.push_back(char(n));
  } else {
    out.push_back(char(127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(char(n >> shift));
  }
  out.append(payload);
}

void append_close(std::string& out, uint16_t code) {
  const char body[2] = {char(code >> 8), char(code)};
  append_frame(out, 0x80 | kClose, {body, 2});
}

}  // namespace

std::string_view websocket_key(const Request& req) {
  if (req.path() != "/ws" || req.method != "GET" || req.is_http10()) return {};
  bool upgrade = false, connection = false;
  std::string_view key;
  for (const auto& [name, value] : req.headers) {
    if (iequal(name, "Upgrade")) upgrade = contains_token(value, "websocket");
    else if (iequal(name, "Connection")) connection = connection || contains_token(value, "upgrade");
    else if (iequal(name, "Sec-WebSocket-Key")) key = value;
  }
  return upgrade && connection ? key : std::string_view{};
}

std::string websocket_accept(std::string_view key) {
  std::string text(key);
  text.append(kGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  unsigned char encoded[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(encoded, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(encoded), size_t(n));
}

bool WebSocketEcho::feed(std::string_view in, std::string& out) {
  if (!open_) return false;
  buf_.append(in);
  while (take_frame(out)) {
  }
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return open_;
}

bool WebSocketEcho::take_frame(std::string& out) {
  if (!open_) return false;
  const std::string_view b = std::string_view(buf_).substr(pos_);
  if (b.size() < 2) return false;
  const uint8_t b0 = uint8_t(b[0]), b1 = uint8_t(b[1]);
  const uint8_t opcode = b0 & 0x0f;
  size_t at = 2;
  uint64_t len = b1 & 0x7f;
  if (len == 126 || len == 127) {
    const size_t ext = len == 126 ? 2 : 8;
    if (b.size() < at + ext) return false;
    len = 0;
    for (size_t i = 0; i < ext; ++i) len = (len << 8) | uint8_t(b[at + i]);
    at += ext;
  }
  if (!(b1 & 0x80) || (b0 & 0x70) || len > kMaxPayload) {  // clients must mask; no extensions
    append_close(out, len > kMaxPayload ? 1009 : 1002);
    open_ = false;
    return false;
  }
  if (b.size() < at + 4 + len) return false;
  const char* mask = b.data() + at;
  std::string payload(b.substr(at + 4, len));
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = char(payload[i] ^ mask[i % 4]);
  pos_ += at + 4 + len;

  switch (opcode) {
    case kContinuation:
    case kText:
    case kBinary:
      append_frame(out, b0, payload);  // same FIN bit and opcode: fragments echo as fragments
      if (close_after_ && ++echoed_ >= close_after_) {
        append_close(out, 1000);
        open_ = false;
      }
      return open_;
    case kPing:
      append_frame(out, 0x80 | kPong, payload);
      return true;
    case kPong:
      return true;
    case kClose:
      append_frame(out, 0x80 | kClose, std::string_view(payload).substr(0, 2));
      open_ = false;
      return false;
    default:
      append_close(out, 1002);
      open_ = false;
      return false;
  }
}

}  // namespace demo
