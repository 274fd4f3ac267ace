// Fuzzes the agent's parsers of Kubernetes API answers: PodList, watch event lines, Status.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/kube/pod_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  static const auto kAll = jostle::agent::PodLabelFilter::All();
  size_t skipped = 0;
  (void)jostle::agent::ParsePodListJson(in, kAll, &skipped);
  (void)jostle::agent::ParseWatchEventJson(in, kAll);
  (void)jostle::agent::ParseApiStatusJson(in);
  (void)jostle::agent::ParsePodJson(in, kAll);
  return 0;
}
