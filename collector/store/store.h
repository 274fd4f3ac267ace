// The collector's storage, behind one interface: samples from agents, test results from CI,
// and the pod -> node facts needed to join them. The SQLite implementation is the default;
// the core (join, attribution, reports) only sees this interface.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collector/store/sample_frame.h"
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
  std::string node;    // explicit node (node= / --node); empty: resolve from pod
  std::string source;  // file name, or "upload"
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
  int64_t upload_id = 0;       // the upload this attempt came in
  std::optional<int> line;     // source line, when the producer gave one
  std::string details;         // failure body / longrepr, as parsed (TestAttempt::details)
  // Cached attribution of this attempt's window (Store::SetContended); nullopt until set.
  std::optional<bool> contended;
  std::string contended_resource;  // "cpu", "memory", "io", "network" or empty
};

struct UploadSummary {
  int tests = 0;   // distinct tests in the upload
  int failed = 0;  // tests whose last attempt failed or errored
};

// One CI run as stored (ListRuns). A "test" is one (job, test id) pair of the run.
struct RunSummary {
  std::string run;
  int64_t first_upload_ns = 0;            // wall clock when the collector received the first upload
  int64_t last_upload_ns = 0;             // ... the last upload
  std::optional<int64_t> first_start_ns;  // earliest test start in the run, when known
  std::optional<int64_t> last_end_ns;     // latest test start + duration, when known
  int uploads = 0;
  int tests = 0;   // distinct (job, test id)
  int failed = 0;  // of those, final attempt failed or errored
  int flaky = 0;   // of those, an earlier attempt failed/errored and the final one passed
};

// Per test over a period (FlakyTests). A "test run" is one (run, job, test id) with its
// final attempt; times are the test's start, or the upload time when the start is unknown.
struct FlakyTest {
  std::string test_id;
  int runs = 0;             // test runs in the period
  int passed = 0;           // final attempt passed
  int failed = 0;           // final attempt failed or errored
  int passed_on_retry = 0;  // final attempt passed after an earlier one failed/errored
  int64_t last_seen_ns = 0;
};

// Failure rate of one test or one job (CiMetrics).
struct FailureRate {
  std::string key;  // test id, or job name ("" for uploads without a job)
  int runs = 0;     // test runs (per test) / test runs of the job's tests (per job)
  int failed = 0;   // final attempt failed or errored
  int flaky = 0;    // passed on retry
  double rate = 0;  // failed / runs
};

struct SlowTest {
  std::string test_id;
  double mean_s = 0;  // over passed final attempts in the period
  double max_s = 0;
  int runs = 0;
};

struct CiMetrics {
  int runs = 0;       // distinct CI runs with an upload in the period
  int test_runs = 0;  // (run, job, test id) in the period
  int failed = 0;
  int flaky = 0;
  int skipped = 0;
  std::vector<FailureRate> per_test;  // tests with failures, highest rate first, <= limit
  std::vector<FailureRate> per_job;   // every job, highest rate first
  std::vector<SlowTest> slowest;      // highest mean first, <= limit
};

// One webhook delivery (RecordAlert / ListAlerts). Mirrors alerts::DeliveryResult.
struct AlertRecord {
  int64_t id = 0;  // store's row id (ignored by RecordAlert)
  std::string run;
  std::string job;
  std::string cooldown_key;  // "job:<job>" or "run:<run>"
  std::string target;        // the masked URL (no tokens, no query)
  std::string target_key;    // tells targets on one host apart
  bool delivered = false;    // a 2xx answer was received
  int status = 0;            // last HTTP status; 0 when none
  int attempts = 0;
  std::string error;  // empty when delivered
  int64_t at_ns = 0;  // wall clock of the first attempt, ns since the Unix epoch
};

// Ok when every [from, to] has from <= to and each starts after the previous one ends;
// InvalidArgument naming the first bad range otherwise.
Status CheckSampleRanges(const std::vector<std::pair<int64_t, int64_t>>& ranges);

// Which ticks of each range SampleCounters returns.
enum class RangeRead {
  kEveryTick,  // every tick with from_ns <= wall_ns <= to_ns
  kFirstTick,  // only the earliest such tick (sparse timelines: one point per step)
};

// Which cgroup counters SampleCounters fills; the others stay nullopt.
enum class CgroupFields {
  kAll,
  kCpuUsage,  // cpu_usage_us only: enough for CPU cores per series (report timelines)
};

struct FrameRead {
  RangeRead ticks = RangeRead::kEveryTick;
  CgroupFields cgroup_fields = CgroupFields::kAll;
};

// A cached window classification for Store::SetContendedBatch.
struct ContendedFact {
  int64_t execution_id = 0;
  std::optional<bool> contended;  // nullopt clears the cached value
  std::string resource;           // "cpu", "memory", "io", "network" or empty
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
  // The samples of `node` in each of `ranges` ([from_ns, to_ns], inclusive; sorted and not
  // overlapping), as one frame read in one snapshot. An unknown node gives an empty frame.
  // InvalidArgument when the ranges are unsorted or overlap. The default reads Samples()
  // per range; the SQLite store reads the counter columns only and each identity once.
  virtual Result<SampleFrame> SampleCounters(std::string_view node,
                                             const std::vector<std::pair<int64_t, int64_t>>& ranges,
                                             const FrameRead& read);
  // The node where pod ns/name had samples closest to at_ns; nullopt when never seen.
  virtual Result<std::optional<std::string>> NodeOfPod(std::string_view ns, std::string_view pod,
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

  // --- Analytics and report support. ---

  // Runs, most recently uploaded first, at most `limit`.
  virtual Result<std::vector<RunSummary>> ListRuns(int limit) = 0;
  // pytest-split's .test_durations: test id -> mean duration (seconds) of its last
  // `per_test_limit` passed attempts. Tests that never passed are absent.
  virtual Result<std::map<std::string, double>> TestDurations(int per_test_limit = 10) = 0;
  // Tests with both passing and failing test runs, or passing on retry, since `since_ns`;
  // most passed_on_retry + failed first.
  virtual Result<std::vector<FlakyTest>> FlakyTests(int64_t since_ns) = 0;
  // Counts and failure rates since `since_ns`; per_test and slowest hold at most `limit`.
  virtual Result<CiMetrics> GetCiMetrics(int64_t since_ns, int limit = 100) = 0;
  // Caches the attribution of one execution's window: contended yes/no and its resource;
  // nullopt clears it. NotFound when no execution has that id.
  virtual Status SetContended(int64_t execution_id, std::optional<bool> contended,
                              std::string resource) = 0;
  // SetContended for many executions. SQLite: one transaction (one durable commit), all or
  // nothing; NotFound, storing none, when an id names no execution. The default calls
  // SetContended per fact and stops at the first error.
  virtual Status SetContendedBatch(const std::vector<ContendedFact>& facts);
  // Latest stored sample (wall clock, ns) per node: whether samples covering a window arrived.
  virtual Result<std::map<std::string, int64_t>> LatestSampleTimes() = 0;

  // --- Alert delivery log (backs alerts::AlertStateStore). ---
  virtual Status RecordAlert(const AlertRecord& alert) = 0;
  // Newest first, at most `limit`.
  virtual Result<std::vector<AlertRecord>> ListAlerts(int limit) = 0;
  // Whether a delivery of `run` to `target_key` succeeded.
  virtual Result<bool> WasRunAlerted(std::string_view run, std::string_view target_key) = 0;
  // at_ns of the last successful delivery for `cooldown_key` to `target_key`.
  virtual Result<std::optional<int64_t>> LastAlertAt(std::string_view cooldown_key,
                                                     std::string_view target_key) = 0;
};

struct SqliteStoreOptions {
  // PRAGMA synchronous=FULL (true) or NORMAL. See sqlite_store.cpp: FULL is what makes an
  // acknowledged batch survive power loss; NORMAL only survives a process crash. Keep true
  // for the collector; `jostle run` (a throw-away local database) may turn it off.
  bool durable_commits = true;
  int busy_timeout_ms = 5000;  // how long a statement waits for another process's lock
  int max_readers = 4;         // read connections for a file database (none for :memory:)
};

// Opens (creating and migrating) a SQLite store; ":memory:" for tests. A database written
// by a newer jostle (higher schema version) is refused with Unsupported.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                               const SqliteStoreOptions& options);

}  // namespace jostle::collector
