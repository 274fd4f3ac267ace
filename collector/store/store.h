// The collector's storage, behind one interface: samples from agents, test results from CI,
// and the pod -> node facts needed to join them. The SQLite implementation is the default;
// the core (join, attribution, reports) only sees this interface.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jostle/results.h"
#include "jostle/sample.h"
#include "jostle/status.h"

namespace jostle::collector {

// Where one uploaded result file came from.
struct ResultOrigin {
  std::string run;            // CI run id (required)
  std::string job;            // CI job name, may be empty
  std::string pod_namespace;  // the pod the job ran in, may be empty
  std::string pod_name;
  std::string node;           // explicit node (node= / --node); empty: resolve from pod
  std::string source;         // file name, or "upload"
};

// One stored attempt of one test, with where it ran.
struct TestExecution {
  int64_t id = 0;  // store's row id
  std::string run;
  std::string job;
  std::string test_id;
  std::string suite;
  std::string classname;
  std::string name;
  std::string file;
  int attempt = 0;  // 0-based attempt index within the run
  Outcome outcome = Outcome::kPassed;
  std::optional<int64_t> start_ns;
  double duration_s = 0;
  bool timing_approximate = false;
  std::string message;
  std::string node;  // resolved or given; empty when unknown
  std::string pod_namespace;
  std::string pod_name;
  bool final_attempt = false;  // the last attempt of this test in this run
};

struct UploadSummary {
  int tests = 0;   // distinct tests in the upload
  int failed = 0;  // tests whose last attempt failed or errored
};

class Store {
 public:
  virtual ~Store() = default;

  // Samples. PutBatch stores the batch atomically and durably before returning; returns
  // false (storing nothing) when a batch with the same (node, boot_id, agent_start_ns, seq)
  // was stored before.
  virtual Result<bool> PutBatch(const SampleBatch& batch) = 0;
  // Every sample of `node` with from_ns <= wall_ns <= to_ns, in time order.
  virtual Result<std::vector<Sample>> Samples(std::string_view node, int64_t from_ns,
                                              int64_t to_ns) = 0;
  // The node where pod ns/name had samples closest to at_ns; nullopt when never seen.
  virtual Result<std::optional<std::string>> NodeOfPod(std::string_view ns,
                                                       std::string_view pod,
                                                       int64_t at_ns) = 0;

  // Results. PutResults stores one upload atomically: all or nothing.
  virtual Result<UploadSummary> PutResults(const ResultOrigin& origin, const ResultSet& set) = 0;
  virtual Result<std::vector<TestExecution>> RunExecutions(std::string_view run) = 0;
  // Earlier executions of one test (other runs), newest first, at most `limit`.
  virtual Result<std::vector<TestExecution>> TestHistory(std::string_view test_id,
                                                         std::string_view exclude_run,
                                                         int limit) = 0;

  // Deletes samples and results older than `before_ns`; returns rows deleted.
  virtual Result<int64_t> Prune(int64_t before_ns) = 0;
  // Flushes the WAL into the main file (on shutdown).
  virtual Status Checkpoint() = 0;
};

// Opens (creating and migrating) a SQLite store; ":memory:" for tests.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

}  // namespace jostle::collector
