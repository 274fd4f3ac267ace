#include "collector/store/stores.h"

namespace jostle::collector {

std::vector<std::pair<std::string, Result<int64_t>>> PruneStores(Stores& stores,
                                                                 const RetentionCutoffs& cutoffs) {
  std::vector<std::pair<std::string, Result<int64_t>>> out;
  out.emplace_back("samples", stores.samples().Prune(cutoffs.samples_before_ns));
  out.emplace_back("results", stores.results().Prune(cutoffs.results_before_ns));
  out.emplace_back("alerts", stores.alerts().Prune(cutoffs.results_before_ns));
  return out;
}

}  // namespace jostle::collector
