// Fuzzes ParseResults (POST /api/v1/runs/{run}/results) with the Content-Type fixed by
// JOSTLE_FUZZ_CONTENT_TYPE, so each target drives one format's parser; gzip included.
// Checks the result model's invariants on every accepted document.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "collector/results/parse_results.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  jostle::collector::ParseOptions options;
  options.max_bytes = 1 << 20;
  options.default_tz_offset_s = 3600;
  options.source_name = "fuzz";
  auto set = jostle::collector::ParseResults(in, JOSTLE_FUZZ_CONTENT_TYPE, options);
  if (!set.ok()) {
    if (set.status().message().empty()) std::abort();
    return 0;
  }
  for (const jostle::TestCase& t : set->tests) {
    if (t.attempts.empty() || t.id.empty()) std::abort();
    for (const jostle::TestAttempt& a : t.attempts) {
      if (!(a.duration_s >= 0)) std::abort();
    }
    (void)t.failed();
    (void)t.flaky();
  }
  (void)set->failed_count();
  return 0;
}
