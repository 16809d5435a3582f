#include "lb/metrics/pool_stats.h"

namespace lb::metrics {

std::string_view to_string(QueueRejection r) {
  switch (r) {
    case QueueRejection::full: return "full";
    case QueueRejection::timeout: return "timeout";
    case QueueRejection::client_gone: return "client_gone";
  }
  return "full";
}

}  // namespace lb::metrics
