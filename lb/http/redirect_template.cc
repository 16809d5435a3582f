#include "lb/http/redirect_template.h"

namespace lb::http {

std::variant<RedirectTemplate, std::string> RedirectTemplate::parse(std::string_view text) {
  if (text.empty()) return std::string("must not be empty");
  RedirectTemplate t;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) t.pieces_.emplace_back(Piece::literal, std::move(literal));
    literal.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c <= 0x20 || c == 0x7f) return std::string("must not contain spaces or control characters");
    if (c == '}') return std::string("'}' without '{' at offset " + std::to_string(i));
    if (c != '{') {
      literal.push_back(char(c));
      continue;
    }
    const size_t close = text.find('}', i);
    if (close == std::string_view::npos) return std::string("'{' without '}' at offset " + std::to_string(i));
    const std::string_view name = text.substr(i + 1, close - i - 1);
    Piece p;
    if (name == "scheme") p = Piece::scheme;
    else if (name == "host") p = Piece::host;
    else if (name == "path") p = Piece::path;
    else if (name == "query") p = Piece::query;
    else return "unknown placeholder '{" + std::string(name) + "}' (valid: {scheme}, {host}, {path}, {query})";
    flush();
    t.pieces_.emplace_back(p, std::string());
    i = close;
  }
  flush();
  return t;
}

void RedirectTemplate::expand(const RedirectParts& parts, std::string& out) const {
  for (const auto& [piece, text] : pieces_) {
    switch (piece) {
      case Piece::literal: out.append(text); break;
      case Piece::scheme: out.append(parts.scheme); break;
      case Piece::host: out.append(parts.host); break;
      case Piece::path: out.append(parts.path); break;
      case Piece::query: out.append(parts.query); break;
    }
  }
}

}  // namespace lb::http
