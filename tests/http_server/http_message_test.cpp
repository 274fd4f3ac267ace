#include <gtest/gtest.h>

#include "http_server/http_server.h"

namespace jostle {
namespace {

TEST(ParseListenAddressTest, Table) {
  struct Case {
    const char* text;
    bool ok;
    const char* host;
    uint16_t port;
  };
  const Case cases[] = {
      {"127.0.0.1:8080", true, "127.0.0.1", 8080},
      {":9000", true, "0.0.0.0", 9000},
      {"0.0.0.0:0", true, "0.0.0.0", 0},
      {"[::1]:80", true, "::1", 80},
      {"localhost:1", true, "localhost", 1},
      {"127.0.0.1", false, "", 0},
      {"127.0.0.1:", false, "", 0},
      {"127.0.0.1:65536", false, "", 0},
      {"127.0.0.1:80x", false, "", 0},
      {"[::1]80", false, "", 0},
  };
  for (const auto& c : cases) {
    auto r = ParseListenAddress(c.text);
    EXPECT_EQ(r.ok(), c.ok) << c.text;
    if (r.ok() && c.ok) {
      EXPECT_EQ(r->first, c.host) << c.text;
      EXPECT_EQ(r->second, c.port) << c.text;
    }
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find(c.text), std::string::npos);
    }
  }
}

TEST(PercentDecodeTest, Table) {
  EXPECT_EQ(PercentDecode("a%2Fb", false).value(), "a/b");
  EXPECT_EQ(PercentDecode("a+b", true).value(), "a b");
  EXPECT_EQ(PercentDecode("a+b", false).value(), "a+b");
  EXPECT_EQ(PercentDecode("%41%42c", false).value(), "ABc");
  EXPECT_FALSE(PercentDecode("%4", false).ok());
  EXPECT_FALSE(PercentDecode("%zz", false).ok());
}

TEST(SplitTargetTest, PathAndQuery) {
  std::string path;
  std::map<std::string, std::string> query;
  ASSERT_TRUE(
      SplitTarget("/api/v1/runs/r1/results?job=unit&pod=ci%2Frunner-1&flag", &path, &query).ok());
  EXPECT_EQ(path, "/api/v1/runs/r1/results");
  EXPECT_EQ(query.at("job"), "unit");
  EXPECT_EQ(query.at("pod"), "ci/runner-1");
  EXPECT_EQ(query.at("flag"), "");
  ASSERT_TRUE(SplitTarget("/healthz", &path, &query).ok());
  EXPECT_EQ(path, "/healthz");
  EXPECT_TRUE(query.empty());
  EXPECT_FALSE(SplitTarget("/x?a=%G1", &path, &query).ok());
}

TEST(HttpServerRequestTest, HeaderLookupIgnoresCase) {
  HttpServerRequest r;
  r.headers["Content-Encoding"] = "gzip";
  EXPECT_EQ(r.Header("content-encoding").value_or(""), "gzip");
  EXPECT_EQ(r.Header("CONTENT-ENCODING").value_or(""), "gzip");
  EXPECT_FALSE(r.Header("content-type").has_value());
}

TEST(JsonErrorTest, Shape) {
  auto r = JsonError(413, "too large", "body \"x\" exceeds");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"detail":"body \"x\" exceeds","error":"too large"})");
}

TEST(CheckTransferEncodingTest, OnlyChunkedAsTheFinalCodingNamedExactly) {
  struct Case {
    const char* value;
    Status::Code code;
  };
  const Case cases[] = {
      {"chunked", Status::Code::kOk},
      {"Chunked", Status::Code::kOk},
      {" chunked ", Status::Code::kOk},
      {"chunked;foo=bar", Status::Code::kOk},
      {", ,chunked", Status::Code::kOk},
      {"xchunked", Status::Code::kInvalidArgument},
      {"chunkedx", Status::Code::kInvalidArgument},
      {"chunked\x0b", Status::Code::kInvalidArgument},
      {"\"chunked\"", Status::Code::kInvalidArgument},
      {"chunked, gzip", Status::Code::kInvalidArgument},
      {"chunked, chunked", Status::Code::kInvalidArgument},
      {"gzip", Status::Code::kInvalidArgument},
      {"", Status::Code::kInvalidArgument},
      {" , ", Status::Code::kInvalidArgument},
      {"gzip, chunked", Status::Code::kUnsupported},
      {";q=1, chunked", Status::Code::kInvalidArgument},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(CheckTransferEncoding(c.value).code(), c.code) << "'" << c.value << "'";
  }
  EXPECT_NE(CheckTransferEncoding("xchunked").message().find("'xchunked'"), std::string::npos);
}

}  // namespace
}  // namespace jostle
