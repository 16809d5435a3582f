// RequestParser with its HeadScanner, driven as ClientConnection drives it.
// Each input is parsed twice: in one read by a fresh parser, and in reads
// cut where the input says by a pooled parser reset() between inputs. Both
// must see the same messages and the same verdict: a difference is a parser
// that depends on read boundaries or on the request before.
#include <cstdint>
#include <memory>
#include <string>

#include "fuzz_check.h"
#include "request_recorder.h"

namespace {

constexpr uint64_t kMaxHeaderBytes = 2048;  // small, so 431 is within reach

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lb;
  const std::string wire(reinterpret_cast<const char*>(data), size);

  fuzz::RequestRecorder whole_rec;
  http::RequestParser fresh(whole_rec);
  fresh.set_max_header_bytes(kMaxHeaderBytes);
  std::vector<size_t> one_read;
  if (size) one_read.push_back(size);
  const fuzz::RequestOutcome whole = fuzz::drive_requests(fresh, whole_rec, wire, one_read);

  // Pooled like ClientConnection's parsers: reset() must forget the last input.
  static fuzz::RequestRecorder idle;
  static auto pooled = std::make_unique<http::RequestParser>(idle);
  fuzz::RequestRecorder split_rec;
  pooled->reset(split_rec);
  pooled->set_max_header_bytes(kMaxHeaderBytes);
  const fuzz::RequestOutcome split = fuzz::drive_requests(*pooled, split_rec, wire, fuzz::read_cuts(data, size));

  if (!(whole == split)) {
    std::fprintf(stderr, "whole: status %d error %d parsed %zu messages %zu\n", int(whole.last), whole.error_status,
                 whole.parsed, whole.messages.size());
    std::fprintf(stderr, "split: status %d error %d parsed %zu messages %zu\n", int(split.last), split.error_status,
                 split.parsed, split.messages.size());
  }
  FUZZ_CHECK(whole == split);
  return 0;
}
