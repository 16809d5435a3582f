// lbd-demo-backend: a small HTTP/1.1 app server for lbd's demo and tests.
// See handlers.h for the endpoints, options.cc for the flags.
#include <uv.h>

#include <csignal>
#include <cstdio>

#include "options.h"
#include "server.h"

int main(int argc, char** argv) {
  int exit_code = 0;
  std::optional<demo::Options> options = demo::parse_options(argc, argv, exit_code);
  if (!options) return exit_code;
  std::signal(SIGPIPE, SIG_IGN);  // a vanished client is a write error, not a signal

  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    demo::Server server(&loop, *options);
    if (server.start() != 0) {
      exit_code = 1;
    } else {
      std::fprintf(stderr, "%s listening on %s\n", options->name.c_str(), server.bound_address().c_str());
      uv_run(&loop, UV_RUN_DEFAULT);
    }
  }
  uv_run(&loop, UV_RUN_DEFAULT);  // runs the close callbacks of a failed start
  if (uv_loop_close(&loop) != 0) {
    std::fprintf(stderr, "lbd-demo-backend: handles left open at exit\n");
    return 1;
  }
  return exit_code;
}
