#pragma once
// Request parsers are lent to client connections only while a request is
// being read or answered: an idle keep-alive connection holds none, and the
// parser's buffers (header storage) are reused by the next request of any
// connection of the same worker. Single-threaded, one per worker.
#include <memory>

#include "lb/core/free_list.h"
#include "lb/http/request_parser.h"

namespace lb::http {

class RequestParserPool {
 public:
  std::unique_ptr<RequestParser> take(RequestEvents& events);
  void give_back(std::unique_ptr<RequestParser> parser);
  // Frees the parsers no request needed since the previous trim (see
  // FreeList); returns the bytes freed, not counting their header storage.
  size_t trim() { return free_.trim() * sizeof(RequestParser); }

 private:
  static constexpr size_t kMaxCached = 1024;
  FreeList<RequestParser> free_{kMaxCached};
};

}  // namespace lb::http
