#include "lb/http2/response_fields.h"

#include <string>

#include "lb/http/header_list.h"
#include "lb/http/header_rewrite.h"
#include "lb/http/trailer_fields.h"

namespace lb::http2 {

void H2Fields::add(std::string_view name, std::string_view value) {
  Field f{buf_.size(), name.size(), 0, value.size()};
  for (char c : name) buf_.push_back(c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c);
  f.value_off = buf_.size();
  buf_.append(value);
  fields_.push_back(f);
}

bool H2Fields::has(std::string_view n) const {
  for (size_t i = 0; i < size(); ++i)
    if (http::iequals(name(i), n)) return true;
  return false;
}

void response_fields(const http::ResponseHead& head, const http::HeaderEdits* edits, H2Fields& out) {
  out.add(":status", std::to_string(head.status));
  const http::HeaderList& hs = head.headers;
  for (size_t i = 0; i < hs.size(); ++i) {
    const std::string_view name = hs.name(i);
    if (name.empty() || http::is_hop_by_hop(name, hs)) continue;
    if (hs.id(i) == http::FieldId::content_length && head.chunked) continue;
    if (edits && edits->drops(name)) continue;
    out.add(name, hs.value(i));
  }
  if (edits) {
    for (const auto& [n, v] : edits->set) out.add(n, v);
    for (const auto& [n, v] : edits->add) out.add(n, v);
  }
}

void trailer_fields(const http::HeaderList& trailers, H2Fields& out) {
  for (size_t i = 0; i < trailers.size(); ++i)
    if (http::forwardable_trailer(trailers, i)) out.add(trailers.name(i), trailers.value(i));
}

void fixed_fields(int status, std::string_view lines, size_t body_len, H2Fields& out) {
  out.add(":status", std::to_string(status));
  while (!lines.empty()) {
    size_t eol = lines.find('\n');
    std::string_view line = lines.substr(0, eol);
    lines.remove_prefix(eol == std::string_view::npos ? lines.size() : eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.starts_with("HTTP/")) continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    std::string_view name = line.substr(0, colon), value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    const http::FieldId id = http::classify_field(name);
    if (http::always_hop_by_hop(id) || id == http::FieldId::content_length) continue;
    out.add(name, value);
  }
  if (body_len && !out.has("content-type")) out.add("content-type", "text/plain");
  if (status >= 400 && !out.has("cache-control")) out.add("cache-control", "no-store");
  out.add("content-length", std::to_string(body_len));
}

}  // namespace lb::http2
