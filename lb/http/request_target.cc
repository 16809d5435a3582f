#include "lb/http/request_target.h"

#include <vector>

#include "lb/http/header_list.h"

namespace lb::http {

std::optional<AbsoluteTarget> split_absolute_form(std::string_view target) {
  if (target.empty() || target.front() == '/') return std::nullopt;
  size_t scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  std::string_view scheme = target.substr(0, scheme_end);
  if (!iequals(scheme, "http") && !iequals(scheme, "https")) return std::nullopt;
  std::string_view rest = target.substr(scheme_end + 3);
  size_t path_start = rest.find_first_of("/?");
  AbsoluteTarget t;
  t.authority = rest.substr(0, path_start);
  if (path_start == std::string_view::npos) {
    t.origin = "/";
  } else if (rest[path_start] == '?') {
    t.origin = rest.substr(path_start);  // caller prefixes "/"
  } else {
    t.origin = rest.substr(path_start);
  }
  if (t.authority.empty()) return std::nullopt;
  return t;
}

namespace {

constexpr char kHex[] = "0123456789ABCDEF";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~".
bool unreserved(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// Where the path of `target` starts and ends; npos when it has none.
std::pair<size_t, size_t> path_span(std::string_view target) {
  size_t start = 0;
  if (target.empty() || target.front() != '/') {
    const auto absolute = split_absolute_form(target);
    if (!absolute || absolute->origin.front() != '/' || absolute->origin.data() < target.data() ||
        absolute->origin.data() >= target.data() + target.size())
      return {std::string_view::npos, 0};
    start = size_t(absolute->origin.data() - target.data());
  }
  const size_t end = target.find_first_of("?#", start);
  return {start, end == std::string_view::npos ? target.size() : end};
}

}  // namespace

const char* normalise_target(std::string& target) {
  const auto [start, end] = path_span(target);
  if (start == std::string_view::npos) return nullptr;
  const std::string_view path = std::string_view(target).substr(start, end - start);

  // Percent-decoding of unreserved characters first, so that `%2E` takes
  // part in dot-segment removal.
  std::string decoded;
  decoded.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') {
      decoded.push_back(path[i]);
      continue;
    }
    const int hi = i + 2 < path.size() ? hex_value(path[i + 1]) : -1;
    const int lo = hi >= 0 ? hex_value(path[i + 2]) : -1;
    if (lo < 0) return "malformed percent-encoding in the path";
    const int c = hi * 16 + lo;
    if (c == '/' || c == '\\' || c == 0) return "encoded '/', '\\' or NUL in the path";
    if (unreserved(c)) {
      decoded.push_back(char(c));
    } else {
      decoded.push_back('%');
      decoded.push_back(kHex[hi]);
      decoded.push_back(kHex[lo]);
    }
    i += 2;
  }

  // Dot-segments and empty segments, over the segments between slashes.
  std::vector<std::string_view> segments;
  bool trailing_slash = false;
  std::string_view rest(decoded);
  rest.remove_prefix(1);  // the leading '/'
  while (true) {
    const size_t slash = rest.find('/');
    const std::string_view seg = rest.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
      trailing_slash = last;
    } else if (seg == "." || seg.empty()) {
      trailing_slash = last ? true : trailing_slash;
    } else {
      segments.push_back(seg);
      trailing_slash = false;
    }
    if (last) break;
    rest.remove_prefix(slash + 1);
  }
  std::string out;
  out.reserve(decoded.size());
  for (std::string_view seg : segments) {
    out.push_back('/');
    out.append(seg);
  }
  if (trailing_slash || segments.empty()) out.push_back('/');
  if (out != path) target.replace(start, end - start, out);
  return nullptr;
}

bool is_normal_path(std::string_view target) {
  const auto [start, end] = path_span(target);
  if (start == std::string_view::npos) return true;
  const std::string_view path = target.substr(start, end - start);
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%') {
      if (i + 2 >= path.size()) return false;
      const int hi = hex_value(path[i + 1]), lo = hex_value(path[i + 2]);
      if (hi < 0 || lo < 0 || path[i + 1] != kHex[hi] || path[i + 2] != kHex[lo]) return false;
      const int c = hi * 16 + lo;
      if (unreserved(c) || c == '/' || c == '\\' || c == 0) return false;
      i += 2;
    } else if (path[i] == '/') {
      const size_t next = path.find('/', i + 1);
      const std::string_view seg = path.substr(i + 1, next == std::string_view::npos ? next : next - i - 1);
      if (seg == "." || seg == "..") return false;
      if (seg.empty() && next != std::string_view::npos) return false;  // "//"
    }
  }
  return true;
}

}  // namespace lb::http
