// The test-result model of include/jostle/results.h: outcome names, failed and flaky tests.
#include "jostle/results.h"

#include <string>
#include <string_view>
#include <vector>

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

namespace {

// "a.b.c" -> {"a", "b", "c"}.
std::vector<std::string_view> SplitDots(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t dot = s.find('.', start);
    out.push_back(
        s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

// junitxml's dotted form of a node id path: '/' (and '\\' of Windows locations) to '.', a
// trailing ".py" dropped.
std::string DottedPath(std::string_view file) {
  std::string out(file);
  if (out.size() > 3 && out.ends_with(".py")) out.resize(out.size() - 3);
  for (char& c : out) {
    if (c == '/' || c == '\\') c = '.';
  }
  return out;
}

}  // namespace

std::string PytestNodeId(std::string_view classname, std::string_view name, std::string_view file) {
  std::string path;
  std::string_view classes;
  if (!file.empty()) {
    std::string dotted = DottedPath(file);
    if (classname == dotted) {
      path.assign(file);
    } else if (classname.size() > dotted.size() && classname.starts_with(dotted) &&
               classname[dotted.size()] == '.') {
      path.assign(file);
      classes = classname.substr(dotted.size() + 1);
    }
    for (char& c : path) {
      if (c == '\\') c = '/';
    }
  }
  if (path.empty()) {
    if (classname.empty()) return std::string(name);
    std::vector<std::string_view> parts = SplitDots(classname);
    size_t first_class = parts.size();
    while (first_class > 1 && !parts[first_class - 1].empty() &&
           parts[first_class - 1].front() >= 'A' && parts[first_class - 1].front() <= 'Z') {
      --first_class;
    }
    for (size_t i = 0; i < first_class; ++i) {
      if (i > 0) path += '/';
      path += parts[i];
    }
    path += ".py";
    if (first_class < parts.size()) {
      const size_t at = static_cast<size_t>(parts[first_class].data() - classname.data());
      classes = classname.substr(at);
    }
  }
  std::string id = path;
  for (std::string_view c : SplitDots(classes)) {
    if (c.empty()) continue;
    id += "::";
    id += c;
  }
  id += "::";
  id += name;
  return id;
}

int ResultSet::failed_count() const {
  int n = 0;
  for (const TestCase& t : tests) n += t.failed() ? 1 : 0;
  return n;
}

}  // namespace jostle
