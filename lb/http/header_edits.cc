#include "lb/http/header_edits.h"

#include "lb/http/header_list.h"
#include "lb/http/header_rewrite.h"

namespace lb::http {

bool HeaderEdits::drops(std::string_view name) const {
  for (const auto& [n, v] : set)
    if (iequals(n, name)) return true;
  for (const auto& n : remove)
    if (iequals(n, name)) return true;
  return false;
}

void HeaderEdits::append_fields(std::string& out) const {
  auto put = [&out](const std::pair<std::string, std::string>& f) {
    out.append(f.first);
    out.append(": ");
    out.append(f.second);
    out.append("\r\n");
  };
  for (const auto& f : set) put(f);
  for (const auto& f : add) put(f);
}

const char* reserved_field(std::string_view name, EditedMessage message) {
  const FieldId id = classify_field(name);
  if (always_hop_by_hop(id)) return "is a hop-by-hop field; lbd manages it for each connection";
  switch (id) {
    case FieldId::content_length:
      return "describes the message framing; lbd manages it";
    case FieldId::x_forwarded_for:
    case FieldId::x_real_ip:
    case FieldId::x_forwarded_proto:
      return message == EditedMessage::request ? "is set by lbd from the client connection" : nullptr;
    default:
      return nullptr;
  }
}

bool is_valid_field_value(std::string_view value) {
  if (!value.empty() && (value.front() == ' ' || value.front() == '\t' || value.back() == ' ' || value.back() == '\t'))
    return false;
  for (unsigned char c : value)
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  return true;
}

}  // namespace lb::http
