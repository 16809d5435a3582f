#pragma once
// Builds DNS answer messages byte by byte for the discovery tests: the
// shapes a server sends, and shapes a hostile one might.
#include <arpa/nameser.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lb::discovery::testing {

class DnsMessage {
 public:
  DnsMessage(const std::string& qname, uint16_t qtype) : qtype_(qtype) {
    put16(0x1234);  // id
    put16(0x8180);  // response, recursion desired and available, no error
    put16(1);       // one question
    count_at_ = bytes_.size();
    put16(0);  // answers, set as they are added
    put16(0);
    put16(0);
    name(qname);
    put16(qtype);
    put16(ns_c_in);
  }

  DnsMessage& a(const uint8_t (&ip)[4], uint32_t ttl = 60) {
    record(ns_t_a, ttl, std::vector<uint8_t>(ip, ip + 4));
    return *this;
  }
  DnsMessage& aaaa(const uint8_t (&ip)[16], uint32_t ttl = 60) {
    record(ns_t_aaaa, ttl, std::vector<uint8_t>(ip, ip + 16));
    return *this;
  }
  DnsMessage& srv(uint16_t priority, uint16_t weight, uint16_t port, const std::string& target, uint32_t ttl = 60) {
    DnsMessage rdata_builder;
    rdata_builder.put16(priority);
    rdata_builder.put16(weight);
    rdata_builder.put16(port);
    rdata_builder.name(target);
    record(ns_t_srv, ttl, rdata_builder.bytes_);
    return *this;
  }
  // An answer record with arbitrary data (for malformed rdata).
  DnsMessage& raw_record(uint16_t type, std::vector<uint8_t> rdata) {
    record(type, 60, std::move(rdata));
    return *this;
  }

  std::vector<unsigned char> bytes() const { return bytes_; }

 private:
  DnsMessage() = default;
  void put16(uint16_t v) {
    bytes_.push_back(uint8_t(v >> 8));
    bytes_.push_back(uint8_t(v));
  }
  void put32(uint32_t v) {
    put16(uint16_t(v >> 16));
    put16(uint16_t(v));
  }
  void name(const std::string& n) {
    size_t start = 0;
    while (start < n.size()) {
      size_t dot = n.find('.', start);
      if (dot == std::string::npos) dot = n.size();
      bytes_.push_back(uint8_t(dot - start));
      bytes_.insert(bytes_.end(), n.begin() + long(start), n.begin() + long(dot));
      start = dot + 1;
    }
    bytes_.push_back(0);
  }
  void record(uint16_t type, uint32_t ttl, std::vector<uint8_t> rdata) {
    put16(0xC00C);  // the question's name
    put16(type);
    put16(ns_c_in);
    put32(ttl);
    put16(uint16_t(rdata.size()));
    bytes_.insert(bytes_.end(), rdata.begin(), rdata.end());
    ++answers_;
    bytes_[count_at_] = uint8_t(answers_ >> 8);
    bytes_[count_at_ + 1] = uint8_t(answers_);
  }

  uint16_t qtype_ = 0;
  size_t count_at_ = 0;
  uint16_t answers_ = 0;
  std::vector<unsigned char> bytes_;
};

}  // namespace lb::discovery::testing
