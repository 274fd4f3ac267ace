// Shared by the result parser tests: fixture loading and parsing with a named source.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "collector/results/parse_results.h"
#include "jostle_test/test_paths.h"

namespace jostle::collector {

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline std::string ResultsFixture(const std::string& name) {
  std::string text = ReadFile(std::string(jostle::testing::kFixtureDir) + "/results/" + name);
  EXPECT_FALSE(text.empty()) << "missing fixture " << name;
  return text;
}

inline Result<ResultSet> Parse(std::string_view body, std::string_view content_type = "",
                               int tz_offset_s = 0, std::string source = "results") {
  ParseOptions options;
  options.default_tz_offset_s = tz_offset_s;
  options.source_name = std::move(source);
  return ParseResults(body, content_type, options);
}

inline const TestCase* FindTest(const ResultSet& set, std::string_view id) {
  for (const TestCase& t : set.tests) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

// The outcome of each attempt of `t`, in order.
inline std::vector<Outcome> OutcomesOf(const TestCase& t) {
  std::vector<Outcome> out;
  for (const TestAttempt& a : t.attempts) out.push_back(a.outcome);
  return out;
}

// "2026-11-23T10:00:00.123Z" -> ns, for expectations.
inline int64_t Ns(int64_t epoch_s, int64_t ms = 0) { return epoch_s * 1000000000 + ms * 1000000; }

}  // namespace jostle::collector
