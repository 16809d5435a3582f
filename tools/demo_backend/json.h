#pragma once
// The little JSON /echo needs: quoted strings.
#include <string>
#include <string_view>

namespace demo {

// Appends `s` as a JSON string literal. Bytes above 0x7F (header values may
// carry obs-text) become \u00XX, i.e. each byte one Latin-1 character, so the
// output is always valid JSON and `value.encode("latin-1")` gives the bytes back.
void append_json_string(std::string& out, std::string_view s);

}  // namespace demo
