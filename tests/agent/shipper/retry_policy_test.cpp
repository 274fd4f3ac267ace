#include "agent/shipper/retry_policy.h"

#include <gtest/gtest.h>

namespace jostle::agent {
namespace {

TEST(ClassifyStatusTest, Table) {
  struct Case {
    long status;
    SendVerdict verdict;
  };
  const Case cases[] = {
      {200, SendVerdict::kDelivered}, {204, SendVerdict::kDelivered}, {400, SendVerdict::kDrop},
      {401, SendVerdict::kUnauthorized}, {403, SendVerdict::kUnauthorized},      {404, SendVerdict::kDrop},
      {413, SendVerdict::kDrop},      {415, SendVerdict::kDrop},      {408, SendVerdict::kRetry},
      {429, SendVerdict::kRetry},     {500, SendVerdict::kRetry},     {502, SendVerdict::kRetry},
      {503, SendVerdict::kRetry},     {504, SendVerdict::kRetry},     {301, SendVerdict::kDrop},
  };
  for (const auto& c : cases) EXPECT_EQ(ClassifyStatus(c.status), c.verdict) << c.status;
}

TEST(ParseRetryAfterTest, Table) {
  EXPECT_EQ(ParseRetryAfter("120"), std::chrono::seconds(120));
  EXPECT_EQ(ParseRetryAfter(" 3 "), std::chrono::seconds(3));
  EXPECT_EQ(ParseRetryAfter("0"), std::chrono::seconds(0));
  EXPECT_FALSE(ParseRetryAfter(""));
  EXPECT_FALSE(ParseRetryAfter("-1"));
  EXPECT_FALSE(ParseRetryAfter("1.5"));
  EXPECT_FALSE(ParseRetryAfter("Wed, 21 Oct 2026 07:28:00 GMT"));
}

TEST(BackoffTest, GrowsWithJitterUpToTheCap) {
  using std::chrono::milliseconds;
  Backoff b(milliseconds(100), milliseconds(1000), 42);
  const int64_t expected_max[] = {100, 200, 400, 800, 1000, 1000, 1000};
  for (int64_t max : expected_max) {
    auto d = b.Next().count();
    EXPECT_GE(d, max / 2);
    EXPECT_LE(d, max);
  }
  EXPECT_EQ(b.failures(), 7);
  b.Reset();
  EXPECT_LE(b.Next().count(), 100);
}

TEST(BackoffTest, JitterSpreadsDelays) {
  using std::chrono::milliseconds;
  std::set<int64_t> seen;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Backoff b(milliseconds(1000), milliseconds(60000), seed);
    seen.insert(b.Next().count());
  }
  EXPECT_GT(seen.size(), 10u);
}

}  // namespace
}  // namespace jostle::agent
