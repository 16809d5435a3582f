#pragma once
// Header fields as text, one "name: value" line each: how the parser
// targets compare the heads of two parses of the same input.
#include <string>

#include "lb/http/header_list.h"

namespace lb::fuzz {

inline void append_fields(std::string& s, const http::HeaderList& headers) {
  for (size_t i = 0; i < headers.size(); ++i) {
    s += '\n';
    s += headers.name(i);
    s += ": ";
    s += headers.value(i);
  }
}

}  // namespace lb::fuzz
