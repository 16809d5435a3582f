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

void HeaderList::end_value() {
  Entry& e = entries_.back();
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

size_t HeaderList::count(std::string_view n) const {
  size_t c = 0;
  for (size_t i = 0; i < entries_.size(); ++i)
    if (iequals(name(i), n)) ++c;
  return c;
}

}  // namespace lb::http
