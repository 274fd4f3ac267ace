// Test results, history, analytics, cached attribution facts and the alert log.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <tuple>

#include "collector/store/stores.h"
#include "store_test_util.h"

namespace jostle::collector {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::kSecond;
using testing::kT0;
using testing::MakeBatch;
using testing::MakeTest;
using testing::TempDir;

constexpr Outcome P = Outcome::kPassed;
constexpr Outcome F = Outcome::kFailed;
constexpr Outcome E = Outcome::kError;
constexpr Outcome S = Outcome::kSkipped;

ResultOrigin Origin(const std::string& run, const std::string& job = "unit",
                    const std::string& node = "") {
  ResultOrigin o;
  o.run = run;
  o.job = job;
  o.node = node;
  o.source = "junit.xml";
  return o;
}

class StoreResultsTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    auto opened = OpenSqliteStores(GetParam() ? dir_.File("jostle.db") : ":memory:");
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
  }

  UploadSummary Put(const ResultOrigin& origin, std::vector<TestCase> tests) {
    ResultSet set;
    set.format = "junit";
    set.producer = "pytest";
    set.tests = std::move(tests);
    auto r = StoreResults(store_->samples(), store_->results(), origin, set);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : UploadSummary{};
  }

  std::vector<TestExecution> Run(const std::string& run) {
    auto r = store_->results().RunExecutions(run);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<TestExecution>{};
  }

  TempDir dir_;
  std::unique_ptr<Stores> store_;
};

TEST_P(StoreResultsTest, UploadIsStoredWithEveryField) {
  TestCase failing = MakeTest("tests/test_x.py::test_a", {F, P}, kT0, 1.5);
  TestCase skipped = MakeTest("tests/test_x.py::test_b", {S}, kT0 + 10 * kSecond);
  skipped.attempts[0].timing_approximate = true;
  TestCase error = MakeTest("tests/test_x.py::test_c", {E});
  error.line.reset();
  auto summary = Put(Origin("run-1", "unit", "node-a"), {failing, skipped, error});
  EXPECT_EQ(summary.tests, 3);
  EXPECT_EQ(summary.failed, 1);

  auto execs = Run("run-1");
  ASSERT_EQ(execs.size(), 4u);
  const TestExecution& a0 = execs[0];
  EXPECT_GT(a0.id, 0);
  EXPECT_EQ(a0.run, "run-1");
  EXPECT_EQ(a0.job, "unit");
  EXPECT_EQ(a0.test_id, "tests/test_x.py::test_a");
  EXPECT_EQ(a0.suite, "suite");
  EXPECT_EQ(a0.classname, "tests.test_x");
  EXPECT_EQ(a0.name, "test_a");
  EXPECT_EQ(a0.file, "tests/test_x.py");
  EXPECT_EQ(a0.line, std::optional<int>(12));
  EXPECT_EQ(a0.attempt, 0);
  EXPECT_EQ(a0.outcome, F);
  EXPECT_EQ(a0.start_ns, std::optional<int64_t>(kT0));
  EXPECT_DOUBLE_EQ(a0.duration_s, 1.5);
  EXPECT_FALSE(a0.timing_approximate);
  EXPECT_EQ(a0.message, "assert 1 == 2");
  EXPECT_EQ(a0.details, "Traceback...\nAssertionError");
  EXPECT_EQ(a0.node, "node-a");
  EXPECT_FALSE(a0.final_attempt);
  EXPECT_FALSE(a0.contended.has_value());
  EXPECT_GT(a0.upload_id, 0);
  EXPECT_EQ(execs[1].attempt, 1);
  EXPECT_EQ(execs[1].outcome, P);
  EXPECT_TRUE(execs[1].final_attempt);
  EXPECT_EQ(execs[1].start_ns, std::optional<int64_t>(kT0 + 2 * kSecond));
  EXPECT_TRUE(execs[2].timing_approximate);
  EXPECT_EQ(execs[2].outcome, S);
  EXPECT_EQ(execs[3].outcome, E);
  EXPECT_FALSE(execs[3].start_ns.has_value());
  EXPECT_FALSE(execs[3].line.has_value());
  EXPECT_TRUE(Run("no-such-run").empty());
}

TEST_P(StoreResultsTest, ExecutionsForAReportAreTheRunsWithoutFailureBodies) {
  TestCase failing = MakeTest("tests/test_x.py::test_a", {F, P}, kT0, 1.5);
  TestCase error = MakeTest("tests/test_x.py::test_c", {E});
  Put(Origin("run-1", "unit", "node-a"), {failing, error});
  Put(Origin("run-2", "unit", "node-b"), {MakeTest("tests/test_x.py::test_a", {F})});

  std::vector<TestExecution> full = Run("run-1");
  auto got = store_->results().RunExecutionsForReport("run-1");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 3u);
  ASSERT_EQ(full.size(), 3u);
  EXPECT_EQ(got->capacity(), got->size());  // sized once from the run's count
  for (size_t i = 0; i < full.size(); ++i) {
    const TestExecution& a = full[i];
    const TestExecution& b = (*got)[i];
    EXPECT_EQ(b.id, a.id);
    EXPECT_EQ(std::tie(b.run, b.job, b.test_id, b.suite, b.classname, b.name, b.file, b.message,
                       b.node, b.pod_namespace, b.pod_name, b.contended_resource),
              std::tie(a.run, a.job, a.test_id, a.suite, a.classname, a.name, a.file, a.message,
                       a.node, a.pod_namespace, a.pod_name, a.contended_resource));
    EXPECT_EQ(std::tie(b.line, b.attempt, b.outcome, b.start_ns, b.duration_s, b.timing_approximate,
                       b.final_attempt, b.upload_id, b.contended),
              std::tie(a.line, a.attempt, a.outcome, a.start_ns, a.duration_s, a.timing_approximate,
                       a.final_attempt, a.upload_id, a.contended));
    EXPECT_TRUE(b.details.empty());
  }
  EXPECT_EQ(full[0].details, "Traceback...\nAssertionError");
  auto none = store_->results().RunExecutionsForReport("no-such-run");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreResultsTest, UploadIsAllOrNothing) {
  Put(Origin("run-0"), {MakeTest("t::earlier", {P})});
  // The third test has no attempts: the upload fails after two tests were written.
  TestCase broken = MakeTest("t::broken", {});
  auto r = StoreResults(
      store_->samples(), store_->results(), Origin("run-1"),
      ResultSet{"junit",
                "pytest",
                {MakeTest("t::a", {F}), MakeTest("t::b", {P}), broken, MakeTest("t::d", {P})},
                {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("'t::broken' has no attempts"));
  EXPECT_TRUE(Run("run-1").empty());
  auto runs = store_->analytics().ListRuns(RunFilter::Latest(10));
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ(runs->front().run, "run-0");
  // A failed second upload of an existing run leaves the first intact.
  auto r2 = StoreResults(store_->samples(), store_->results(), Origin("run-0"),
                         ResultSet{"junit", "", {MakeTest("t::earlier", {F}), broken}, {}});
  ASSERT_FALSE(r2.ok());
  auto execs = Run("run-0");
  ASSERT_EQ(execs.size(), 1u);
  EXPECT_TRUE(execs[0].final_attempt);
  EXPECT_EQ(execs[0].outcome, P);
  // A test without an id and an upload without a run are refused too.
  auto no_id = StoreResults(store_->samples(), store_->results(), Origin("run-2"),
                            ResultSet{"junit", "", {MakeTest("", {P})}, {}});
  EXPECT_EQ(no_id.status().code(), Status::Code::kInvalidArgument);
  auto no_run = StoreResults(store_->samples(), store_->results(), Origin(""),
                             ResultSet{"junit", "", {MakeTest("t::a", {P})}, {}});
  EXPECT_EQ(no_run.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Run("run-2").empty());
}

TEST_P(StoreResultsTest, RerunUploadContinuesAttemptNumbers) {
  auto first = Put(Origin("run-1"), {MakeTest("t::a", {F}, kT0), MakeTest("t::b", {P}, kT0)});
  EXPECT_EQ(first.tests, 2);
  EXPECT_EQ(first.failed, 1);
  // The CI job reruns only the failed test and uploads its new report.
  auto second = Put(Origin("run-1"), {MakeTest("t::a", {F, P}, kT0 + 60 * kSecond)});
  EXPECT_EQ(second.tests, 1);
  EXPECT_EQ(second.failed, 0);
  // Another job of the same run counts its own attempts.
  Put(Origin("run-1", "integration"), {MakeTest("t::a", {P}, kT0)});

  auto execs = Run("run-1");
  std::vector<std::tuple<std::string, std::string, int, Outcome, bool>> got;
  for (const auto& e : execs) {
    got.emplace_back(e.job, e.test_id, e.attempt, e.outcome, e.final_attempt);
  }
  EXPECT_THAT(got, ElementsAre(std::make_tuple("unit", "t::a", 0, F, false),
                               std::make_tuple("unit", "t::b", 0, P, true),
                               std::make_tuple("unit", "t::a", 1, F, false),
                               std::make_tuple("unit", "t::a", 2, P, true),
                               std::make_tuple("integration", "t::a", 0, P, true)));
  auto runs = store_->analytics().ListRuns(RunFilter::Latest(10));
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ(runs->front().uploads, 3);
  EXPECT_EQ(runs->front().tests, 3);  // (unit, a), (unit, b), (integration, a)
  EXPECT_EQ(runs->front().failed, 0);
  EXPECT_EQ(runs->front().flaky, 1);
}

// An upload is (run, job, shard, attempt, content digest): the same file again is a replay
// (a CI retry after a lost answer) that writes nothing; another file for the same job is
// stored too and the answer counts the ones before it.
TEST_P(StoreResultsTest, SameFileAgainIsAReplayThatChangesNothing) {
  ResultOrigin origin = Origin("run-1");
  origin.digest = "sha256:" + std::string(64, 'a');
  origin.identity.shard_index = 1;
  origin.identity.shard_total = 2;
  origin.identity.attempt = 1;
  auto first = Put(origin, {MakeTest("t::a", {F}, kT0), MakeTest("t::b", {P}, kT0)});
  EXPECT_FALSE(first.already_stored);
  EXPECT_EQ(first.other_files, 0);
  EXPECT_GT(first.upload_id, 0);
  auto before = store_->analytics().ListRuns(RunFilter::Latest(10));
  ASSERT_TRUE(before.ok());

  // The same bytes again, even parsed differently, are acknowledged with the stored counts.
  auto replay = Put(origin, {MakeTest("t::a", {P}, kT0 + kSecond)});
  EXPECT_TRUE(replay.already_stored);
  EXPECT_EQ(replay.upload_id, first.upload_id);
  EXPECT_EQ(replay.tests, 2);
  EXPECT_EQ(replay.failed, 1);
  EXPECT_EQ(replay.other_files, 0);
  EXPECT_EQ(Run("run-1").size(), 2u);
  auto after = store_->analytics().ListRuns(RunFilter::Latest(10));
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ(after->front().uploads, 1);
  EXPECT_EQ(after->front().last_upload_ns, before->front().last_upload_ns);

  // Another file for the same (run, job, shard, attempt): stored, and said.
  ResultOrigin other = origin;
  other.digest = "sha256:" + std::string(64, 'b');
  auto second = Put(other, {MakeTest("t::c", {P}, kT0)});
  EXPECT_FALSE(second.already_stored);
  EXPECT_EQ(second.other_files, 1);
  EXPECT_NE(second.upload_id, first.upload_id);
  // The first file again is still a replay; it now has one other file beside it.
  auto again = Put(origin, {MakeTest("t::a", {F}, kT0)});
  EXPECT_TRUE(again.already_stored);
  EXPECT_EQ(again.other_files, 1);

  // The same file for another shard, another CI attempt or another job is another upload.
  for (auto change : {+[](ResultOrigin& o) { o.identity.shard_index = 2; },
                      +[](ResultOrigin& o) { o.identity.attempt = 2; },
                      +[](ResultOrigin& o) { o.job = "integration"; }}) {
    ResultOrigin elsewhere = origin;
    change(elsewhere);
    auto put = Put(elsewhere, {MakeTest("t::a", {P}, kT0)});
    EXPECT_FALSE(put.already_stored);
    EXPECT_EQ(put.other_files, 0);
  }
  EXPECT_EQ(Run("run-1").size(), 6u);
}

// Without a digest (callers that do not have the file's bytes) nothing is taken for a replay.
TEST_P(StoreResultsTest, UploadWithoutDigestIsNeverAReplay) {
  Put(Origin("run-1"), {MakeTest("t::a", {F}, kT0)});
  auto second = Put(Origin("run-1"), {MakeTest("t::a", {F}, kT0)});
  EXPECT_FALSE(second.already_stored);
  EXPECT_EQ(second.other_files, 1);
  EXPECT_EQ(Run("run-1").size(), 2u);
}

TEST_P(StoreResultsTest, DuplicateTestInOneUploadBecomesMoreAttempts) {
  auto summary = Put(Origin("run-1"), {MakeTest("t::a", {F}), MakeTest("t::a", {P})});
  EXPECT_EQ(summary.tests, 1);
  EXPECT_EQ(summary.failed, 0);
  auto execs = Run("run-1");
  ASSERT_EQ(execs.size(), 2u);
  EXPECT_EQ(execs[1].attempt, 1);
  EXPECT_TRUE(execs[1].final_attempt);
  EXPECT_FALSE(execs[0].final_attempt);
}

TEST_P(StoreResultsTest, NodeComesFromOriginThenPodThenNothing) {
  // ci/runner-0 ran on node-a during [kT0, kT0+2s] (agent samples).
  ASSERT_TRUE(store_->samples().PutBatch(MakeBatch("node-a", 0, kT0, 3, 1, 1)).ok());
  ResultOrigin by_pod = Origin("run-1");
  by_pod.pod_namespace = "ci";
  by_pod.pod_name = "runner-0";
  Put(by_pod, {MakeTest("t::a", {F}, kT0 + kSecond), MakeTest("t::no_start", {P})});
  ResultOrigin explicit_node = by_pod;
  explicit_node.node = "node-z";
  Put(explicit_node, {MakeTest("t::b", {P}, kT0)});
  ResultOrigin unknown_pod = Origin("run-1");
  unknown_pod.pod_namespace = "ci";
  unknown_pod.pod_name = "never-sampled";
  Put(unknown_pod, {MakeTest("t::c", {P}, kT0)});
  Put(Origin("run-1"), {MakeTest("t::d", {P}, kT0)});

  std::map<std::string, std::string> node_of;
  for (const auto& e : Run("run-1")) node_of[e.test_id] = e.node;
  EXPECT_EQ(node_of["t::a"], "node-a");
  EXPECT_EQ(node_of["t::no_start"], "node-a");  // nearest to the upload time
  EXPECT_EQ(node_of["t::b"], "node-z");
  EXPECT_EQ(node_of["t::c"], "");
  EXPECT_EQ(node_of["t::d"], "");
  for (const auto& e : Run("run-1")) {
    if (e.test_id == "t::a") {
      EXPECT_EQ(e.pod_namespace, "ci");
      EXPECT_EQ(e.pod_name, "runner-0");
    }
  }
}

TEST_P(StoreResultsTest, HistoryIsOtherRunsNewestFirst) {
  Put(Origin("run-1"), {MakeTest("t::a", {F}, kT0)});
  Put(Origin("run-2"), {MakeTest("t::a", {P}, kT0 + 100 * kSecond)});
  Put(Origin("run-3"), {MakeTest("t::a", {F, P}, kT0 + 200 * kSecond)});
  Put(Origin("run-4"),
      {MakeTest("t::a", {F}, kT0 + 300 * kSecond), MakeTest("t::other", {F}, kT0 + 300 * kSecond)});

  auto h = store_->results().TestHistory("t::a", "run-4", 10);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  std::vector<std::pair<std::string, int>> got;
  for (const auto& e : *h) got.emplace_back(e.run, e.attempt);
  EXPECT_THAT(got, ElementsAre(std::make_pair("run-3", 1), std::make_pair("run-3", 0),
                               std::make_pair("run-2", 0), std::make_pair("run-1", 0)));
  auto limited = store_->results().TestHistory("t::a", "run-4", 2);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->size(), 2u);
  auto none = store_->results().TestHistory("t::unknown", "", 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreResultsTest, ContendedFactsAreCachedPerExecution) {
  Put(Origin("run-1"), {MakeTest("t::a", {F, F}, kT0)});
  auto execs = Run("run-1");
  ASSERT_EQ(execs.size(), 2u);
  ASSERT_TRUE(store_->results().SetContended(execs[0].id, true, "cpu").ok());
  ASSERT_TRUE(store_->results().SetContended(execs[1].id, false, "").ok());
  execs = Run("run-1");
  EXPECT_EQ(execs[0].contended, std::optional<bool>(true));
  EXPECT_EQ(execs[0].contended_resource, "cpu");
  EXPECT_EQ(execs[1].contended, std::optional<bool>(false));
  // Overwrite, then clear.
  ASSERT_TRUE(store_->results().SetContended(execs[0].id, true, "memory").ok());
  ASSERT_TRUE(store_->results().SetContended(execs[1].id, std::nullopt, "").ok());
  auto h = store_->results().TestHistory("t::a", "", 10);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  for (const auto& e : *h) {
    if (e.id == execs[0].id) {
      EXPECT_EQ(e.contended_resource, "memory");
    } else {
      EXPECT_FALSE(e.contended.has_value());
    }
  }
  Status missing = store_->results().SetContended(999999, true, "cpu");
  EXPECT_EQ(missing.code(), Status::Code::kNotFound);
}

TEST_P(StoreResultsTest, ContendedBatchIsAllOrNothing) {
  Put(Origin("run-1"), {MakeTest("t::a", {F, F, P}, kT0)});
  auto execs = Run("run-1");
  ASSERT_EQ(execs.size(), 3u);
  ASSERT_TRUE(store_->results().SetContended(execs[2].id, true, "io").ok());
  Status set = store_->results().SetContendedBatch(
      {{execs[0].id, true, "cpu"}, {execs[1].id, false, ""}, {execs[2].id, std::nullopt, ""}});
  ASSERT_TRUE(set.ok()) << set.ToString();
  execs = Run("run-1");
  EXPECT_EQ(execs[0].contended, std::optional<bool>(true));
  EXPECT_EQ(execs[0].contended_resource, "cpu");
  EXPECT_EQ(execs[1].contended, std::optional<bool>(false));
  EXPECT_FALSE(execs[2].contended.has_value());
  // One unknown id: nothing of the batch is stored.
  Status missing = store_->results().SetContendedBatch(
      {{execs[0].id, true, "memory"}, {999999, true, "cpu"}, {execs[2].id, true, "io"}});
  EXPECT_EQ(missing.code(), Status::Code::kNotFound) << missing.ToString();
  EXPECT_THAT(missing.message(), HasSubstr("999999"));
  execs = Run("run-1");
  EXPECT_EQ(execs[0].contended_resource, "cpu");
  EXPECT_FALSE(execs[2].contended.has_value());
  EXPECT_TRUE(store_->results().SetContendedBatch({}).ok());
}

TEST_P(StoreResultsTest, TestDurationsAverageRecentPassesOfTheFilteredRuns) {
  auto on = [](const std::string& run, const std::string& branch, const std::string& job) {
    ResultOrigin o = Origin(run, job);
    o.identity.branch = branch;
    return o;
  };
  Put(on("run-1", "main", "unit"), {MakeTest("tests/test_x.py::test_a", {P}, kT0, 10.0),
                                    MakeTest("tests/test_x.py::test_b", {F}, kT0, 99.0)});
  Put(on("run-2", "main", "unit"), {MakeTest("tests/test_x.py::test_a", {P}, kT0 + kSecond, 2.0)});
  Put(on("run-3", "dev", "unit"),
      {MakeTest("tests/test_x.py::test_a", {P}, kT0 + 2 * kSecond, 4.0)});
  Put(on("run-3", "dev", "e2e"),
      {MakeTest("tests/test_x.py::test_a", {P}, kT0 + 3 * kSecond, 30.0)});
  auto durations = [&](DurationsFilter f) {
    auto d = store_->analytics().TestDurations(f);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : std::map<std::string, double>{};
  };
  DurationsFilter all;
  auto every = durations(all);
  EXPECT_EQ(every.size(), 1u);  // test_b never passed
  EXPECT_DOUBLE_EQ(every.at("tests/test_x.py::test_a"), 46.0 / 4);
  DurationsFilter latest;
  latest.per_test = 2;
  EXPECT_DOUBLE_EQ(durations(latest).at("tests/test_x.py::test_a"), 17.0);
  DurationsFilter main;
  main.branch = "main";
  EXPECT_DOUBLE_EQ(durations(main).at("tests/test_x.py::test_a"), 6.0);
  DurationsFilter unit;
  unit.job = "unit";
  EXPECT_DOUBLE_EQ(durations(unit).at("tests/test_x.py::test_a"), 16.0 / 3);
  DurationsFilter since;
  since.since_ns = kT0 + 2 * kSecond;
  EXPECT_DOUBLE_EQ(durations(since).at("tests/test_x.py::test_a"), 17.0);
}

// Figures worked out by hand from the uploads (the API test checks a larger set against a
// Python reference): both runs build commit aaaa111 on main.
TEST_P(StoreResultsTest, FlakyTestsAndCiMetrics) {
  auto on_commit = [](const std::string& run, const std::string& job) {
    ResultOrigin o = Origin(run, job);
    o.identity.commit = "aaaa111";
    o.identity.branch = "main";
    return o;
  };
  // t::flaky passes on retry in run-1; t::mixed fails in run-1 and passes in run-2 (same
  // commit); t::broken always fails; t::fine always passes; t::skip is skipped.
  Put(on_commit("run-1", "unit"),
      {MakeTest("t::flaky", {F, P}, kT0), MakeTest("t::mixed", {F}, kT0),
       MakeTest("t::broken", {E}, kT0), MakeTest("t::fine", {P}, kT0, 3.0),
       MakeTest("t::skip", {S}, kT0)});
  Put(on_commit("run-2", "unit"), {MakeTest("t::flaky", {P}, kT0 + 100 * kSecond),
                                   MakeTest("t::mixed", {P}, kT0 + 100 * kSecond),
                                   MakeTest("t::broken", {F}, kT0 + 100 * kSecond),
                                   MakeTest("t::fine", {P}, kT0 + 100 * kSecond, 5.0)});
  Put(on_commit("run-2", "lint"), {MakeTest("lint::ruff", {P}, kT0 + 100 * kSecond)});
  JudgedFailureRow mixed;
  mixed.kind = "failure";
  mixed.job = "unit";
  mixed.test_id = "t::mixed";
  mixed.verdict = "contention";
  ASSERT_TRUE(store_->results().PutJudgement("run-1", {mixed}).ok());

  MetricsFilter all;
  auto flaky = store_->analytics().FlakyTests(all);
  ASSERT_TRUE(flaky.ok()) << flaky.status().ToString();
  ASSERT_EQ(flaky->size(), 2u);
  const FlakyTest& m0 = (*flaky)[0];
  EXPECT_EQ(m0.test_id, "t::mixed");  // failed and passed on aaaa111: both test runs
  EXPECT_EQ(m0.runs, 2);
  EXPECT_EQ(m0.flaky_runs, 2);
  EXPECT_DOUBLE_EQ(m0.rate, 1.0);
  EXPECT_EQ(m0.commits, 1);
  EXPECT_EQ(m0.contended, 1);
  EXPECT_EQ(m0.last_seen_ns, kT0 + 100 * kSecond);
  const FlakyTest& f1 = (*flaky)[1];
  EXPECT_EQ(f1.test_id, "t::flaky");  // passed on retry in run-1 only
  EXPECT_EQ(f1.runs, 2);
  EXPECT_EQ(f1.flaky_runs, 1);
  EXPECT_EQ(f1.passed_on_retry, 1);
  EXPECT_EQ(f1.contended, 0);
  // Only run-2 in the period: nothing is flaky there.
  MetricsFilter recent;
  recent.since_ns = kT0 + 50 * kSecond;
  EXPECT_TRUE(store_->analytics().FlakyTests(recent)->empty());

  auto m = store_->analytics().GetCiMetrics(all);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->runs, 2);
  EXPECT_EQ(m->jobs, 3);
  EXPECT_EQ(m->test_runs, 10);
  // run-1 spans 3 s (kT0 .. kT0 + 3 s), run-2 5 s; kT0 and kT0 + 100 s share a UTC day.
  ASSERT_EQ(m->pipeline_duration.size(), 1u);
  EXPECT_EQ(m->pipeline_duration[0].bucket_ns, kT0 / (86400 * kSecond) * 86400 * kSecond);
  EXPECT_EQ(m->pipeline_duration[0].stats.count, 2);
  EXPECT_DOUBLE_EQ(m->pipeline_duration[0].stats.p50_s, 3.0);
  EXPECT_DOUBLE_EQ(m->pipeline_duration[0].stats.p90_s, 5.0);
  EXPECT_DOUBLE_EQ(m->pipeline_duration[0].stats.max_s, 5.0);
  // run-1: 2 of 5 tests failed; run-2: 1 of 5.
  ASSERT_EQ(m->pain_level.size(), 1u);
  EXPECT_DOUBLE_EQ(m->pain_level[0].mean, 0.3);
  EXPECT_DOUBLE_EQ(m->pain_level[0].max, 0.4);
  ASSERT_EQ(m->job_failure_rate.size(), 2u);
  EXPECT_EQ(m->job_failure_rate[0].job, "lint");
  EXPECT_DOUBLE_EQ(m->job_failure_rate[0].rate, 0.0);
  EXPECT_EQ(m->job_failure_rate[1].job, "unit");
  EXPECT_EQ(m->job_failure_rate[1].jobs, 2);
  EXPECT_DOUBLE_EQ(m->job_failure_rate[1].rate, 1.0);
  ASSERT_EQ(m->test_failure_rate.size(), 2u);
  EXPECT_EQ(m->test_failure_rate[0].test_id, "t::broken");
  EXPECT_DOUBLE_EQ(m->test_failure_rate[0].rate, 1.0);
  EXPECT_EQ(m->test_failure_rate[1].test_id, "t::mixed");
  EXPECT_DOUBLE_EQ(m->test_failure_rate[1].rate, 0.5);
  ASSERT_FALSE(m->slowest.empty());
  EXPECT_EQ(m->slowest[0].test_id, "t::fine");
  EXPECT_DOUBLE_EQ(m->slowest[0].mean_s, 4.0);
  EXPECT_DOUBLE_EQ(m->slowest[0].max_s, 5.0);
  ASSERT_EQ(m->last_jobs.size(), 3u);
  EXPECT_EQ(m->last_jobs[2].run, "run-1");
  EXPECT_TRUE(m->last_jobs[2].failed_job);
  ASSERT_EQ(m->contention_share.size(), 1u);
  EXPECT_EQ(m->contention_share[0].failures, 3);
  EXPECT_EQ(m->contention_share[0].judged, 1);
  EXPECT_EQ(m->contention_share[0].share, 1.0);
  // The job filter keeps lint's tests and jobs only.
  MetricsFilter lint;
  lint.job = "lint";
  auto l = store_->analytics().GetCiMetrics(lint);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->runs, 1);
  EXPECT_EQ(l->jobs, 1);
  EXPECT_EQ(l->test_runs, 1);
  EXPECT_TRUE(l->flaky.empty());
  MetricsFilter other_branch;
  other_branch.branch = "feature";
  EXPECT_EQ(store_->analytics().GetCiMetrics(other_branch)->runs, 0);
}

TEST_P(StoreResultsTest, ListRunsNewestFirstWithCounts) {
  Put(Origin("run-1"), {MakeTest("t::a", {F}, kT0, 2.0), MakeTest("t::b", {P}, kT0 + kSecond)});
  Put(Origin("run-2"), {MakeTest("t::a", {P})});
  auto runs = store_->analytics().ListRuns(RunFilter::Latest(10));
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].run, "run-2");
  EXPECT_FALSE((*runs)[0].first_start_ns.has_value());
  const RunSummary& r1 = (*runs)[1];
  EXPECT_EQ(r1.run, "run-1");
  EXPECT_EQ(r1.tests, 2);
  EXPECT_EQ(r1.failed, 1);
  EXPECT_EQ(r1.flaky, 0);
  EXPECT_EQ(r1.uploads, 1);
  EXPECT_EQ(r1.first_start_ns, std::optional<int64_t>(kT0));
  EXPECT_EQ(r1.last_end_ns, std::optional<int64_t>(kT0 + 2 * kSecond));
  EXPECT_LE(r1.first_upload_ns, r1.last_upload_ns);
  auto one = store_->analytics().ListRuns(RunFilter::Latest(1));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
}

TEST_P(StoreResultsTest, AlertLog) {
  AlertRecord failed{0,    "run-1", "unit", "job:unit", "https://hooks.example/...",
                     "k1", false,   503,    4,          "HTTP 503 after 4 attempts",
                     kT0};
  AlertRecord ok{0,   "run-1", "unit", "job:unit",   "https://hooks.example/...", "k1", true,
                 200, 1,       "",     kT0 + kSecond};
  AlertRecord other{0,    "run-2", "lint", "job:lint", "https://chat.example/...", "k2",
                    true, 204,     2,      "",         kT0 + 2 * kSecond};
  ASSERT_TRUE(store_->alerts().RecordAlert(failed).ok());
  EXPECT_FALSE(*store_->alerts().WasRunAlerted("run-1", "k1"));
  EXPECT_FALSE(store_->alerts().LastAlertAt("job:unit", "k1")->has_value());
  ASSERT_TRUE(store_->alerts().RecordAlert(ok).ok());
  ASSERT_TRUE(store_->alerts().RecordAlert(other).ok());
  EXPECT_TRUE(*store_->alerts().WasRunAlerted("run-1", "k1"));
  EXPECT_FALSE(*store_->alerts().WasRunAlerted("run-1", "k2"));
  EXPECT_EQ(*store_->alerts().LastAlertAt("job:unit", "k1"), std::optional<int64_t>(kT0 + kSecond));
  auto list = store_->alerts().ListAlerts(2);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].run, "run-2");
  EXPECT_EQ((*list)[1].status, 200);
  auto all = store_->alerts().ListAlerts(10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  AlertRecord back = all->back();
  EXPECT_GT(back.id, 0);
  back.id = 0;
  EXPECT_EQ(back.run, failed.run);
  EXPECT_EQ(back.job, failed.job);
  EXPECT_EQ(back.cooldown_key, failed.cooldown_key);
  EXPECT_EQ(back.target, failed.target);
  EXPECT_EQ(back.target_key, failed.target_key);
  EXPECT_EQ(back.delivered, failed.delivered);
  EXPECT_EQ(back.status, failed.status);
  EXPECT_EQ(back.attempts, failed.attempts);
  EXPECT_EQ(back.error, failed.error);
  EXPECT_EQ(back.at_ns, failed.at_ns);
}

// retention.samples_days and retention.results_days are separate: samples can go while the
// runs stay, and runs can go while the samples stay.
// A run's history as of the run: only runs that ended before its first test started, of its
// branch and the default branch (or one branch, or all), from since_ns on.
TEST_P(StoreResultsTest, HistoryAsOfTheRunFromItsBranchAndTheDefaultBranch) {
  auto on = [](const std::string& run, const std::string& branch, bool default_branch) {
    ResultOrigin o = Origin(run);
    o.identity.branch = branch;
    o.identity.default_branch = "main";
    if (default_branch) o.identity.on_default_branch = true;
    return o;
  };
  Put(on("main-early", "main", false), {MakeTest("t::a", {F}, kT0)});
  Put(on("feature-early", "feature", false), {MakeTest("t::a", {P}, kT0 + 10 * kSecond)});
  Put(on("other-early", "other", false), {MakeTest("t::a", {P}, kT0 + 20 * kSecond)});
  Put(on("trunk-early", "trunk", true), {MakeTest("t::a", {P}, kT0 + 25 * kSecond)});
  Put(on("judged", "feature", false), {MakeTest("t::a", {F}, kT0 + 100 * kSecond)});
  // Overlaps the judged run's start (ends after it) and a later run: neither is its history.
  Put(on("overlapping", "feature", false), {MakeTest("t::a", {P}, kT0 + 99 * kSecond, 5)});
  Put(on("main-later", "main", false), {MakeTest("t::a", {P}, kT0 + 200 * kSecond)});

  auto runs_of = [&](HistoryQuery q) {
    q.test_id = "t::a";
    q.run = "judged";
    auto h = store_->results().TestHistory(q);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    std::vector<std::string> out;
    for (const TestExecution& e : h.ok() ? *h : std::vector<TestExecution>{}) out.push_back(e.run);
    return out;
  };
  HistoryQuery q;
  EXPECT_THAT(runs_of(q), ElementsAre("trunk-early", "feature-early", "main-early"));
  q.branches = HistoryQuery::Branches::kBranch;
  EXPECT_THAT(runs_of(q), ElementsAre("feature-early"));
  q.branches = HistoryQuery::Branches::kAny;
  EXPECT_THAT(runs_of(q), ElementsAre("trunk-early", "other-early", "feature-early", "main-early"));
  q.since_ns = kT0 + 15 * kSecond;
  EXPECT_THAT(runs_of(q), ElementsAre("trunk-early", "other-early"));
  // Today's history: every other run, later ones included.
  HistoryQuery today;
  today.as_of_run = false;
  EXPECT_THAT(runs_of(today), ElementsAre("main-later", "overlapping", "trunk-early",
                                          "feature-early", "main-early"));
}

TEST_P(StoreResultsTest, JudgementIsStoredPerFailureReadPageByPageAndGoesStale) {
  Put(Origin("run-1"), {MakeTest("t::a", {F}, kT0), MakeTest("t::b", {F, P}, kT0)});
  EXPECT_FALSE(store_->results().GetJudgement("run-1")->has_value());
  std::vector<JudgedFailureRow> rows;
  for (int k = 0; k < 5; ++k) {
    JudgedFailureRow r;
    r.kind = k == 4 ? "flaky" : "failure";
    r.job = "unit";
    r.test_id = "t::" + std::to_string(k);
    r.attempt = k;
    r.verdict = k % 2 ? "contention" : "no-data";
    r.reason = k % 2 ? "" : "no agent on that node";
    r.failed_contended = k;
    r.passed_clear = 2 * k;
    r.rerun_passed = k == 4;
    if (k % 2) {
      r.rate_contended = 0.5;
      r.fisher_p = 0.01 * k;
    }
    rows.push_back(r);
  }
  ASSERT_TRUE(store_->results().PutJudgement("run-1", rows).ok());
  EXPECT_EQ(store_->results().PutJudgement("nope", rows).code(), Status::Code::kNotFound);
  auto j = store_->results().GetJudgement("run-1");
  ASSERT_TRUE(j.ok() && j->has_value());
  EXPECT_EQ((*j)->failures, 5);
  EXPECT_FALSE((*j)->stale);
  std::vector<JudgedFailureRow> read;
  for (int offset = 0; offset < 6; offset += 2) {
    auto page = store_->results().JudgedFailures("run-1", offset, 2);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_EQ(page->size(), offset < 4 ? 2u : 1u);
    read.insert(read.end(), page->begin(), page->end());
  }
  EXPECT_EQ(read, rows);
  // Judged again: replaced.
  rows.resize(1);
  ASSERT_TRUE(store_->results().PutJudgement("run-1", rows).ok());
  EXPECT_EQ(*store_->results().JudgedFailures("run-1", 0, 100), rows);
  // A later upload of the run makes the judgement stale; pruning the run removes it.
  Put(Origin("run-1", "e2e"), {MakeTest("t::c", {P}, kT0)});
  EXPECT_TRUE((*store_->results().GetJudgement("run-1"))->stale);
  const int64_t cut = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count() +
                      kSecond;
  ASSERT_TRUE(store_->results().Prune(cut).ok());
  EXPECT_FALSE(store_->results().GetJudgement("run-1")->has_value());
  EXPECT_TRUE(store_->results().JudgedFailures("run-1", 0, 100)->empty());
}

TEST_P(StoreResultsTest, PruneStoresCutsSamplesAndResultsSeparately) {
  ASSERT_TRUE(store_->samples().PutBatch(MakeBatch("node-a", 0, kT0, 3)).ok());
  Put(Origin("run-1"), {MakeTest("t::a", {F}, kT0)});
  ASSERT_TRUE(store_->alerts()
                  .RecordAlert({0, "run-1", "", "run:run-1", "u", "k", true, 200, 1, "", kT0})
                  .ok());
  const int64_t after_everything = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count() +
                                   kSecond;
  auto rows_of = [](const std::vector<std::pair<std::string, Result<int64_t>>>& parts) {
    std::map<std::string, int64_t> out;
    for (const auto& [what, deleted] : parts) {
      EXPECT_TRUE(deleted.ok()) << what << ": " << deleted.status().ToString();
      out[what] = deleted.ok() ? *deleted : -1;
    }
    return out;
  };
  // Samples older than now, results older than the epoch: only the samples go.
  auto first = rows_of(PruneStores(*store_, {after_everything, 0}));
  EXPECT_GT(first["samples"], 0);
  EXPECT_EQ(first["results"], 0);
  EXPECT_EQ(first["alerts"], 0);
  EXPECT_TRUE(store_->samples().Samples("node-a", 0, kT0 + 10 * kSecond)->empty());
  EXPECT_EQ(Run("run-1").size(), 1u);
  EXPECT_EQ(store_->alerts().ListAlerts(10)->size(), 1u);

  // And the other way round.
  ASSERT_TRUE(store_->samples().PutBatch(MakeBatch("node-a", 1, kT0 + 5 * kSecond, 3)).ok());
  auto second = rows_of(PruneStores(*store_, {0, after_everything}));
  EXPECT_EQ(second["samples"], 0);
  EXPECT_EQ(second["results"], 1 + 1 + 1);  // execution, upload, run
  EXPECT_EQ(second["alerts"], 1);
  EXPECT_TRUE(Run("run-1").empty());
  EXPECT_EQ(store_->samples().Samples("node-a", 0, kT0 + 10 * kSecond)->size(), 3u);
}

TEST_P(StoreResultsTest, PruneRemovesOldRunsAndAlerts) {
  Put(Origin("old-run"), {MakeTest("t::a", {F, P}, kT0)});
  auto execs = Run("old-run");
  ASSERT_FALSE(execs.empty());
  ASSERT_TRUE(store_->results().SetContended(execs[0].id, true, "io").ok());
  ASSERT_TRUE(store_->alerts()
                  .RecordAlert({0, "old-run", "", "run:old-run", "u", "k", true, 200, 1, "", kT0})
                  .ok());
  // Runs are aged by upload time: everything uploaded so far is older than `cut`.
  const int64_t cut = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count() +
                      kSecond;
  auto deleted = store_->results().Prune(cut);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, 2 + 1 + 1);  // executions, upload, run
  auto alerts_deleted = store_->alerts().Prune(cut);
  ASSERT_TRUE(alerts_deleted.ok()) << alerts_deleted.status().ToString();
  EXPECT_EQ(*alerts_deleted, 1);
  EXPECT_TRUE(Run("old-run").empty());
  EXPECT_TRUE(store_->analytics().ListRuns(RunFilter::Latest(10))->empty());
  EXPECT_TRUE(store_->alerts().ListAlerts(10)->empty());
  EXPECT_TRUE(store_->results().TestHistory("t::a", "", 10)->empty());
  // Newer runs stay.
  Put(Origin("new-run"), {MakeTest("t::a", {P}, kT0)});
  ASSERT_TRUE(store_->results().Prune(cut - 10 * kSecond).ok());
  EXPECT_EQ(Run("new-run").size(), 1u);
}

TEST_P(StoreResultsTest, RunIdentityIsStoredPerRunAndPerJob) {
  ResultOrigin a = Origin("run-9", "unit");
  a.identity.commit = "abcdef0123";
  a.identity.branch = "feature";
  a.identity.provider = "gitlab-ci";
  a.identity.shard_index = 1;
  a.identity.shard_total = 2;
  a.identity.url = "https://ci.example/jobs/1";
  Put(a, {MakeTest("t::a", {F}, kT0, 2.0)});
  // The second shard names the default branch; the third job says nothing of the run.
  ResultOrigin b = Origin("run-9", "unit");
  b.identity.default_branch = "main";
  b.identity.shard_index = 2;
  b.identity.shard_total = 2;
  b.identity.attempt = 2;
  b.identity.exit_code = 0;
  Put(b, {MakeTest("t::b", {P}, kT0 + 10 * kSecond, 1.0)});
  Put(Origin("run-9", "lint"), {MakeTest("t::c", {P})});
  auto runs = store_->analytics().ListRuns(RunFilter::Latest(10));
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  ASSERT_EQ(runs->size(), 1u);
  const RunSummary& r = runs->front();
  EXPECT_EQ(r.identity.commit, "abcdef0123");
  EXPECT_EQ(r.identity.branch, "feature");
  EXPECT_EQ(r.identity.default_branch, "main");
  EXPECT_EQ(r.identity.on_default_branch, std::optional<bool>(false));
  EXPECT_EQ(r.identity.provider, "gitlab-ci");
  EXPECT_EQ(r.first_start_ns, std::optional<int64_t>(kT0));
  EXPECT_EQ(r.last_end_ns, std::optional<int64_t>(kT0 + 11 * kSecond));
  ASSERT_EQ(r.jobs.size(), 3u);
  EXPECT_EQ(r.jobs[0].job, "lint");
  EXPECT_EQ(r.jobs[0].shard_index, std::nullopt);
  EXPECT_EQ(r.jobs[0].attempt, 1);
  EXPECT_EQ(r.jobs[1].job, "unit");
  EXPECT_EQ(r.jobs[1].shard_index, std::optional<int>(1));
  EXPECT_EQ(r.jobs[1].url, "https://ci.example/jobs/1");
  EXPECT_EQ(r.jobs[1].failed, 1);
  EXPECT_EQ(r.jobs[2].shard_index, std::optional<int>(2));
  EXPECT_EQ(r.jobs[2].attempt, 2);
  EXPECT_EQ(r.jobs[2].exit_code, std::optional<int>(0));
}

TEST_P(StoreResultsTest, AnUploadNamingAnotherCommitOrBranchIsRefusedAndStoresNothing) {
  ResultOrigin a = Origin("run-5");
  a.identity.commit = "abcdef0123";
  a.identity.branch = "main";
  a.identity.on_default_branch = true;
  Put(a, {MakeTest("t::a", {P}, kT0)});
  ResultSet set;
  set.tests.push_back(MakeTest("t::b", {F}, kT0));
  struct Case {
    const char* field;
    RunIdentity identity;
  };
  RunIdentity other_commit;
  other_commit.commit = "0123abcdef";
  RunIdentity other_branch;
  other_branch.branch = "feature";
  RunIdentity not_default;
  not_default.on_default_branch = false;
  RunIdentity other_default;  // main is the run's branch, so "default is trunk" says not default
  other_default.default_branch = "trunk";
  for (const Case& c :
       {Case{"commit", other_commit}, Case{"branch", other_branch},
        Case{"default branch", not_default}, Case{"default branch", other_default}}) {
    ResultOrigin o = Origin("run-5");
    o.identity = c.identity;
    auto r = StoreResults(store_->samples(), store_->results(), o, set);
    ASSERT_FALSE(r.ok()) << c.field;
    EXPECT_EQ(r.status().code(), Status::Code::kAlreadyExists) << c.field;
    EXPECT_THAT(r.status().message(), ::testing::HasSubstr("run 'run-5'")) << c.field;
  }
  EXPECT_EQ(Run("run-5").size(), 1u);
  auto runs = store_->analytics().ListRuns(RunFilter::Latest(10));
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ(runs->front().uploads, 1);
  EXPECT_EQ(runs->front().identity.commit, "abcdef0123");
  // The same values again, or none, are fine.
  ResultOrigin same = Origin("run-5");
  same.identity.commit = "abcdef0123";
  Put(same, {MakeTest("t::c", {P})});
  Put(Origin("run-5"), {MakeTest("t::d", {P})});
  EXPECT_EQ(Run("run-5").size(), 3u);
}

TEST_P(StoreResultsTest, ListRunsFiltersByBranchJobCommitAndSince) {
  auto put = [&](const std::string& run, const std::string& job, const std::string& branch,
                 const std::string& commit, int64_t start) {
    ResultOrigin o = Origin(run, job);
    o.identity.branch = branch;
    o.identity.commit = commit;
    Put(o, {MakeTest("t::a", {P}, start)});
  };
  put("r1", "unit", "main", "aaaa1111", kT0);
  put("r2", "e2e", "main", "bbbb2222", kT0 + 100 * kSecond);
  put("r3", "unit", "feature", "aaaa1111", kT0 + 200 * kSecond);
  auto names = [&](RunFilter f) {
    std::vector<std::string> out;
    auto runs = store_->analytics().ListRuns(f);
    EXPECT_TRUE(runs.ok()) << runs.status().ToString();
    for (const RunSummary& r : *runs) out.push_back(r.run);
    std::sort(out.begin(), out.end());
    return out;
  };
  RunFilter f;
  f.branch = "main";
  EXPECT_THAT(names(f), ::testing::ElementsAre("r1", "r2"));
  f = RunFilter{};
  f.job = "unit";
  EXPECT_THAT(names(f), ::testing::ElementsAre("r1", "r3"));
  f = RunFilter{};
  f.commit = "aaaa";  // a prefix
  EXPECT_THAT(names(f), ::testing::ElementsAre("r1", "r3"));
  f.branch = "main";
  EXPECT_THAT(names(f), ::testing::ElementsAre("r1"));
  f = RunFilter{};
  f.since_ns = kT0 + 100 * kSecond;
  EXPECT_THAT(names(f), ::testing::ElementsAre("r2", "r3"));
  f.limit = 1;
  EXPECT_EQ(names(f).size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(FileAndMemory, StoreResultsTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "File" : "Memory"; });

}  // namespace
}  // namespace jostle::collector
