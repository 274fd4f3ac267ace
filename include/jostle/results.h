// The test-result model: what a CI job's result file says, after parsing, whatever its
// format (JUnit XML of any producer, pytest report-log, jostle's JSON results format).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jostle {

enum class Outcome { kPassed, kFailed, kError, kSkipped };
const char* OutcomeName(Outcome o);  // "passed", "failed", "error", "skipped"
// OutcomeName's inverse; nullopt for any other text.
std::optional<Outcome> ParseOutcomeName(std::string_view name);
// Failed or errored: what counts as a failure everywhere (failed tests, flaky tests).
bool IsFailure(Outcome o);

// One execution of a test. Retries and reruns are further attempts of the same test.
struct TestAttempt {
  Outcome outcome = Outcome::kPassed;
  std::optional<int64_t> start_ns;  // wall clock, ns since the Unix epoch (UTC)
  double duration_s = 0;            // seconds
  // True when start_ns was reconstructed (suite timestamp + cumulative durations) rather
  // than given per test by the producer.
  bool timing_approximate = false;
  std::string message;  // failure/error/skip message, first line or attribute
  std::string details;  // failure body / longrepr, truncated to a few KiB
  bool operator==(const TestAttempt&) const = default;
};

// pytest's node id of a test that pytest's junitxml wrote as `classname`, `name` and (xunit1
// only) `file`: "tests/test_shop.py::TestCheckout::test_items[2]" for classname
// "tests.test_shop.TestCheckout", name "test_items[2]". junitxml writes the node id's path
// with '/' turned into '.' and ".py" dropped, then its classes, joined by '.'. With `file`
// (relative to the rootdir, as the node id) whose dotted form starts the classname, the
// classname's rest are the classes; without it (xunit2), the trailing dotted parts that start
// with an upper-case letter are the classes (pytest's default "Test*" class pattern) and the
// others the module path. A classname that is the whole dotted file names no class (doctests,
// non-Python files: "README.txt::README.txt").
std::string PytestNodeId(std::string_view classname, std::string_view name, std::string_view file);

struct TestCase {
  // Stable identity across runs, the same whatever format reported the test: pytest's node id
  // for pytest (report-logs carry it; JUnit from pytest is mapped with PytestNodeId), else
  // "<classname or file>::<name>" (collector/results/FORMAT.md lists the mapping per producer).
  std::string id;
  std::string suite;      // <testsuite name>
  std::string classname;  // JUnit classname
  std::string name;       // JUnit name / test function
  std::string file;
  std::optional<int> line;
  std::vector<TestAttempt> attempts;  // in execution order; never empty

  const TestAttempt& last() const { return attempts.back(); }
  // Failed = last attempt failed or errored. Flaky = an earlier attempt failed or errored
  // and the last passed.
  bool failed() const;
  bool flaky() const;
  bool operator==(const TestCase&) const = default;
};

struct ResultSet {
  std::string format;    // "junit", "pytest-reportlog", "jostle-json"
  std::string producer;  // best guess: "pytest", "googletest", "surefire", "go-junit-report",
                         // "jest-junit", "" when unknown
  std::vector<TestCase> tests;
  std::vector<std::string> warnings;  // non-fatal oddities, e.g. "3 testcases without time"

  int failed_count() const;
};

}  // namespace jostle
