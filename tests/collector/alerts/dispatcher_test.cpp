// AlertDispatcher and AsyncAlertDispatcher with the real HTTP sender and a loopback receiver.
#include "collector/alerts/dispatcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "alert_fixtures.h"
#include "collector/alerts/signature.h"
#include "loopback_receiver.h"

namespace jostle::collector::alerts {
namespace {

using std::chrono::milliseconds;
using testing::Answer;
using testing::LoopbackReceiver;
using testing::SampleFacts;
using testing::Silence;

DeliveryPolicy FastPolicy() {
  DeliveryPolicy policy;
  policy.connect_timeout = milliseconds(1000);
  policy.request_timeout = milliseconds(2000);
  policy.max_attempts = 2;
  policy.deadline = milliseconds(4000);
  policy.initial_backoff = milliseconds(20);
  policy.max_backoff = milliseconds(50);
  return policy;
}

struct ManualClock {
  std::atomic<int64_t> now{1'700'000'000};
  UnixClock Fn() {
    return [this] { return now.load(); };
  }
};

TEST(DispatcherTest, SendsOncePerRunToEachTarget) {
  LoopbackReceiver generic;
  LoopbackReceiver slack;
  HttpWebhookSender sender(FastPolicy());
  InMemoryAlertState state;
  ManualClock clock;
  AlertDispatcher dispatcher(
      {{generic.Url(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", PayloadFormat::kAuto},
       {slack.Url("/services/T/B/S"), "", PayloadFormat::kSlack}},
      AlertRules{}, sender, state, clock.Fn());

  DispatchOutcome first = dispatcher.Dispatch(SampleFacts());
  ASSERT_EQ(first.deliveries.size(), 2u);
  for (const DeliveryResult& d : first.deliveries) {
    EXPECT_TRUE(d.delivered) << d.target << ": " << d.error;
    EXPECT_EQ(d.run, "r42");
    EXPECT_EQ(d.job, "unit");
  }
  EXPECT_EQ(first.deliveries[0].format, "generic");
  EXPECT_EQ(first.deliveries[1].format, "slack");
  EXPECT_TRUE(first.skipped.empty());

  // Only the alerting verdicts are listed in the body.
  nlohmann::json body = nlohmann::json::parse(generic.Requests()[0].body);
  EXPECT_EQ(body["failures"].size(), 3u);
  EXPECT_EQ(body["timestamp"], "2023-11-14T22:13:20Z");
  const testing::ReceivedRequest request = generic.Requests()[0];
  Status verified =
      VerifySignature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", request.headers.at("webhook-id"),
                      request.headers.at("webhook-timestamp"), request.body,
                      request.headers.at("webhook-signature"));
  EXPECT_TRUE(verified.ok()) << verified.ToString();
  EXPECT_EQ(nlohmann::json::parse(slack.Requests()[0].body)["blocks"][0]["type"], "header");

  clock.now += 100000;
  DispatchOutcome again = dispatcher.Dispatch(SampleFacts());
  EXPECT_TRUE(again.deliveries.empty());
  ASSERT_EQ(again.skipped.size(), 2u);
  EXPECT_NE(again.skipped[0].find("already alerted"), std::string::npos) << again.skipped[0];
  EXPECT_EQ(generic.RequestCount(), 1u);
  EXPECT_EQ(slack.RequestCount(), 1u);
}

TEST(DispatcherTest, VerdictFilterListsOnlyChosenVerdicts) {
  LoopbackReceiver receiver;
  HttpWebhookSender sender(FastPolicy());
  InMemoryAlertState state;
  AlertRules rules;
  rules.on = {"contention"};
  AlertDispatcher dispatcher({{receiver.Url(), "", PayloadFormat::kGeneric}}, rules, sender, state);
  DispatchOutcome outcome = dispatcher.Dispatch(SampleFacts());
  ASSERT_EQ(outcome.deliveries.size(), 1u);
  nlohmann::json body = nlohmann::json::parse(receiver.Requests()[0].body);
  ASSERT_EQ(body["failures"].size(), 2u);
  for (const auto& f : body["failures"]) EXPECT_EQ(f["verdict"], "contention");
}

TEST(DispatcherTest, BelowMinCountSendsNothing) {
  LoopbackReceiver receiver;
  HttpWebhookSender sender(FastPolicy());
  InMemoryAlertState state;
  AlertRules rules;
  rules.min_count = 4;
  AlertDispatcher dispatcher({{receiver.Url(), "", PayloadFormat::kAuto}}, rules, sender, state);
  DispatchOutcome outcome = dispatcher.Dispatch(SampleFacts());
  EXPECT_TRUE(outcome.deliveries.empty());
  ASSERT_EQ(outcome.skipped.size(), 1u);
  EXPECT_NE(outcome.skipped[0].find("min_count is 4"), std::string::npos) << outcome.skipped[0];
  EXPECT_FALSE(receiver.WaitForRequests(1, milliseconds(200)));
}

TEST(DispatcherTest, CooldownPerJob) {
  LoopbackReceiver receiver;
  HttpWebhookSender sender(FastPolicy());
  InMemoryAlertState state;
  ManualClock clock;
  AlertRules rules;
  rules.cooldown_s = 600;
  AlertDispatcher dispatcher({{receiver.Url(), "", PayloadFormat::kAuto}}, rules, sender, state,
                             clock.Fn());
  AlertFacts run1 = SampleFacts();
  AlertFacts run2 = SampleFacts();
  run2.run = "r43";
  AlertFacts other_job = SampleFacts();
  other_job.run = "r44";
  other_job.job = "integration";

  EXPECT_EQ(dispatcher.Dispatch(run1).deliveries.size(), 1u);
  clock.now += 300;
  DispatchOutcome cooled = dispatcher.Dispatch(run2);
  EXPECT_TRUE(cooled.deliveries.empty());
  ASSERT_EQ(cooled.skipped.size(), 1u);
  EXPECT_NE(cooled.skipped[0].find("cooldown"), std::string::npos) << cooled.skipped[0];
  EXPECT_EQ(dispatcher.Dispatch(other_job).deliveries.size(), 1u);  // other job, own cooldown
  clock.now += 300;
  EXPECT_EQ(dispatcher.Dispatch(run2).deliveries.size(), 1u);  // 600 s later
  EXPECT_EQ(receiver.RequestCount(), 3u);
}

TEST(DispatcherTest, FailedDeliveryIsLoggedAndTriedAgainLater) {
  LoopbackReceiver receiver({Answer(400)});
  HttpWebhookSender sender(FastPolicy());
  InMemoryAlertState state;
  AlertDispatcher dispatcher({{receiver.Url(), "", PayloadFormat::kAuto}}, AlertRules{}, sender,
                             state);
  DispatchOutcome failed = dispatcher.Dispatch(SampleFacts());
  ASSERT_EQ(failed.deliveries.size(), 1u);
  EXPECT_FALSE(failed.deliveries[0].delivered);
  EXPECT_EQ(failed.deliveries[0].status, 400);
  DispatchOutcome retried = dispatcher.Dispatch(SampleFacts());
  ASSERT_EQ(retried.deliveries.size(), 1u);
  EXPECT_TRUE(retried.deliveries[0].delivered) << retried.deliveries[0].error;
  EXPECT_EQ(receiver.RequestCount(), 2u);
}

TEST(DispatcherTest, UnreachableTargetDoesNotStopOthers) {
  LoopbackReceiver receiver;
  HttpWebhookSender sender(FastPolicy());
  InMemoryAlertState state;
  const int dead_port = testing::UnusedLoopbackPort();
  AlertDispatcher dispatcher(
      {{"http://127.0.0.1:" + std::to_string(dead_port) + "/x", "", PayloadFormat::kAuto},
       {receiver.Url(), "", PayloadFormat::kAuto}},
      AlertRules{}, sender, state);
  DispatchOutcome outcome = dispatcher.Dispatch(SampleFacts());
  ASSERT_EQ(outcome.deliveries.size(), 2u);
  EXPECT_FALSE(outcome.deliveries[0].delivered);
  EXPECT_FALSE(outcome.deliveries[0].error.empty());
  EXPECT_TRUE(outcome.deliveries[1].delivered) << outcome.deliveries[1].error;
}

TEST(AsyncDispatcherTest, DeliversInBackgroundAndLogs) {
  LoopbackReceiver receiver;
  HttpWebhookSender sender(FastPolicy());
  InMemoryAlertState state;
  AlertDispatcher dispatcher({{receiver.Url(), "", PayloadFormat::kAuto}}, AlertRules{}, sender,
                             state);
  std::atomic<int> callbacks{0};
  AsyncAlertDispatcher async(dispatcher, [&](const DeliveryResult&) { ++callbacks; });
  ASSERT_TRUE(async.Submit(SampleFacts()).ok());
  AlertFacts second = SampleFacts();
  second.run = "r99";
  ASSERT_TRUE(async.Submit(second).ok());
  EXPECT_EQ(async.Stop(milliseconds(10000)), 0u);
  std::vector<DeliveryResult> log = async.Log();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_TRUE(log[0].delivered) << log[0].error;
  EXPECT_EQ(log[0].run, "r42");
  EXPECT_EQ(log[1].run, "r99");
  EXPECT_EQ(callbacks.load(), 2);
  EXPECT_EQ(receiver.RequestCount(), 2u);
  EXPECT_EQ(async.Submit(SampleFacts()).code(), Status::Code::kUnavailable);
}

TEST(AsyncDispatcherTest, StopIsBoundedWhenReceiverNeverAnswers) {
  LoopbackReceiver receiver({}, Silence());
  DeliveryPolicy policy = FastPolicy();
  policy.request_timeout = milliseconds(30000);
  policy.deadline = milliseconds(60000);
  HttpWebhookSender sender(policy);
  InMemoryAlertState state;
  AlertDispatcher dispatcher({{receiver.Url(), "", PayloadFormat::kAuto}}, AlertRules{}, sender,
                             state);
  AsyncAlertDispatcher async(dispatcher);
  const auto submit_start = std::chrono::steady_clock::now();
  ASSERT_TRUE(async.Submit(SampleFacts()).ok());
  AlertFacts queued = SampleFacts();
  queued.run = "r100";
  ASSERT_TRUE(async.Submit(queued).ok());
  // Submit returns without waiting for the network.
  EXPECT_LT(std::chrono::steady_clock::now() - submit_start, milliseconds(1000));
  ASSERT_TRUE(receiver.WaitForRequests(1, milliseconds(5000)));
  const auto stop_start = std::chrono::steady_clock::now();
  size_t dropped = async.Stop(milliseconds(500));
  const auto stop_elapsed = std::chrono::steady_clock::now() - stop_start;
  EXPECT_EQ(dropped, 1u);
  // Loose bound: the in-flight request is aborted, not waited out for 30 s.
  EXPECT_LT(stop_elapsed, milliseconds(5000));
  std::vector<DeliveryResult> log = async.Log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_FALSE(log[0].delivered);
  EXPECT_NE(log[0].error.find("stopped"), std::string::npos) << log[0].error;
}

TEST(AsyncDispatcherTest, ATargetThatNeverAnswersDelaysNoOtherTarget) {
  LoopbackReceiver silent({}, Silence());
  LoopbackReceiver quick;
  DeliveryPolicy policy = FastPolicy();
  policy.request_timeout = milliseconds(30000);
  policy.deadline = milliseconds(60000);
  HttpWebhookSender sender(policy);
  InMemoryAlertState state;
  AlertDispatcher dispatcher(
      {{silent.Url(), "", PayloadFormat::kAuto}, {quick.Url(), "", PayloadFormat::kAuto}},
      AlertRules{}, sender, state);
  AsyncAlertDispatcher async(dispatcher);
  for (const char* run : {"r1", "r2", "r3"}) {
    AlertFacts facts = SampleFacts();
    facts.run = run;
    ASSERT_TRUE(async.Submit(facts).ok());
  }
  // The quick target gets all three while the silent one still holds the first.
  ASSERT_TRUE(quick.WaitForRequests(3, milliseconds(20000)));
  ASSERT_TRUE(silent.WaitForRequests(1, milliseconds(5000)));
  for (int i = 0; i < 2000 && async.Log().size() < 3; ++i) {
    std::this_thread::sleep_for(milliseconds(10));  // polling for the third log entry
  }
  std::vector<DeliveryResult> log = async.Log();
  ASSERT_EQ(log.size(), 3u);
  for (const DeliveryResult& r : log) {
    EXPECT_TRUE(r.delivered) << r.error;
    EXPECT_EQ(r.target_key, TargetKey(quick.Url()));
  }
  EXPECT_EQ(silent.RequestCount(), 1u);
  // r2 and r3 still wait for the silent target: dropped at Stop, the first one aborted.
  EXPECT_EQ(async.Stop(milliseconds(0)), 2u);
  log = async.Log();
  ASSERT_EQ(log.size(), 4u);
  EXPECT_FALSE(log[3].delivered);
  EXPECT_EQ(log[3].target_key, TargetKey(silent.Url()));
}

TEST(AsyncDispatcherTest, AFullQueueDropsTheRunForThatTargetOnly) {
  LoopbackReceiver silent({}, Silence());
  LoopbackReceiver quick;
  DeliveryPolicy policy = FastPolicy();
  policy.request_timeout = milliseconds(30000);
  policy.deadline = milliseconds(60000);
  HttpWebhookSender sender(policy);
  InMemoryAlertState state;
  AlertDispatcher dispatcher(
      {{silent.Url(), "", PayloadFormat::kAuto}, {quick.Url(), "", PayloadFormat::kAuto}},
      AlertRules{}, sender, state);
  AsyncAlertDispatcher async(dispatcher, {}, /*max_queue=*/1);
  AlertFacts facts = SampleFacts();
  facts.run = "r1";
  ASSERT_TRUE(async.Submit(facts).ok());
  ASSERT_TRUE(silent.WaitForRequests(1, milliseconds(5000)));  // r1 in flight there
  facts.run = "r2";
  ASSERT_TRUE(async.Submit(facts).ok());  // queued behind r1 for the silent target
  ASSERT_TRUE(quick.WaitForRequests(2, milliseconds(20000)));
  facts.run = "r3";
  Status full = async.Submit(facts);
  EXPECT_EQ(full.code(), Status::Code::kResourceExhausted);
  EXPECT_NE(full.message().find(MaskUrl(silent.Url())), std::string::npos) << full.ToString();
  ASSERT_TRUE(quick.WaitForRequests(3, milliseconds(20000)));  // the quick one still got r3
  async.Stop(milliseconds(0));
}

}  // namespace
}  // namespace jostle::collector::alerts
