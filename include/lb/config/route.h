#pragma once
// One entry of a listener's `routes:` (DESIGN.md "Routes, second round"):
// what a request must look like, what to do with it, and how to rewrite
// it. Plain values, filled and validated by the loader; regular
// expressions are compiled there, once, and shared by every snapshot built
// from this config.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lb/config/cidr.h"
#include "lb/core/time.h"
#include "lb/http/header_edits.h"
#include "lb/http/path_rewrite.h"
#include "lb/http/redirect_template.h"

namespace re2 {
class RE2;
}

namespace lb::config {

struct HeaderMatch {
  enum class Kind { exact, regex, present };
  std::string name;
  Kind kind = Kind::exact;
  std::string value;                      // exact: the value; regex: the pattern as written
  std::shared_ptr<const re2::RE2> regex;  // kind regex
};

struct WeightedPool {
  std::string pool;
  uint32_t weight = 1;  // 0 sends nothing (a canary switched off)
};

enum class RouteAction { pool, split, redirect, respond };

struct Redirect {
  std::string to;  // as written
  http::RedirectTemplate target;
  int status = 302;
};

struct FixedAnswer {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain";
};

struct Route {
  std::string name;  // optional; metrics and the access log use the index otherwise
  // Match fields: each empty/absent one matches everything.
  std::string host;  // exact, or "*.suffix"; case-insensitive; port ignored
  std::string path_prefix;
  std::string path_exact;
  std::string path_regex;
  std::shared_ptr<const re2::RE2> path_re;
  std::vector<std::string> methods;  // upper-case tokens
  std::vector<HeaderMatch> headers;
  std::vector<Cidr> client_cidr;
  // The action: exactly one.
  RouteAction action = RouteAction::pool;
  std::string pool;                 // action pool
  std::vector<WeightedPool> pools;  // action split
  std::string split_by = "random";  // random | client_ip | header:NAME | cookie:NAME
  Redirect redirect;
  FixedAnswer respond;
  // Rewrites and overrides, for pool and split.
  http::PathRewrite path_rewrite;
  http::HeaderEdits request_headers;
  http::HeaderEdits response_headers;
  std::optional<Duration> response_timeout;  // overrides the pool's timeouts.response

  int line = 0;  // 1-based line of the entry in the file, for --check warnings

  // True when no match field is set: the route takes every request.
  bool matches_everything() const {
    return host.empty() && path_prefix.empty() && path_exact.empty() && path_regex.empty() && methods.empty() &&
           headers.empty() && client_cidr.empty();
  }
};

}  // namespace lb::config
