#pragma once
// A worker's cache of objects to reuse (read Blocks, request parsers, write
// batches), so that steady traffic allocates nothing. It grows to the
// largest burst it has served. trim(), called every second or so, frees the
// items that sat unused through the whole interval since the previous trim:
// the fewest the list held at any moment in it. A list in steady use keeps
// what it reuses; after a burst, what the burst took goes back to the
// allocator within two intervals instead of staying for the process's life.
// Single-threaded, like the worker that owns it. Items are freed with delete.
#include <algorithm>
#include <cstddef>
#include <vector>

namespace lb {

template <class T>
class FreeList {
 public:
  explicit FreeList(size_t max_cached) : max_cached_(max_cached) {}
  ~FreeList() {
    for (T* item : items_) delete item;
  }
  FreeList(const FreeList&) = delete;
  FreeList& operator=(const FreeList&) = delete;

  // The most recently returned item (its memory is the likeliest to be in
  // cache), or nullptr when the list is empty.
  T* pop() {
    if (items_.empty()) return nullptr;
    T* item = items_.back();
    items_.pop_back();
    low_water_ = std::min(low_water_, items_.size());
    return item;
  }
  // false: the list is full and the caller frees `item` itself.
  bool push(T* item) {
    if (items_.size() >= max_cached_) return false;
    items_.push_back(item);
    return true;
  }
  // Frees the items unused since the previous trim, the least recently
  // returned first; returns how many it freed.
  size_t trim() {
    const size_t unused = std::min(low_water_, items_.size());
    for (size_t i = 0; i < unused; ++i) delete items_[i];
    items_.erase(items_.begin(), items_.begin() + ptrdiff_t(unused));
    if (items_.capacity() > 64 && items_.size() < items_.capacity() / 4) items_.shrink_to_fit();
    low_water_ = items_.size();
    return unused;
  }
  size_t size() const { return items_.size(); }

 private:
  size_t max_cached_;
  size_t low_water_ = 0;  // fewest items held since the previous trim
  std::vector<T*> items_;
};

}  // namespace lb
