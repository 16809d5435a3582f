#include "lb/http/request_parser_pool.h"

namespace lb::http {

std::unique_ptr<RequestParser> RequestParserPool::take(RequestEvents& events) {
  if (free_.empty()) return std::make_unique<RequestParser>(events);
  std::unique_ptr<RequestParser> p = std::move(free_.back());
  free_.pop_back();
  p->reset(events);
  return p;
}

void RequestParserPool::give_back(std::unique_ptr<RequestParser> parser) {
  if (!parser || free_.size() >= kMaxCached) return;
  free_.push_back(std::move(parser));
}

}  // namespace lb::http
