#include "lb/core/slab_pool.h"

#include <sys/mman.h>

#include <cassert>
#include <cstdint>
#include <new>

namespace lb {

// At the start of each slab. Slots follow, from first_.
struct SlabPool::Slab {
  explicit Slab(SlabPool* pool) : owner(pool) {}
  SlabPool* owner;
  Slab* prev = nullptr;  // in partial_, while the slab has a free slot
  Slab* next = nullptr;
  void* free = nullptr;  // freed slots, each holding the next one's address
  size_t used = 0;       // objects allocated from this slab, not yet freed
  size_t fresh = 0;      // slots [fresh, capacity_) were never handed out
};

namespace {
size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }
}  // namespace

SlabPool::SlabPool(size_t object_size, size_t object_align) : object_size_(object_size) {
  assert(object_align != 0 && (object_align & (object_align - 1)) == 0 && object_align <= 64);
  const size_t align = object_align < alignof(void*) ? alignof(void*) : object_align;
  // A free slot holds a pointer to the next one.
  stride_ = round_up(object_size < sizeof(void*) ? sizeof(void*) : object_size, align);
  first_ = round_up(sizeof(Slab), align);
  capacity_ = (kSlabBytes - first_) / stride_;
  assert(capacity_ > 0);
}

SlabPool::~SlabPool() {
  // Objects still allocated (a teardown that lost some) keep their slabs
  // mapped rather than have the memory pulled out from under them.
  if (objects_ != 0) return;
  while (partial_) {
    Slab* s = partial_;
    unlink_partial(s);
    unmap_slab(s);
  }
}

void* SlabPool::allocate() {
  Slab* s = partial_ ? partial_ : map_slab();
  void* p;
  if (s->free) {
    p = s->free;
    s->free = *static_cast<void**>(p);
  } else {
    p = slot(s, s->fresh++);
  }
  ++s->used;
  ++objects_;
  if (full(s)) unlink_partial(s);
  return p;
}

void SlabPool::release(void* p) {
  if (p) slab_of(p)->owner->deallocate(p);
}

void SlabPool::deallocate(void* p) {
  Slab* s = slab_of(p);
  const bool was_full = full(s);
  *static_cast<void**>(p) = s->free;
  s->free = p;
  --s->used;
  --objects_;
  if (was_full) link_partial(s);
  // Empty: unmapped, unless no other slab has room (then it is the spare).
  if (s->used == 0 && (s->prev || s->next)) {
    unlink_partial(s);
    unmap_slab(s);
  }
}

SlabPool::Slab* SlabPool::map_slab() {
  // Twice the size, then the unaligned ends are given back: the slab starts
  // on a kSlabBytes boundary, so slab_of() is a mask.
  const size_t span = 2 * kSlabBytes;
  void* raw = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kSlabBytes - 1) & ~uintptr_t(kSlabBytes - 1);
  if (aligned > start) ::munmap(raw, aligned - start);
  const uintptr_t tail = aligned + kSlabBytes;
  if (tail < start + span) ::munmap(reinterpret_cast<void*>(tail), start + span - tail);
  auto* s = new (reinterpret_cast<void*>(aligned)) Slab(this);
  ++slabs_;
  link_partial(s);
  return s;
}

void SlabPool::unmap_slab(Slab* s) {
  s->~Slab();
  ::munmap(s, kSlabBytes);
  --slabs_;
}

void SlabPool::link_partial(Slab* s) {
  s->prev = nullptr;
  s->next = partial_;
  if (partial_) partial_->prev = s;
  partial_ = s;
}

void SlabPool::unlink_partial(Slab* s) {
  if (s->prev) s->prev->next = s->next;
  else partial_ = s->next;
  if (s->next) s->next->prev = s->prev;
  s->prev = s->next = nullptr;
}

bool SlabPool::full(const Slab* s) const { return !s->free && s->fresh == capacity_; }

char* SlabPool::slot(Slab* s, size_t i) const { return reinterpret_cast<char*>(s) + first_ + i * stride_; }

SlabPool::Slab* SlabPool::slab_of(void* p) {
  return reinterpret_cast<Slab*>(reinterpret_cast<uintptr_t>(p) & ~uintptr_t(kSlabBytes - 1));
}

}  // namespace lb
