#include "lb/http/upgrade.h"

#include "lb/http/header_rewrite.h"

namespace lb::http {

namespace {

bool names_token(std::string_view list, std::string_view token) {
  bool found = false;
  for_each_token(list, [&](std::string_view t) {
    // "websocket/13": a protocol with a version still names the protocol.
    const std::string_view name = t.substr(0, t.find('/'));
    if (iequals(name, token)) found = true;
  });
  return found;
}

}  // namespace

std::string_view forwarded_upgrade(const RequestHead& req) {
  if (!req.upgrade || req.method != HTTP_GET || req.has_body() || req.major != 1 || req.minor != 1) return {};
  std::string_view value;
  bool websocket = false;
  for (size_t i = 0; i < req.headers.size(); ++i) {
    if (req.headers.id(i) != FieldId::upgrade) continue;
    if (!value.empty()) return {};  // two Upgrade fields: ambiguous, serve as HTTP
    value = req.headers.value(i);
    if (names_token(value, "h2c")) return {};
    websocket = names_token(value, "websocket");
  }
  return websocket ? value : std::string_view{};
}

bool accepts_upgrade(const ResponseHead& resp) {
  if (resp.status != 101) return false;
  const auto value = resp.headers.find(FieldId::upgrade);
  return value && names_token(*value, "websocket");
}

void write_switching_protocols_head(const ResponseHead& resp, std::string& out) {
  out.append("HTTP/1.1 101 ");
  out.append(resp.reason.empty() ? std::string_view("Switching Protocols") : std::string_view(resp.reason));
  out.append("\r\n");
  const HeaderList& hs = resp.headers;
  std::string_view upgrade;
  for (size_t i = 0; i < hs.size(); ++i) {
    if (hs.id(i) == FieldId::upgrade && upgrade.empty()) upgrade = hs.value(i);
    if (is_hop_by_hop(hs.name(i), hs)) continue;
    out.append(hs.name(i));
    out.append(": ");
    out.append(hs.value(i));
    out.append("\r\n");
  }
  out.append("Connection: upgrade\r\nUpgrade: ");
  out.append(upgrade);
  out.append("\r\n\r\n");
}

}  // namespace lb::http
