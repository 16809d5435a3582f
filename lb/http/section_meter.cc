#include "lb/http/section_meter.h"

namespace lb::http {

void SectionMeter::reset(uint64_t used) {
  used_ = used;
  origin_ = last_ = nullptr;
  open_ = false;
}

void SectionMeter::begin_call(const char* data) { origin_ = last_ = data; }

void SectionMeter::open(const char* at) {
  if (open_) return;
  open_ = true;
  origin_ = last_ = at;
}

bool SectionMeter::reach(const char* pos) {
  if (!open_) return used_ <= limit_;
  if (pos > last_) last_ = pos;
  return used_ + uint64_t(last_ - origin_) <= limit_;
}

void SectionMeter::close() {
  if (!open_) return;
  used_ += uint64_t(last_ - origin_);
  open_ = false;
}

bool SectionMeter::end_call(const char* end) {
  if (open_ && end > origin_) used_ += uint64_t(end - origin_);
  origin_ = last_ = nullptr;
  return used_ <= limit_;
}

}  // namespace lb::http
