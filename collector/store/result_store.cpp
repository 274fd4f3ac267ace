#include "collector/store/result_store.h"

#include <utility>

namespace jostle::collector {

Status ResultStore::SetContended(int64_t execution_id, std::optional<bool> contended,
                                 std::string resource) {
  return SetContendedBatch({ContendedFact{execution_id, contended, std::move(resource)}});
}

Result<std::vector<TestExecution>> ResultStore::TestHistory(std::string_view test_id,
                                                            std::string_view exclude_run,
                                                            int limit) {
  HistoryQuery q;
  q.test_id = test_id;
  q.run = exclude_run;
  q.as_of_run = false;
  q.branches = HistoryQuery::Branches::kAny;
  q.limit = limit;
  return TestHistory(q);
}

Result<UploadSummary> StoreResults(SampleSource& samples, ResultStore& results,
                                   const ResultOrigin& origin, const ResultSet& set) {
  PodPlacement placement;
  if (origin.node.empty() && !origin.pod_name.empty()) {
    Result<PodPlacement> read = samples.PlacementOfPod(origin.pod_namespace, origin.pod_name);
    if (!read.ok())
      return read.status().WithContext("placement of pod " + origin.pod_namespace + "/" +
                                       origin.pod_name);
    placement = std::move(*read);
  }
  return results.PutResults(origin, set, placement);
}

}  // namespace jostle::collector
