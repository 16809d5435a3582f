#pragma once
// A route's redirect target, e.g. "https://{host}{path}{query}": parsed
// once at config load into literal text and placeholders, expanded per
// request without searching the text again.
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace lb::http {

struct RedirectParts {
  std::string_view scheme;  // "http" | "https": how the client reached lbd
  std::string_view host;    // the request's host, without its port
  std::string_view path;    // the normalised path, without the query
  std::string_view query;   // "?..." or ""
};

class RedirectTemplate {
 public:
  // The template, or why it is unusable: an unknown or unclosed
  // placeholder, a control character or a space (a Location value must be
  // one URI reference), or nothing at all.
  static std::variant<RedirectTemplate, std::string> parse(std::string_view text);

  void expand(const RedirectParts& parts, std::string& out) const;

 private:
  enum class Piece { literal, scheme, host, path, query };
  std::vector<std::pair<Piece, std::string>> pieces_;
};

}  // namespace lb::http
