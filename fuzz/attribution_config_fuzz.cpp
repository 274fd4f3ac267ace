// Fuzzes the collector's --config parser (attribution thresholds, retention, alert rules).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collector/attribution/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)jostle::collector::ParseAttributionConfig(in, "fuzz");
  return 0;
}
