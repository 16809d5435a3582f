#include "lb/http/trailer_fields.h"

#include "lb/http/header_rewrite.h"

namespace lb::http {

bool forwardable_trailer(const HeaderList& trailers, size_t i) {
  const std::string_view name = trailers.name(i);
  if (name.empty() || name.front() == ':') return false;  // no field, or an HTTP/2 pseudo-header
  const FieldId id = trailers.id(i);
  // Connection itself goes with the hop-by-hop ones; the names it lists are
  // options of the message's head, not of its trailer section.
  return !always_hop_by_hop(id) && id != FieldId::content_length && id != FieldId::host;
}

void append_last_chunk(const HeaderList* trailers, std::string& out) {
  out.append("0\r\n");
  if (trailers) {
    for (size_t i = 0; i < trailers->size(); ++i) {
      if (!forwardable_trailer(*trailers, i)) continue;
      out.append(trailers->name(i));
      out.append(": ");
      out.append(trailers->value(i));
      out.append("\r\n");
    }
  }
  out.append("\r\n");
}

}  // namespace lb::http
