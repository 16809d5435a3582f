#pragma once
// Whether the worker caches that reuse freed objects' memory (Exchanges,
// HTTP/2 streams) keep anything. Reuse turns a use after free into a silent
// read of the next request's data, so under AddressSanitizer they keep
// nothing and the use after free is still reported.
#if defined(__SANITIZE_ADDRESS__)
#define LB_RECYCLE_MEMORY 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LB_RECYCLE_MEMORY 0
#endif
#endif
#ifndef LB_RECYCLE_MEMORY
#define LB_RECYCLE_MEMORY 1
#endif
