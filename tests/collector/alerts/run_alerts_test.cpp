// run_alerts.h: facts from a RunReport, the store-backed alert state over a real SQLite
// database, and SendRunAlerts against a loopback receiver.
#include "collector/alerts/run_alerts.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "collector/alerts/signature.h"
#include "collector/store/stores.h"
#include "loopback_receiver.h"

namespace jostle::collector {
namespace {

using alerts::testing::Answer;
using alerts::testing::LoopbackReceiver;

FailureReport Failure(std::string test, Verdict verdict, std::optional<Resource> resource,
                      std::vector<Culprit> culprits, std::string job = "unit") {
  FailureReport f;
  f.test_id = std::move(test);
  f.verdict = verdict;
  f.assessment.resource = resource;
  f.assessment.contended = resource.has_value();
  f.assessment.culprits = std::move(culprits);
  f.job = std::move(job);
  f.node = "node-a";
  f.pod = "ci/runner-1";
  return f;
}

// Run r7: four failures (contention via a neighbour pod, contention-possible on its own
// limit, fails-regardless, no-data) and one flaky test judged contention.
RunReport SampleReport() {
  RunReport r;
  r.run = "r7";
  r.tests = 20;
  r.failed = 4;
  r.flaky = 1;
  r.verdict_counts = {{"contention", 1},
                      {"contention-possible", 1},
                      {"fails-regardless", 1},
                      {"no-contention", 0},
                      {"no-data", 1}};
  r.failures.push_back(Failure(
      "t::deadline", Verdict::kContention, Resource::kCpu,
      {{CulpritKind::kPod, "load/burner", 0.9, ""}, {CulpritKind::kNamespace, "load", 0.9, ""}}));
  r.failures.push_back(Failure("t::alloc", Verdict::kContentionPossible, Resource::kMemory,
                               {{CulpritKind::kOwnLimit, "ci/runner-1", 0.97, "near limit"}}));
  r.failures.push_back(Failure("t::bug", Verdict::kFailsRegardless, std::nullopt, {}));
  r.failures.push_back(Failure("t::dark", Verdict::kNoData, std::nullopt, {}));
  r.flaky_tests.push_back(Failure("t::flaky", Verdict::kContention, Resource::kIo, {}));
  return r;
}

TEST(FactsFromReportTest, ListsTheContentionFailuresAndCountsEveryVerdict) {
  alerts::AlertFacts facts = FactsFromReport(SampleReport(), "unit", "https://x/r7");
  EXPECT_EQ(facts.run, "r7");
  EXPECT_EQ(facts.job, "unit");
  EXPECT_EQ(facts.report_url, "https://x/r7");
  EXPECT_EQ(facts.failures_total, 4);
  const std::map<std::string, int> counts = {
      {"contention", 1}, {"contention-possible", 1}, {"fails-regardless", 1}, {"no-data", 1}};
  EXPECT_EQ(facts.verdict_counts, counts);
  ASSERT_EQ(facts.failures.size(), 2u);
  EXPECT_EQ(facts.failures[0].test, "t::deadline");
  EXPECT_EQ(facts.failures[0].verdict, "contention");
  EXPECT_EQ(facts.failures[0].resource, "cpu");
  EXPECT_EQ(facts.failures[0].culprit, "load/burner");
  EXPECT_EQ(facts.failures[0].node, "node-a");
  EXPECT_EQ(facts.failures[0].pod, "ci/runner-1");
  EXPECT_EQ(facts.failures[1].test, "t::alloc");
  EXPECT_EQ(facts.failures[1].verdict, "contention-possible");
  EXPECT_EQ(facts.failures[1].resource, "memory");
  EXPECT_EQ(facts.failures[1].culprit, "own-limit");
  // The rules see two matching failures.
  EXPECT_EQ(alerts::MatchingCount(facts, AlertRules{}), 2);
}

TEST(FactsFromReportTest, RunJobIsTheCommonJobOrEmpty) {
  RunReport r = SampleReport();
  EXPECT_EQ(RunJob(r), "unit");
  r.failures[1].job = "e2e";
  EXPECT_EQ(RunJob(r), "");
  EXPECT_EQ(RunJob(RunReport{}), "");
}

class StoreAlertStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenSqliteStores(":memory:");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store.value());
  }
  std::unique_ptr<Stores> store_;
};

TEST_F(StoreAlertStateTest, LogsEveryDeliveryAndRemembersTheDeliveredOnes) {
  StoreAlertState state(store_->alerts());
  alerts::DeliveryResult failed;
  failed.run = "r7";
  failed.job = "unit";
  failed.target = "http://127.0.0.1:9/...";
  failed.target_key = "sha256:0123456789abcdef";
  failed.status = 503;
  failed.attempts = 4;
  failed.error = "HTTP 503 after 4 attempts";
  ASSERT_TRUE(state.RecordDelivery(failed, "job:unit", 1'700'000'000).ok());
  auto alerted = state.WasRunAlerted("r7", failed.target_key);
  ASSERT_TRUE(alerted.ok());
  EXPECT_FALSE(*alerted);
  auto last = state.LastAlertAt("job:unit", failed.target_key);
  ASSERT_TRUE(last.ok());
  EXPECT_FALSE(last->has_value());

  alerts::DeliveryResult ok = failed;
  ok.delivered = true;
  ok.status = 200;
  ok.attempts = 1;
  ok.error.clear();
  ASSERT_TRUE(state.RecordDelivery(ok, "job:unit", 1'700'000'100).ok());
  alerted = state.WasRunAlerted("r7", failed.target_key);
  ASSERT_TRUE(alerted.ok());
  EXPECT_TRUE(*alerted);
  EXPECT_FALSE(*state.WasRunAlerted("r7", "sha256:other"));
  last = state.LastAlertAt("job:unit", failed.target_key);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, std::optional<int64_t>(1'700'000'100));

  auto log = store_->alerts().ListAlerts(10);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 2u);
  EXPECT_TRUE((*log)[0].delivered);  // newest first
  EXPECT_EQ((*log)[0].at_ns, 1'700'000'100LL * 1'000'000'000LL);
  EXPECT_EQ((*log)[0].cooldown_key, "job:unit");
  EXPECT_FALSE((*log)[1].delivered);
  EXPECT_EQ((*log)[1].status, 503);
  EXPECT_EQ((*log)[1].attempts, 4);
  EXPECT_EQ((*log)[1].error, "HTTP 503 after 4 attempts");
}

alerts::DeliveryPolicy QuickPolicy() {
  alerts::DeliveryPolicy p;
  p.connect_timeout = std::chrono::milliseconds(1000);
  p.request_timeout = std::chrono::milliseconds(2000);
  p.max_attempts = 2;
  p.deadline = std::chrono::milliseconds(4000);
  p.initial_backoff = std::chrono::milliseconds(10);
  p.max_backoff = std::chrono::milliseconds(20);
  return p;
}

TEST_F(StoreAlertStateTest, SendRunAlertsReportsOneLinePerTarget) {
  LoopbackReceiver good;
  LoopbackReceiver refusing({}, Answer(400));
  StoreAlertState state(store_->alerts());
  RunAlertOptions options;
  options.report_url = "file:///tmp/jostle-report/report.html";
  options.policy = QuickPolicy();
  const std::vector<alerts::WebhookTarget> targets = {
      {good.Url("/hook/secret-token"), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
       alerts::PayloadFormat::kAuto},
      {refusing.Url(), "", alerts::PayloadFormat::kAuto}};
  std::vector<std::string> lines =
      SendRunAlerts(SampleReport(), targets, AlertRules{}, state, options);
  ASSERT_EQ(lines.size(), 2u);
  const std::string masked = alerts::MaskUrl(good.Url());
  EXPECT_EQ(lines[0].rfind("alert delivered to " + masked + " (HTTP 200, 1 attempt, ", 0), 0u)
      << lines[0];
  EXPECT_EQ(lines[0].find("secret-token"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[1].rfind("alert not delivered to " + alerts::MaskUrl(refusing.Url()) +
                               " (HTTP 400, 1 attempt, ",
                           0),
            0u)
      << lines[1];
  ASSERT_EQ(good.RequestCount(), 1u);
  const auto request = good.Requests()[0];
  nlohmann::json body = nlohmann::json::parse(request.body);
  EXPECT_EQ(body["run"], "r7");
  EXPECT_EQ(body["job"], "unit");
  EXPECT_EQ(body["report_url"], "file:///tmp/jostle-report/report.html");
  EXPECT_TRUE(alerts::VerifySignature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                      request.headers.at("webhook-id"),
                                      request.headers.at("webhook-timestamp"), request.body,
                                      request.headers.at("webhook-signature"))
                  .ok());

  // Again: the delivered target is skipped, the refusing one is tried again.
  lines = SendRunAlerts(SampleReport(), targets, AlertRules{}, state, options);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("alert not delivered to ", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind("alert skipped for " + masked + ": run r7 was already alerted", 0), 0u)
      << lines[1];
  EXPECT_EQ(good.RequestCount(), 1u);
  EXPECT_EQ(refusing.RequestCount(), 2u);

  // Rules that nothing matches: every target is skipped with the reason.
  AlertRules strict;
  strict.min_count = 3;
  alerts::InMemoryAlertState fresh;
  lines = SendRunAlerts(SampleReport(), targets, strict, fresh, options);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("2 failures with an alerting verdict"), std::string::npos) << lines[0];
  EXPECT_TRUE(SendRunAlerts(SampleReport(), {}, AlertRules{}, fresh, options).empty());
}

}  // namespace
}  // namespace jostle::collector
