// The PROXY protocol header, as a balancer (or anyone who can reach a
// proxy_protocol listener) can send it. The input is fed in the read cuts
// it chooses (fuzz_check.h). What must hold:
//  - the parser never takes a byte past the header, and takes all bytes
//    it is given while it needs more;
//  - a v1 header is at most 107 bytes;
//  - the same bytes in one piece give the same verdict and length;
//  - a header that parsed with addresses is written back (v1 and v2) into
//    a header that parses to the same addresses.
#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_check.h"
#include "lb/proxy/proxy_header.h"

namespace {

using lb::proxy::ProxyHeaderParser;
using Status = ProxyHeaderParser::Status;

struct Verdict {
  Status status = Status::need_more;
  size_t consumed = 0;
};

Verdict run(const uint8_t* data, const std::vector<size_t>& cuts, ProxyHeaderParser& p) {
  Verdict v;
  size_t at = 0;
  for (size_t piece : cuts) {
    const auto r = p.feed(reinterpret_cast<const char*>(data + at), piece);
    FUZZ_CHECK(r.consumed <= piece);
    v.consumed += r.consumed;
    if (r.status != Status::need_more) {
      v.status = r.status;
      return v;
    }
    FUZZ_CHECK(r.consumed == piece);  // still reading the header: it takes everything
    at += piece;
  }
  return v;
}

bool same_address(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  const size_t n = a.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  return std::memcmp(&a, &b, n) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ProxyHeaderParser cut_parser;
  const Verdict cut = run(data, lb::fuzz::read_cuts(data, size), cut_parser);
  ProxyHeaderParser whole_parser;
  const Verdict whole = size ? run(data, {size}, whole_parser) : Verdict{};
  FUZZ_CHECK(cut.status == whole.status);
  FUZZ_CHECK(cut.consumed == whole.consumed);
  FUZZ_CHECK(cut.consumed <= size);
  if (cut.status != Status::done) return 0;
  const lb::proxy::ProxyHeader& h = cut_parser.header();
  if (h.version == 1) FUZZ_CHECK(cut.consumed <= ProxyHeaderParser::kMaxV1Line);
  if (!h.has_addresses) return 0;
  for (const std::string& again : {lb::proxy::proxy_header_v1(h.source, h.destination),
                                   lb::proxy::proxy_header_v2(h.source, h.destination)}) {
    ProxyHeaderParser p;
    const auto r = p.feed(again.data(), again.size());
    FUZZ_CHECK(r.status == Status::done && r.consumed == again.size());
    FUZZ_CHECK(p.header().has_addresses);
    FUZZ_CHECK(same_address(p.header().source, h.source));
    FUZZ_CHECK(same_address(p.header().destination, h.destination));
  }
  return 0;
}
