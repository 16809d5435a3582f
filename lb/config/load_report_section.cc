// A pool's `load_report:` section: where least_load (and the
// lbd_backend_reported_load gauge) gets each backend's own idea of its load.
#include "lb/config/sections.h"
#include "lb/http/header_list.h"

namespace lb::config::yaml {
namespace {

// A Prometheus metric name: [a-zA-Z_:][a-zA-Z0-9_:]*.
bool is_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

}  // namespace

LoadReport read_load_report(const Field& field) {
  LoadReport r;
  MapReader m(field);
  if (auto f = m.get("header")) {
    // Empty means off; anything else must be a header name, and not one
    // lbd frames or routes by: the header is removed from every response.
    auto text = as_string(*f);
    if (text && !text->empty()) {
      if (!is_token(*text))
        f->error("must be a header name (RFC 9110 token characters)");
      else if (http::classify_field(*text) != http::FieldId::other)
        f->error("'" + *text + "' is a header lbd itself interprets; choose another (e.g. X-Backend-Load)");
      else
        r.header = *text;
    }
  }
  if (auto f = m.get("metric")) {
    auto text = as_string(*f);
    if (text && !text->empty()) {
      if (is_metric_name(*text))
        r.metric = *text;
      else
        f->error("must be a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), e.g. vllm:num_requests_waiting");
    }
  }
  auto path = assign(m.get("path"), r.path, as_non_empty_string);
  if (path && !r.path.starts_with('/')) path->error("must start with '/'");
  if (path && r.path.find_first_of(" \t\r\n") != std::string::npos) path->error("must not contain spaces or line breaks");
  if (auto f = assign(m.get("interval"), r.interval, as_positive_duration); f && r.interval < std::chrono::milliseconds(100))
    f->error("must be at least 100ms");
  return r;
}

}  // namespace lb::config::yaml
