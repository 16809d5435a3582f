#include "lb/http/header_list.h"

namespace lb::http {

namespace {
char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; }
}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

FieldId classify_field(std::string_view n) {
  switch (n.size()) {
    case 2: return iequals(n, "te") ? FieldId::te : FieldId::other;
    case 4: return iequals(n, "host") ? FieldId::host : FieldId::other;
    case 6:
      if (iequals(n, "cookie")) return FieldId::cookie;
      return iequals(n, "expect") ? FieldId::expect : FieldId::other;
    case 7:
      if (iequals(n, "upgrade")) return FieldId::upgrade;
      return iequals(n, "trailer") ? FieldId::trailer : FieldId::other;
    case 9: return iequals(n, "x-real-ip") ? FieldId::x_real_ip : FieldId::other;
    case 10:
      if (iequals(n, "connection")) return FieldId::connection;
      return iequals(n, "keep-alive") ? FieldId::keep_alive : FieldId::other;
    case 12: return iequals(n, "x-request-id") ? FieldId::x_request_id : FieldId::other;
    case 14: return iequals(n, "content-length") ? FieldId::content_length : FieldId::other;
    case 15: return iequals(n, "x-forwarded-for") ? FieldId::x_forwarded_for : FieldId::other;
    case 16: return iequals(n, "proxy-connection") ? FieldId::proxy_connection : FieldId::other;
    case 17:
      if (iequals(n, "transfer-encoding")) return FieldId::transfer_encoding;
      return iequals(n, "x-forwarded-proto") ? FieldId::x_forwarded_proto : FieldId::other;
    default: return FieldId::other;
  }
}

std::optional<std::string_view> HeaderList::find(FieldId id) const {
  for (size_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].id == id) return value(i);
  return std::nullopt;
}

void HeaderList::end_value() {
  Entry& e = entries_.back();
  e.id = classify_field({buf_.data() + e.name_off, e.name_len});
  while (e.value_len > 0) {
    char c = buf_[e.value_off + e.value_len - 1];
    if (c != ' ' && c != '\t') break;
    --e.value_len;
  }
}

std::optional<std::string_view> HeaderList::find(std::string_view n) const {
  for (size_t i = 0; i < entries_.size(); ++i)
    if (iequals(name(i), n)) return value(i);
  return std::nullopt;
}

size_t HeaderList::remove(std::string_view n) {
  return std::erase_if(entries_, [&](const Entry& e) { return iequals({buf_.data() + e.name_off, e.name_len}, n); });
}

size_t HeaderList::count(std::string_view n) const {
  size_t c = 0;
  for (size_t i = 0; i < entries_.size(); ++i)
    if (iequals(name(i), n)) ++c;
  return c;
}

}  // namespace lb::http
