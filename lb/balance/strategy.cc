#include "lb/balance/strategy.h"

#include <algorithm>

namespace lb::balance {

void BackendSet::insert(size_t index) {
  if (index < 64) {
    bits_ |= uint64_t{1} << index;
  } else if (!overflow_contains(index)) {
    overflow_.push_back(index);
  }
}

bool BackendSet::overflow_contains(size_t index) const {
  return std::find(overflow_.begin(), overflow_.end(), index) != overflow_.end();
}

size_t index_of(const BackendList& backends, const Backend* b) {
  if (!b) return static_cast<size_t>(-1);
  const size_t hint = b->list_position_hint();
  if (hint < backends.size() && backends[hint].get() == b) return hint;
  for (size_t i = 0; i < backends.size(); ++i) {
    if (backends[i].get() != b) continue;
    b->set_list_position_hint(i);
    return i;
  }
  return static_cast<size_t>(-1);
}

}  // namespace lb::balance
