// The collector's storage by role (DESIGN.md "Who uses it": the store is split so each
// backend drops in without touching the join):
//   SampleSource  agent samples: batches in, window counters, pod -> node, latest times
//   ResultStore   CI results: uploads in, a run's executions, a test's history
//   CiAnalytics   runs, durations, flaky tests, failure rates over the results
//   AlertLog      webhook deliveries
// Stores bundles one backend of each role as opened from --db; OpenSqliteStores opens all
// four over one SQLite file (each role in its own source file over sqlite::SqliteDb).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "collector/store/alert_log.h"
#include "collector/store/ci_analytics.h"
#include "collector/store/result_store.h"
#include "collector/store/sample_source.h"
#include "collector/store/sqlite_options.h"
#include "jostle/status.h"

namespace jostle::collector {

// One backend per role. The references stay valid for the object's lifetime; thread-safe as
// the roles are.
class Stores {
 public:
  virtual ~Stores() = default;
  virtual SampleSource& samples() = 0;
  virtual ResultStore& results() = 0;
  virtual CiAnalytics& analytics() = 0;
  virtual AlertLog& alerts() = 0;
  // Flushes what the backends buffer (the SQLite WAL) on shutdown.
  virtual Status Checkpoint() = 0;
};

// What pruning deletes (collector config "retention"): samples older than samples_before_ns;
// runs whose last upload is older than results_before_ns, with everything of them (uploads,
// executions, window facts, stored judgements), and alert deliveries older than that.
struct RetentionCutoffs {
  int64_t samples_before_ns = 0;  // wall clock, ns
  int64_t results_before_ns = 0;
};

// Prunes every role with its cutoff; per role ("samples", "results", "alerts") the rows
// deleted or the error (a failing role does not stop the others).
std::vector<std::pair<std::string, Result<int64_t>>> PruneStores(Stores& stores,
                                                                 const RetentionCutoffs& cutoffs);

// Opens (creating and migrating) the SQLite store at `path`; ":memory:" for tests. A database
// written by a newer jostle (higher schema version) is refused with Unsupported.
Result<std::unique_ptr<Stores>> OpenSqliteStores(const std::string& path,
                                                 const SqliteStoreOptions& options = {});

}  // namespace jostle::collector
