// Counts heap allocations of a process and its children, for tools/bench:
// LD_PRELOAD=count_allocs.so COUNT_ALLOCS_FILE=path proxy ...
// Every malloc, calloc, realloc, valloc and aligned allocation (operator
// new calls malloc) adds one to a 64-bit counter that lives in `path`,
// mapped shared: the bench reads the file before and after a round and
// divides the difference by the requests served, with no need to stop the
// proxy, and forked workers (nginx) add to the same counter. Without COUNT_ALLOCS_FILE,
// or if the file cannot be mapped, nothing is counted.
//
// free is wrapped too (not counted), so that a program that brings its own
// allocator still pairs every allocation made here with glibc's free.
// realloc counts every call, shrinking ones included.
//
// The wrappers forward to glibc's own entry points (__libc_malloc and
// friends) instead of dlsym(RTLD_NEXT): dlsym itself allocates, which would
// recurse before the first call returns.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);
extern void* __libc_valloc(size_t);
extern void* __libc_pvalloc(size_t);
extern void __libc_free(void*);

static uint64_t* counter;

__attribute__((constructor)) static void map_counter(void) {
  const char* path = getenv("COUNT_ALLOCS_FILE");
  if (!path) return;
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  void* p = MAP_FAILED;
  if (ftruncate(fd, sizeof(uint64_t)) == 0)
    p = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p != MAP_FAILED) counter = p;
}

static inline void count(void) {
  if (counter) __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

void* malloc(size_t n) {
  count();
  return __libc_malloc(n);
}

void* calloc(size_t k, size_t n) {
  count();
  return __libc_calloc(k, n);
}

void* realloc(void* p, size_t n) {
  count();
  return __libc_realloc(p, n);
}

void* memalign(size_t align, size_t n) {
  count();
  return __libc_memalign(align, n);
}

void* aligned_alloc(size_t align, size_t n) {
  count();
  return __libc_memalign(align, n);
}

int posix_memalign(void** out, size_t align, size_t n) {
  if (align < sizeof(void*) || (align & (align - 1)) != 0) return EINVAL;
  count();
  void* p = __libc_memalign(align, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}

void* valloc(size_t n) {
  count();
  return __libc_valloc(n);
}

void* pvalloc(size_t n) {
  count();
  return __libc_pvalloc(n);
}

void free(void* p) { __libc_free(p); }
