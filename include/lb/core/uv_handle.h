#pragma once
// RAII ownership of libuv handles (DESIGN.md §3). A handle's memory may only
// be freed in its uv_close callback, so the owner never holds the handle by
// value: UvHandle<T> allocates it, and its destructor (or close()) calls
// uv_close with a callback that deletes it. handle->data belongs to the user.
//
//   UvHandle<uv_timer_t> timer;          // empty
//   timer.init(loop, uv_timer_init);     // allocated and initialised
//   timer->data = this;
//   timer.close();                       // freed once the loop runs the callback
#include <uv.h>

#include <utility>

namespace lb {

template <typename T>
class UvHandle {
 public:
  UvHandle() = default;
  ~UvHandle() { close(); }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;
  UvHandle(UvHandle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  UvHandle& operator=(UvHandle&& o) noexcept {
    if (this != &o) {
      close();
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }

  // Allocates and initialises with `init(loop, handle, args...)`; returns its result.
  template <typename Init, typename... Args>
  int init(uv_loop_t* loop, Init init_fn, Args&&... args) {
    close();
    h_ = new T{};
    int rc = init_fn(loop, h_, std::forward<Args>(args)...);
    if (rc != 0) {  // never registered with the loop: plain delete is safe
      delete h_;
      h_ = nullptr;
    }
    return rc;
  }

  // Closes the handle; memory is released in the close callback. The
  // optional callback runs first (with data still set) for owners that
  // must learn when the handle is really gone.
  void close(uv_close_cb before_free = nullptr) {
    if (!h_) return;
    T* h = std::exchange(h_, nullptr);
    auto* uh = reinterpret_cast<uv_handle_t*>(h);
    if (uv_is_closing(uh)) return;
    if (before_free) {
      // Stash the user callback where the trampoline can find it.
      struct Box { uv_close_cb cb; void* data; };
      uh->data = new Box{before_free, uh->data};
      uv_close(uh, [](uv_handle_t* handle) {
        auto* box = static_cast<Box*>(handle->data);
        handle->data = box->data;
        box->cb(handle);
        delete box;
        delete reinterpret_cast<T*>(handle);
      });
    } else {
      uv_close(uh, [](uv_handle_t* handle) { delete reinterpret_cast<T*>(handle); });
    }
  }

  T* get() const { return h_; }
  T* operator->() const { return h_; }
  explicit operator bool() const { return h_ != nullptr; }
  uv_handle_t* handle() const { return reinterpret_cast<uv_handle_t*>(h_); }
  uv_stream_t* stream() const { return reinterpret_cast<uv_stream_t*>(h_); }

 private:
  T* h_ = nullptr;
};

}  // namespace lb
