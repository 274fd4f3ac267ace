#include "logging/logging.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace jostle::logging {
namespace {

TEST(LoggingTest, EscapesForJson) {
  std::string hostile = "quote\" back\\slash\nnew\x01";
  auto parsed = nlohmann::json::parse("\"" + JsonEscape(hostile) + "\"");
  EXPECT_EQ(parsed.get<std::string>(), hostile);
}

TEST(LoggingTest, RefusesUnknownLevel) {
  Status s = SetupLogging({.level = "loud"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("loud"), std::string::npos);
  EXPECT_TRUE(SetupLogging({.level = "warn", .json = true}).ok());
}

}  // namespace
}  // namespace jostle::logging
