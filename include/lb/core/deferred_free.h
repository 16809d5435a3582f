#pragma once
// Objects that finish inside a callback chain (an exchange whose response
// just ended, say) are not deleted there: callers further up the stack may
// still touch them. They are handed to DeferredFree and deleted once the
// loop turn is over, from a uv_check handle (DESIGN.md §3).
#include <uv.h>

#include <memory>
#include <vector>

#include "lb/core/uv_handle.h"

namespace lb {

class Retirable {
 public:
  virtual ~Retirable() = default;
};

class DeferredFree {
 public:
  explicit DeferredFree(uv_loop_t* loop);
  ~DeferredFree();
  void retire(std::unique_ptr<Retirable> obj);
  void run();  // deletes everything retired so far

 private:
  UvHandle<uv_check_t> check_;
  std::vector<std::unique_ptr<Retirable>> retired_;
  // The batch being deleted. Both vectors keep their capacity from turn to
  // turn: retiring allocates nothing in steady state.
  std::vector<std::unique_ptr<Retirable>> deleting_;
};

}  // namespace lb
