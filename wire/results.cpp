// The test-result model of include/jostle/results.h: outcome names, failed and flaky tests.
#include "jostle/results.h"

namespace jostle {

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kPassed:
      return "passed";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kError:
      return "error";
    case Outcome::kSkipped:
      return "skipped";
  }
  return "unknown";
}

std::optional<Outcome> ParseOutcomeName(std::string_view name) {
  for (Outcome o : {Outcome::kPassed, Outcome::kFailed, Outcome::kError, Outcome::kSkipped}) {
    if (name == OutcomeName(o)) return o;
  }
  return std::nullopt;
}

bool IsFailure(Outcome o) { return o == Outcome::kFailed || o == Outcome::kError; }

bool TestCase::failed() const { return !attempts.empty() && IsFailure(attempts.back().outcome); }

bool TestCase::flaky() const {
  if (attempts.size() < 2 || attempts.back().outcome != Outcome::kPassed) return false;
  for (size_t i = 0; i + 1 < attempts.size(); ++i) {
    if (IsFailure(attempts[i].outcome)) return true;
  }
  return false;
}

int ResultSet::failed_count() const {
  int n = 0;
  for (const TestCase& t : tests) n += t.failed() ? 1 : 0;
  return n;
}

}  // namespace jostle
