#pragma once
// Memory for many long-lived objects of one size (client connections), kept
// apart from the short-lived memory of requests.
//
// Why: malloc puts a new object in whatever free chunk fits. A connection
// accepted while a burst of requests is being served lands between that
// burst's parsers, Exchanges and buffers; once the burst is over and those
// are freed, nearly every page still holds a connection, and no page can go
// back to the kernel (malloc_trim gives back whole free pages only).
// Measured with 5,000 clients that each connect and send at once, then
// stay idle: 1.4 to 1.5 KiB of RSS per idle connection with client and
// upstream connections from malloc, 0.8 to 1.1 from slabs, 0.6 when the
// clients came one at a time.
//
// How: objects live in 64 KiB slabs, aligned so that an object's slab is
// found from its address, and mapped for them alone. A slab's pages are
// touched only as its slots are first handed out; a freed slot is reused
// before a fresh one, and a slab with a free slot before a new slab is
// mapped. A slab whose last object is freed is unmapped, unless it is the
// only one with room left: a server that accepts and closes one connection
// at a time does not map and unmap a slab for each.
//
// Failure mode: a few long-lived objects scattered over many slabs pin up
// to 64 KiB each, as in any slab allocator. New objects fill the slabs that
// have room first, which is what keeps that rare.
//
// Single-threaded: each worker owns its pools, and an object is freed by
// its worker's thread, or after that thread has been joined (the worker's
// teardown). A slab knows its pool, so freeing needs no pool at hand.
#include <cstddef>
#include <new>

#include "lb/core/recycling.h"

namespace lb {

class SlabPool {
 public:
  static constexpr size_t kSlabBytes = 64 * 1024;

  // Objects of at most `object_size` bytes, aligned to `object_align` (a
  // power of two of at most 64).
  SlabPool(size_t object_size, size_t object_align);
  // Unmaps every slab, if every object was freed.
  ~SlabPool();
  SlabPool(const SlabPool&) = delete;
  SlabPool& operator=(const SlabPool&) = delete;

  // Throws std::bad_alloc when no slab can be mapped.
  void* allocate();
  // Back to the pool that allocated `p` (null: nothing).
  static void release(void* p);

  size_t object_size() const { return object_size_; }
  size_t objects_per_slab() const { return capacity_; }
  size_t slabs() const { return slabs_; }     // mapped
  size_t objects() const { return objects_; }  // allocated, not yet freed

 private:
  struct Slab;
  void deallocate(void* p);
  Slab* map_slab();
  void unmap_slab(Slab* s);
  void link_partial(Slab* s);
  void unlink_partial(Slab* s);
  bool full(const Slab* s) const;
  char* slot(Slab* s, size_t i) const;
  static Slab* slab_of(void* p);

  size_t object_size_;
  size_t stride_;     // bytes from one slot to the next
  size_t first_;      // offset of slot 0 from the slab's start
  size_t capacity_;   // slots per slab
  Slab* partial_ = nullptr;  // slabs with a free slot, the last one freed into first
  size_t slabs_ = 0;
  size_t objects_ = 0;
};

// A base for a class whose objects live in a SlabPool:
//   class ClientConnection final : public SlabAllocated<ClientConnection>
//   new (*worker.client_memory) ClientConnection(...);   // a plain new does not compile
//   delete connection;                                    // back to that pool
// Under AddressSanitizer they come from the ordinary heap, so that a use
// after free is still reported (lb/core/recycling.h).
template <class T>
class SlabAllocated {
 public:
  static void* operator new(size_t size, SlabPool& pool) {
    if (!LB_RECYCLE_MEMORY) return ::operator new(size);
    if (size > pool.object_size()) throw std::bad_alloc();  // a pool made for another type
    return pool.allocate();
  }
  // Only if the constructor throws.
  static void operator delete(void* p, SlabPool&) { operator delete(p); }
  static void operator delete(void* p) {
    if (!LB_RECYCLE_MEMORY) return ::operator delete(p);
    SlabPool::release(p);
  }
};

}  // namespace lb
