#include "collector/alerts/signature.h"

#include <gtest/gtest.h>

#include <set>

namespace jostle::collector::alerts {
namespace {

// Test vector of the Standard Webhooks reference libraries
// (standard-webhooks/standard-webhooks, libraries/go/webhook_test.go, TestWebhookSign).
constexpr const char* kSpecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kSpecMsgId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kSpecTimestamp = 1614265330;
constexpr const char* kSpecPayload = R"({"test": 2432232314})";
constexpr const char* kSpecSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

TEST(SignatureTest, MatchesStandardWebhooksTestVector) {
  Result<std::string> sig = SignPayload(kSpecSecret, kSpecMsgId, kSpecTimestamp, kSpecPayload);
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  EXPECT_EQ(*sig, kSpecSignature);
}

TEST(SignatureTest, VerifiesTestVector) {
  EXPECT_TRUE(
      VerifySignature(kSpecSecret, kSpecMsgId, "1614265330", kSpecPayload, kSpecSignature).ok());
}

TEST(SignatureTest, VerifiesAnyMatchingEntryOfAList) {
  std::string header = std::string("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= ") +
                       "v1a,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= " + kSpecSignature;
  EXPECT_TRUE(VerifySignature(kSpecSecret, kSpecMsgId, "1614265330", kSpecPayload, header).ok());
}

TEST(SignatureTest, RejectsTamperedInput) {
  struct Case {
    const char* name;
    std::string secret, id, timestamp, body, header;
  };
  const std::vector<Case> cases = {
      {"body", kSpecSecret, kSpecMsgId, "1614265330", R"({"test": 2432232315})", kSpecSignature},
      {"id", kSpecSecret, "msg_other", "1614265330", kSpecPayload, kSpecSignature},
      {"timestamp", kSpecSecret, kSpecMsgId, "1614265331", kSpecPayload, kSpecSignature},
      {"secret", "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", kSpecMsgId, "1614265330", kSpecPayload,
       kSpecSignature},
      {"version", kSpecSecret, kSpecMsgId, "1614265330", kSpecPayload,
       "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
  };
  for (const Case& c : cases) {
    Status s = VerifySignature(c.secret, c.id, c.timestamp, c.body, c.header);
    EXPECT_EQ(s.code(), Status::Code::kPermissionDenied) << c.name << ": " << s.ToString();
  }
}

TEST(SignatureTest, RejectsMalformedHeaders) {
  EXPECT_EQ(VerifySignature(kSpecSecret, kSpecMsgId, "16x", kSpecPayload, kSpecSignature).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(VerifySignature(kSpecSecret, "", "1614265330", kSpecPayload, kSpecSignature).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(VerifySignature(kSpecSecret, "a.b", "1614265330", kSpecPayload, kSpecSignature).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(VerifySignature(kSpecSecret, kSpecMsgId, "1614265330", kSpecPayload, "").code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(
      VerifySignature("whsec_!!", kSpecMsgId, "1614265330", kSpecPayload, kSpecSignature).code(),
      Status::Code::kInvalidArgument);
}

TEST(SignatureTest, RawSecretIsUsedAsGiven) {
  // A secret without the prefix is the key itself, so it differs from its base64 decoding.
  Result<std::string> raw = DecodeSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(*raw, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  Result<std::string> sig =
      SignPayload("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", kSpecMsgId, kSpecTimestamp, kSpecPayload);
  ASSERT_TRUE(sig.ok());
  EXPECT_NE(*sig, kSpecSignature);
  EXPECT_TRUE(VerifySignature("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", kSpecMsgId, "1614265330",
                              kSpecPayload, *sig)
                  .ok());
  EXPECT_FALSE(DecodeSecret("").ok());
  EXPECT_FALSE(DecodeSecret("whsec_").ok());
}

TEST(Base64Test, Rfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
      {std::string("\xff\xfe\x00", 3), "//4A"},
  };
  for (const auto& [plain, encoded] : cases) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    Result<std::string> decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded;
    EXPECT_EQ(*decoded, plain) << encoded;
  }
  EXPECT_EQ(*Base64Decode("Zm9vYg"), "foob");  // padding optional
}

TEST(Base64Test, RejectsMalformedInput) {
  for (const char* bad : {"Z", "Zm9v!", "Zm=", "Zm9vY===", "Zm 9"}) {
    Result<std::string> decoded = Base64Decode(bad);
    EXPECT_FALSE(decoded.ok()) << bad;
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.status().code(), Status::Code::kInvalidArgument);
    }
  }
}

TEST(MessageIdTest, PrefixedRandomAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string id = NewMessageId();
    ASSERT_EQ(id.rfind("msg_", 0), 0u) << id;
    ASSERT_EQ(id.size(), 4u + 24u) << id;
    for (char c : id.substr(4)) ASSERT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(TimestampToleranceTest, Bounds) {
  EXPECT_TRUE(TimestampWithinTolerance(1000, 1300, 300));
  EXPECT_TRUE(TimestampWithinTolerance(1300, 1000, 300));
  EXPECT_FALSE(TimestampWithinTolerance(1000, 1301, 300));
  EXPECT_FALSE(TimestampWithinTolerance(1301, 1000, 300));
}

}  // namespace
}  // namespace jostle::collector::alerts
