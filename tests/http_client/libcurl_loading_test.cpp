// libcurl is loaded by the first request, not by linking or by constructing an HttpClient.
// Each case runs http_client_load_probe as a fresh process, so what earlier tests of this binary
// loaded does not matter.
#include <gtest/gtest.h>
#include <stdio.h>

#include <string>

#include "http_client/python_server.h"
#include "jostle_test/test_paths.h"

namespace jostle::http {
namespace {

// Runs `command` through the shell; returns its stdout and stderr, and its exit status in
// `*exit_status`.
std::string RunProbe(const std::string& command, int* exit_status) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  char buffer[4096];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  *exit_status = pclose(pipe);
  return output;
}

size_t CountOccurrences(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

TEST(LibcurlLoading, LibcurlIsMappedOnlyAfterTheFirstRequest) {
  jostle::testing::PythonServer server;
  std::string error;
  ASSERT_TRUE(server.Start(
      std::string(jostle::testing::kSourceDir) + "/tests/http_client/http_test_server.py", {},
      &error))
      << error;
  int exit_status = -1;
  const std::string output = RunProbe(
      std::string("'") + JOSTLE_HTTP_CLIENT_LOAD_PROBE + "' '" + server.base_url() + "/status/200'",
      &exit_status);
  ASSERT_EQ(exit_status, 0) << output;
  EXPECT_NE(output.find("before_client libcurl_mapped=0\n"), std::string::npos) << output;
  EXPECT_NE(output.find("after_client libcurl_mapped=0\n"), std::string::npos) << output;
  EXPECT_NE(output.find("request 1: OK 200\n"), std::string::npos) << output;
  EXPECT_NE(output.find("after_request libcurl_mapped=1\n"), std::string::npos) << output;
  EXPECT_NE(output.find("request 2: OK 200\n"), std::string::npos) << output;
}

// A libcurl.so.4 without libcurl's functions (fake_libcurl.cpp, found first through
// LD_LIBRARY_PATH): every request fails with a Status that names the library and the fix,
// logged once, and the process goes on.
TEST(LibcurlLoading, UnusableLibcurlFailsEveryRequestWithAClearStatus) {
  int exit_status = -1;
  const std::string output =
      RunProbe(std::string("LD_LIBRARY_PATH='") + JOSTLE_FAKE_LIBCURL_DIR + "' '" +
                   JOSTLE_HTTP_CLIENT_LOAD_PROBE + "' http://127.0.0.1:1/status/200",
               &exit_status);
  ASSERT_EQ(exit_status, 0) << output;
  const std::string expected =
      "Unavailable: GET http://127.0.0.1:1/status/200: libcurl.so.4 could not be loaded: ";
  EXPECT_NE(output.find("request 1: " + expected), std::string::npos) << output;
  EXPECT_NE(output.find("request 2: " + expected), std::string::npos) << output;
  EXPECT_NE(output.find("undefined symbol: curl_"), std::string::npos) << output;
  EXPECT_EQ(CountOccurrences(output, "; install libcurl4"), 3u) << output;  // 1 log + 2 requests
  EXPECT_EQ(CountOccurrences(output, "every outbound HTTP request fails"), 1u) << output;
}

}  // namespace
}  // namespace jostle::http
