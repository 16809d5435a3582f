#pragma once
// The header edits a route applies to the request it forwards or to the
// response it relays (README "routes"): `set` replaces every field of that
// name, `add` appends one more, `remove` drops every field of that name.
// They are applied inside the one head rewrite (header_rewrite.h), after
// the hop-by-hop fields are dropped, so they can never bring one back.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lb::http {

struct HeaderEdits {
  std::vector<std::pair<std::string, std::string>> set;
  std::vector<std::pair<std::string, std::string>> add;
  std::vector<std::string> remove;

  bool empty() const { return set.empty() && add.empty() && remove.empty(); }
  // True when the message's own field `name` must not pass: it is removed
  // or replaced by a `set`. Names compare case-insensitively.
  bool drops(std::string_view name) const;
  // Appends the `set` then the `add` fields as "Name: value\r\n" lines.
  void append_fields(std::string& out) const;
};

enum class EditedMessage { request, response };

// Why a route may not edit `name` in such a message, or nullptr when it may.
// Hop-by-hop and framing fields belong to lbd (they describe one connection
// or this message's bytes), and on requests so do the X-Forwarded-For,
// X-Real-IP and X-Forwarded-Proto fields lbd sets from the client address.
const char* reserved_field(std::string_view name, EditedMessage message);

// A value a route may put in a field: no CR, LF, NUL or other control
// character but HTAB, no leading or trailing whitespace (RFC 9110 §5.5).
bool is_valid_field_value(std::string_view value);

}  // namespace lb::http
