#include "lb/http/request_parser_pool.h"

namespace lb::http {

std::unique_ptr<RequestParser> RequestParserPool::take(RequestEvents& events) {
  std::unique_ptr<RequestParser> p(free_.pop());
  if (!p) return std::make_unique<RequestParser>(events);
  p->reset(events);
  return p;
}

void RequestParserPool::give_back(std::unique_ptr<RequestParser> parser) {
  if (parser && free_.push(parser.get())) parser.release();
}

}  // namespace lb::http
