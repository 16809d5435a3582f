#pragma once
// Request parsers are lent to client connections only while a request is
// being read or answered: an idle keep-alive connection holds none, and the
// parser's buffers (header storage) are reused by the next request of any
// connection of the same worker. Single-threaded, one per worker.
#include <memory>
#include <vector>

#include "lb/http/request_parser.h"

namespace lb::http {

class RequestParserPool {
 public:
  std::unique_ptr<RequestParser> take(RequestEvents& events);
  void give_back(std::unique_ptr<RequestParser> parser);

 private:
  static constexpr size_t kMaxCached = 1024;
  std::vector<std::unique_ptr<RequestParser>> free_;
};

}  // namespace lb::http
