// HttpWebhookSender against a real HTTP receiver on loopback.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "alert_fixtures.h"
#include "collector/alerts/payload.h"
#include "collector/alerts/signature.h"
#include "collector/alerts/webhook_sender.h"
#include "loopback_receiver.h"

namespace jostle::collector::alerts {
namespace {

using std::chrono::milliseconds;
using testing::Answer;
using testing::LoopbackReceiver;
using testing::ReceivedRequest;
using testing::SampleFacts;
using testing::Silence;

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// Small waits so the suite stays quick; the retry logic is the same at any scale.
DeliveryPolicy FastPolicy() {
  DeliveryPolicy policy;
  policy.connect_timeout = milliseconds(1000);
  policy.request_timeout = milliseconds(2000);
  policy.max_attempts = 4;
  policy.deadline = milliseconds(5000);
  policy.initial_backoff = milliseconds(20);
  policy.max_backoff = milliseconds(100);
  policy.max_retry_after = milliseconds(1500);
  return policy;
}

WebhookMessage GenericMessage() {
  WebhookMessage message;
  message.id = NewMessageId();
  message.body = BuildGenericPayload(SampleFacts(), 1700000000);
  return message;
}

void ExpectSigned(const ReceivedRequest& request, const std::string& secret) {
  ASSERT_TRUE(request.headers.contains("webhook-id"));
  ASSERT_TRUE(request.headers.contains("webhook-timestamp"));
  ASSERT_TRUE(request.headers.contains("webhook-signature"));
  Status verified = VerifySignature(secret, request.headers.at("webhook-id"),
                                    request.headers.at("webhook-timestamp"), request.body,
                                    request.headers.at("webhook-signature"));
  EXPECT_TRUE(verified.ok()) << verified.ToString();
}

TEST(DeliveryTest, GenericPayloadSignedAndDelivered) {
  LoopbackReceiver receiver;
  ASSERT_TRUE(receiver.listening());
  HttpWebhookSender sender(FastPolicy());
  WebhookMessage message = GenericMessage();
  DeliveryResult result = sender.Deliver({receiver.Url(), kSecret, PayloadFormat::kAuto}, message);

  EXPECT_TRUE(result.delivered) << result.error;
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_TRUE(result.error.empty()) << result.error;
  EXPECT_EQ(result.format, "generic");
  EXPECT_EQ(result.message_id, message.id);
  ASSERT_EQ(receiver.RequestCount(), 1u);
  ReceivedRequest request = receiver.Requests()[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/hook");
  EXPECT_EQ(request.headers["content-type"], "application/json");
  EXPECT_EQ(request.headers["webhook-id"], message.id);
  EXPECT_EQ(request.body, message.body);
  ExpectSigned(request, kSecret);
  // A wrong secret must not verify the same request.
  EXPECT_FALSE(VerifySignature("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                               request.headers["webhook-id"], request.headers["webhook-timestamp"],
                               request.body, request.headers["webhook-signature"])
                   .ok());
  nlohmann::json doc = nlohmann::json::parse(request.body);
  EXPECT_EQ(doc["type"], "jostle.contention");
  EXPECT_EQ(doc["failures"].size(), 3u);
}

TEST(DeliveryTest, UnsignedWithoutSecret) {
  LoopbackReceiver receiver;
  HttpWebhookSender sender(FastPolicy());
  DeliveryResult result =
      sender.Deliver({receiver.Url(), "", PayloadFormat::kGeneric}, GenericMessage());
  EXPECT_TRUE(result.delivered) << result.error;
  ASSERT_EQ(receiver.RequestCount(), 1u);
  ReceivedRequest request = receiver.Requests()[0];
  EXPECT_TRUE(request.headers.contains("webhook-id"));
  EXPECT_FALSE(request.headers.contains("webhook-signature"));
}

TEST(DeliveryTest, SlackFormatForcedOnLocalReceiver) {
  LoopbackReceiver receiver;
  HttpWebhookSender sender(FastPolicy());
  WebhookTarget target{receiver.Url("/services/T0/B0/secret"), "", PayloadFormat::kSlack};
  WebhookMessage message;
  message.id = NewMessageId();
  message.body = BuildSlackPayload(SampleFacts());
  DeliveryResult result = sender.Deliver(target, message);
  EXPECT_TRUE(result.delivered) << result.error;
  EXPECT_EQ(result.format, "slack");
  EXPECT_EQ(result.target.find("secret"), std::string::npos) << result.target;
  ASSERT_EQ(receiver.RequestCount(), 1u);
  nlohmann::json doc = nlohmann::json::parse(receiver.Requests()[0].body);
  EXPECT_TRUE(doc["text"].is_string());
  EXPECT_EQ(doc["blocks"][0]["type"], "header");
  EXPECT_EQ(doc["blocks"].back()["type"], "context");
}

TEST(DeliveryTest, RetriesAfter503ThenSucceeds) {
  LoopbackReceiver receiver({Answer(503)});
  HttpWebhookSender sender(FastPolicy());
  WebhookMessage message = GenericMessage();
  DeliveryResult result = sender.Deliver({receiver.Url(), kSecret, PayloadFormat::kAuto}, message);
  EXPECT_TRUE(result.delivered) << result.error;
  EXPECT_EQ(result.attempts, 2);
  EXPECT_EQ(result.status, 200);
  std::vector<ReceivedRequest> requests = receiver.Requests();
  ASSERT_EQ(requests.size(), 2u);
  // One message: same id and body on the retry, each attempt signed.
  EXPECT_EQ(requests[0].headers["webhook-id"], requests[1].headers["webhook-id"]);
  EXPECT_EQ(requests[0].body, requests[1].body);
  ExpectSigned(requests[0], kSecret);
  ExpectSigned(requests[1], kSecret);
}

TEST(DeliveryTest, NoRetryAfter400) {
  LoopbackReceiver receiver({Answer(400)});
  HttpWebhookSender sender(FastPolicy());
  DeliveryResult result =
      sender.Deliver({receiver.Url(), kSecret, PayloadFormat::kAuto}, GenericMessage());
  EXPECT_FALSE(result.delivered);
  EXPECT_EQ(result.status, 400);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_NE(result.error.find("HTTP 400"), std::string::npos) << result.error;
  EXPECT_NE(result.error.find("not retried"), std::string::npos) << result.error;
  // Give a wrongly scheduled retry the chance to show up before counting.
  EXPECT_FALSE(receiver.WaitForRequests(2, milliseconds(300)));
  EXPECT_EQ(receiver.RequestCount(), 1u);
}

TEST(DeliveryTest, NoRetryOn404Or410OrRedirect) {
  for (int status : {301, 404, 410}) {
    LoopbackReceiver receiver({Answer(status, {{"Location", "http://127.0.0.1:1/"}})});
    HttpWebhookSender sender(FastPolicy());
    DeliveryResult result =
        sender.Deliver({receiver.Url(), "", PayloadFormat::kAuto}, GenericMessage());
    EXPECT_FALSE(result.delivered) << status;
    EXPECT_EQ(result.status, status);
    EXPECT_EQ(result.attempts, 1) << status;
    EXPECT_EQ(receiver.RequestCount(), 1u) << status;
  }
}

TEST(DeliveryTest, HonoursRetryAfterOn429) {
  LoopbackReceiver receiver({Answer(429, {{"Retry-After", "1"}})});
  HttpWebhookSender sender(FastPolicy());
  DeliveryResult result =
      sender.Deliver({receiver.Url(), kSecret, PayloadFormat::kAuto}, GenericMessage());
  EXPECT_TRUE(result.delivered) << result.error;
  EXPECT_EQ(result.attempts, 2);
  EXPECT_EQ(receiver.RequestCount(), 2u);
  // The sender waited the full second asked for, not its 20-100 ms backoff.
  EXPECT_GE(result.duration_ms, 1000);
}

TEST(DeliveryTest, RetryAfterIsCapped) {
  LoopbackReceiver receiver({Answer(503, {{"Retry-After", "9000000000000000000"}})});
  DeliveryPolicy policy = FastPolicy();
  policy.max_retry_after = milliseconds(50);
  HttpWebhookSender sender(policy);
  DeliveryResult result =
      sender.Deliver({receiver.Url(), "", PayloadFormat::kAuto}, GenericMessage());
  EXPECT_TRUE(result.delivered) << result.error;
  EXPECT_EQ(receiver.RequestCount(), 2u);
}

TEST(DeliveryTest, RetryAfterBeyondDeadlineGivesUp) {
  LoopbackReceiver receiver({Answer(429, {{"Retry-After", "20"}})});
  DeliveryPolicy policy = FastPolicy();
  policy.max_retry_after = milliseconds(60000);
  policy.deadline = milliseconds(2000);
  HttpWebhookSender sender(policy);
  DeliveryResult result =
      sender.Deliver({receiver.Url(), "", PayloadFormat::kAuto}, GenericMessage());
  EXPECT_FALSE(result.delivered);
  EXPECT_EQ(result.status, 429);
  EXPECT_NE(result.error.find("deadline"), std::string::npos) << result.error;
  EXPECT_EQ(receiver.RequestCount(), 1u);
}

TEST(DeliveryTest, GivesUpAfterMaxAttempts) {
  LoopbackReceiver receiver({}, Answer(500));
  DeliveryPolicy policy = FastPolicy();
  policy.max_attempts = 3;
  HttpWebhookSender sender(policy);
  DeliveryResult result =
      sender.Deliver({receiver.Url(), "", PayloadFormat::kAuto}, GenericMessage());
  EXPECT_FALSE(result.delivered);
  EXPECT_EQ(result.attempts, 3);
  EXPECT_EQ(result.status, 500);
  EXPECT_NE(result.error.find("gave up after 3 attempts"), std::string::npos) << result.error;
  EXPECT_EQ(receiver.RequestCount(), 3u);
}

TEST(DeliveryTest, SilentReceiverDoesNotHang) {
  LoopbackReceiver receiver({}, Silence());
  DeliveryPolicy policy = FastPolicy();
  policy.request_timeout = milliseconds(300);
  policy.deadline = milliseconds(1000);
  policy.max_attempts = 100;
  HttpWebhookSender sender(policy);
  const auto start = std::chrono::steady_clock::now();
  DeliveryResult result =
      sender.Deliver({receiver.Url(), kSecret, PayloadFormat::kAuto}, GenericMessage());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(result.delivered);
  EXPECT_EQ(result.status, 0);
  EXPECT_GE(result.attempts, 1);
  EXPECT_FALSE(result.error.empty());
  EXPECT_GE(receiver.RequestCount(), 1u);  // the request did arrive; no answer came back
  // Loose bound: three times the configured deadline.
  EXPECT_LT(elapsed, 3 * policy.deadline) << result.error;
}

TEST(DeliveryTest, ConnectionRefusedIsLogged) {
  const int port = testing::UnusedLoopbackPort();
  ASSERT_GT(port, 0);
  DeliveryPolicy policy = FastPolicy();
  policy.max_attempts = 2;
  HttpWebhookSender sender(policy);
  DeliveryResult result = sender.Deliver(
      {"http://127.0.0.1:" + std::to_string(port) + "/hook", "", PayloadFormat::kAuto},
      GenericMessage());
  EXPECT_FALSE(result.delivered);
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.attempts, 2);  // connection errors are retried
  EXPECT_NE(result.error.find("gave up after 2 attempts"), std::string::npos) << result.error;
  EXPECT_EQ(result.target, "http://127.0.0.1:" + std::to_string(port) + "/...");
}

TEST(DeliveryTest, StopAbortsWaitingAndInFlight) {
  LoopbackReceiver receiver({}, Silence());
  DeliveryPolicy policy = FastPolicy();
  policy.request_timeout = milliseconds(20000);
  policy.deadline = milliseconds(60000);
  HttpWebhookSender sender(policy);
  std::stop_source stop;
  std::thread stopper([&] {
    receiver.WaitForRequests(1, milliseconds(5000));
    stop.request_stop();
  });
  const auto start = std::chrono::steady_clock::now();
  DeliveryResult result = sender.Deliver({receiver.Url(), "", PayloadFormat::kAuto},
                                         GenericMessage(), stop.get_token());
  stopper.join();
  EXPECT_FALSE(result.delivered);
  EXPECT_NE(result.error.find("stopped"), std::string::npos) << result.error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(15000));
}

TEST(DeliveryTest, RejectsNonHttpUrl) {
  HttpWebhookSender sender(FastPolicy());
  DeliveryResult result =
      sender.Deliver({"file:///etc/passwd", "", PayloadFormat::kAuto}, GenericMessage());
  EXPECT_FALSE(result.delivered);
  EXPECT_EQ(result.attempts, 0);
  EXPECT_NE(result.error.find("not http"), std::string::npos) << result.error;
}

TEST(MaskUrlTest, Table) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"https://hooks.slack.com/services/T000/B000/XXXX", "https://hooks.slack.com/..."},
      {"https://user:pw@example.com:8443/a?token=x", "https://example.com:8443/..."},
      {"http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
      {"http://example.com", "http://example.com"},
      {"http://example.com?key=1", "http://example.com/..."},
  };
  for (const auto& [url, masked] : cases) EXPECT_EQ(MaskUrl(url), masked) << url;
  EXPECT_NE(TargetKey("https://hooks.slack.com/services/A"),
            TargetKey("https://hooks.slack.com/services/B"));
  EXPECT_EQ(TargetKey("x").rfind("sha256:", 0), 0u);
}

TEST(RetryPolicyTest, RetryAfterParsing) {
  EXPECT_EQ(ParseRetryAfterSeconds("120"), 120);
  EXPECT_EQ(ParseRetryAfterSeconds(" 0 "), 0);
  EXPECT_EQ(ParseRetryAfterSeconds("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
  EXPECT_EQ(ParseRetryAfterSeconds("-5"), std::nullopt);
  EXPECT_EQ(ParseRetryAfterSeconds(""), std::nullopt);
  EXPECT_EQ(ParseRetryAfterSeconds("1.5"), std::nullopt);
  EXPECT_EQ(ParseRetryAfterSeconds("99999999999999999999"), std::nullopt);  // out of range
}

TEST(RetryPolicyTest, RetryableStatuses) {
  for (int s : {0, 429, 500, 502, 503, 504}) EXPECT_TRUE(IsRetryableStatus(s)) << s;
  for (int s : {301, 400, 401, 403, 404, 408, 410, 422}) EXPECT_FALSE(IsRetryableStatus(s)) << s;
}

TEST(RetryPolicyTest, BackoffDoublesWithJitterAndCap) {
  DeliveryPolicy policy;
  policy.initial_backoff = milliseconds(100);
  policy.max_backoff = milliseconds(1000);
  EXPECT_EQ(BackoffDelay(policy, 1, 1.0), milliseconds(100));
  EXPECT_EQ(BackoffDelay(policy, 1, 0.0), milliseconds(50));
  EXPECT_EQ(BackoffDelay(policy, 2, 1.0), milliseconds(200));
  EXPECT_EQ(BackoffDelay(policy, 3, 1.0), milliseconds(400));
  EXPECT_EQ(BackoffDelay(policy, 5, 1.0), milliseconds(1000));
  EXPECT_EQ(BackoffDelay(policy, 30, 0.0), milliseconds(500));
}

}  // namespace
}  // namespace jostle::collector::alerts
