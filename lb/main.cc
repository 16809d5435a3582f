// lbd: the composition root. Parses the command line, loads the config and
// hands over to the Daemon (DESIGN.md §1 "Command line").
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "lb/config/loader.h"
#include "lb/discovery/name_check.h"
#include "lb/log/log.h"
#include "lb/control/daemon.h"
#include "lb/tls/tls_context.h"

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "usage: lbd -c FILE            run in the foreground\n"
               "       lbd --check -c FILE    validate FILE, print every error, exit 0 or 2\n"
               "       lbd --version\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if ((!std::strcmp(a, "-c") || !std::strcmp(a, "--config")) && i + 1 < argc) {
      config_path = argv[++i];
    } else if (!std::strcmp(a, "--check") || !std::strcmp(a, "-t")) {
      check = true;
    } else if (!std::strcmp(a, "--version") || !std::strcmp(a, "-v")) {
      std::printf("lbd %s\n", LBD_VERSION);
      return 0;
    } else if (!std::strcmp(a, "--help") || !std::strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "lbd: unknown argument '%s'\n", a);
      usage(stderr);
      return 2;
    }
  }
  if (config_path.empty()) {
    usage(stderr);
    return 2;
  }

  lb::config::LoadResult loaded = lb::config::load_file(config_path);
  // A name that does not resolve would become a backend nobody can reach.
  if (check && loaded.ok()) loaded.errors = lb::discovery::check_names(*loaded.config);
  if (check) {
    for (const auto& w : loaded.warnings) std::printf("%s (warning)\n", w.to_string().c_str());
    if (loaded.ok()) {
      std::printf("%s: ok\n", config_path.c_str());
      return 0;
    }
    for (const auto& e : loaded.errors) std::printf("%s\n", e.to_string().c_str());
    return 2;
  }
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return 2;
  }

  // A peer that closes while we write must cost an EPIPE, not the process.
  std::signal(SIGPIPE, SIG_IGN);
  lb::log::setup_logging();
  try {  // the loader checked the certificates; they may have changed since
    lb::control::Daemon daemon(config_path, std::move(*loaded.config));
    return daemon.run();
  } catch (const lb::tls::TlsError& e) {
    std::fprintf(stderr, "lbd: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {  // e.g. no randomness for TLS ticket keys
    std::fprintf(stderr, "lbd: cannot start: %s\n", e.what());
    return 1;
  }
}
