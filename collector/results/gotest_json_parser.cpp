// `go test -json` (test2json): JSON lines {"Time", "Action", "Package", "Test", "Output",
// "Elapsed"}. A test's attempt runs from its "run" event to its "pass", "fail" or "skip"
// event, both stamped by the go tool: exact windows (a parallel test's pause and cont fall
// inside its window, as it waits on the machine like any other). Subtests ("TestX/case") are
// tests of their own, as go-junit-report writes them; a test run again in the same stream
// (go test -count=N, a rerun) is a further attempt. The id is "<package>::<test>", the id a
// go-junit-report file gives the same test. A package that fails without a failed test (a
// build failure, a panic in TestMain, a timeout) becomes the test "<package>::[build failed]"
// or "[package failed]" with outcome error: from the package's "fail" event (its output, or
// "FailedBuild" from go 1.24 on, whose "build-output" events carry the compiler's messages),
// or, from older go with stderr merged into the stream, from the text line "FAIL\t<package>
// [build failed]" and the text lines before it. Other lines that do not start with '{' are
// skipped and counted in a warning; unknown actions and keys are ignored.
#include <map>
#include <nlohmann/json.hpp>

#include "collector/results/parsers.h"
#include "collector/results/text_scan.h"

namespace jostle::collector {
namespace {

using nlohmann::json;

constexpr int kMaxAttempts = 1000;

struct Running {
  size_t test_index = 0;
  int64_t start_ns = 0;
  std::string output;  // the test's output lines, markers left out
};

// The test's own output lines: go's "=== RUN/PAUSE/CONT" and "--- PASS/FAIL/SKIP" markers
// left out.
bool IsMarker(std::string_view line) {
  size_t i = line.find_first_not_of(' ');
  if (i == std::string_view::npos) return true;
  line.remove_prefix(i);
  return line.starts_with("=== ") || line.starts_with("--- PASS") || line.starts_with("--- FAIL") ||
         line.starts_with("--- SKIP");
}

}  // namespace

Result<ResultSet> ParseGoTestJson(std::string_view jsonl, const ParseOptions& options) {
  ResultSet set;
  set.format = "go-test-json";
  set.producer = "go";
  std::map<std::string, size_t> index;
  std::map<std::string, Running> running;      // by test id
  std::map<std::string, bool> package_failed;  // package -> a test of it failed
  std::map<std::string, std::string> package_output;
  int not_json = 0;
  std::string text_output;  // non-JSON lines since the last build failure

  auto test_for = [&](const std::string& package, const std::string& test) {
    std::string id = package.empty() ? test : package + "::" + test;
    auto [it, inserted] = index.try_emplace(id, set.tests.size());
    if (inserted) {
      TestCase t;
      t.id = id;
      t.suite = package;
      t.classname = package;
      t.name = test;
      set.tests.push_back(std::move(t));
    }
    return it->second;
  };

  size_t pos = 0;
  int line_no = 0;
  while (pos < jsonl.size()) {
    size_t nl = jsonl.find('\n', pos);
    std::string_view line = jsonl.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? jsonl.size() : nl + 1;
    ++line_no;
    if (line_no == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) continue;
    if (line[first] != '{') {
      // Build errors when stderr is merged: "FAIL\t<package> [build failed]" ends them.
      std::string_view text = line.substr(first);
      if (text.starts_with("FAIL\t") &&
          (text.ends_with("[build failed]") || text.ends_with("[setup failed]"))) {
        std::string pkg(text.substr(5, text.find(' ', 5) - 5));
        if (!package_failed[pkg]) {
          size_t ti = test_for(pkg, "[build failed]");
          TestAttempt a;
          a.outcome = Outcome::kError;
          a.message = "package did not build";
          a.details = Truncate(text_output, kMaxDetailsBytes);
          set.tests[ti].attempts.push_back(std::move(a));
          package_failed[pkg] = true;
        }
        text_output.clear();
      } else {
        ++not_json;
        if (text_output.size() < kMaxDetailsBytes) text_output += std::string(text) + "\n";
      }
      continue;
    }
    auto fail = [&](const std::string& what) {
      return Status::InvalidArgument(Where(options, line_no) + what);
    };
    if (FindJsonTooDeep(line, options.max_depth)) {
      return fail("JSON nesting deeper than " + std::to_string(options.max_depth));
    }
    json event = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (event.is_discarded() || !event.is_object()) return fail("not a JSON object");
    auto str = [&](const char* key, std::string& out, bool required) -> Status {
      auto f = event.find(key);
      if (f == event.end() || f->is_null()) {
        return required ? fail(std::string("event has no \"") + key + "\" string") : Status::Ok();
      }
      if (!f->is_string()) return fail(std::string("\"") + key + "\" is not a string");
      if (f->get_ref<const std::string&>().size() > kMaxNameBytes) {
        return fail(std::string("\"") + key + "\" is longer than " + std::to_string(kMaxNameBytes) +
                    " bytes");
      }
      out = f->get<std::string>();
      return Status::Ok();
    };
    std::string action, package, test, time_text;
    JOSTLE_RETURN_IF_ERROR(str("Action", action, true));
    JOSTLE_RETURN_IF_ERROR(str("Package", package, false));
    JOSTLE_RETURN_IF_ERROR(str("Test", test, false));
    JOSTLE_RETURN_IF_ERROR(str("Time", time_text, false));
    std::optional<int64_t> time_ns;
    if (!time_text.empty()) {
      Result<int64_t> t = ParseTimestamp(time_text, 0);
      if (!t.ok()) return fail(t.status().message());
      time_ns = *t;
    }
    std::string output;
    if (action == "output") {
      auto o = event.find("Output");
      if (o != event.end() && o->is_string()) output = o->get<std::string>();
    }

    if (action == "build-output") {  // go >= 1.24: the compiler's output, by import path
      std::string import_path;
      JOSTLE_RETURN_IF_ERROR(str("ImportPath", import_path, false));
      auto o = event.find("Output");
      std::string& out = package_output[import_path.substr(0, import_path.find(' '))];
      if (o != event.end() && o->is_string() && out.size() < kMaxDetailsBytes) {
        out += o->get<std::string>();
      }
      continue;
    }
    if (test.empty()) {  // package events
      if (action == "output" && package_output[package].size() < kMaxDetailsBytes) {
        package_output[package] += output;
      } else if (action == "fail" && !package_failed[package]) {
        const std::string& out = package_output[package];
        const bool build = event.contains("FailedBuild") ||
                           out.find("[build failed]") != std::string::npos ||
                           out.find("[setup failed]") != std::string::npos;
        size_t ti = test_for(package, build ? "[build failed]" : "[package failed]");
        TestAttempt a;
        a.outcome = Outcome::kError;
        a.message = build ? "package did not build" : FirstLine(out);
        if (a.message.empty()) a.message = "package failed";
        a.details = Truncate(out, kMaxDetailsBytes);
        if (time_ns) a.start_ns = *time_ns;
        set.tests[ti].attempts.push_back(std::move(a));
        package_failed[package] = true;
      }
      continue;
    }
    const std::string id = package.empty() ? test : package + "::" + test;
    if (action == "run") {
      if (!time_ns) return fail("\"run\" event without \"Time\"");
      size_t ti = test_for(package, test);
      if (set.tests[ti].attempts.size() >= kMaxAttempts) {
        return fail("more than " + std::to_string(kMaxAttempts) + " runs of \"" +
                    Truncate(id, 200) + "\"");
      }
      running[id] = Running{ti, *time_ns, ""};
    } else if (action == "output") {
      auto it = running.find(id);
      if (it == running.end()) continue;
      std::string_view rest = output;
      while (!rest.empty() && it->second.output.size() < kMaxDetailsBytes) {
        size_t end = rest.find('\n');
        std::string_view l = rest.substr(0, end == std::string_view::npos ? rest.size() : end + 1);
        rest.remove_prefix(l.size());
        if (!IsMarker(l)) it->second.output += l;
      }
    } else if (action == "pass" || action == "fail" || action == "skip") {
      auto it = running.find(id);
      if (it == running.end()) {
        return fail("\"" + action + "\" of \"" + Truncate(id, 200) + "\" that never ran");
      }
      TestAttempt a;
      a.outcome = action == "pass"   ? Outcome::kPassed
                  : action == "fail" ? Outcome::kFailed
                                     : Outcome::kSkipped;
      a.start_ns = it->second.start_ns;
      if (time_ns && *time_ns >= it->second.start_ns) {
        a.duration_s = static_cast<double>(*time_ns - it->second.start_ns) / 1e9;
      } else if (auto e = event.find("Elapsed"); e != event.end() && e->is_number()) {
        double elapsed = e->get<double>();
        if (elapsed >= 0 && elapsed <= kMaxDurationS) a.duration_s = elapsed;
      }
      if (a.outcome != Outcome::kPassed) {
        a.message = FirstLine(it->second.output);
        a.details = Truncate(it->second.output, kMaxDetailsBytes);
      }
      if (a.outcome == Outcome::kFailed) package_failed[package] = true;
      set.tests[it->second.test_index].attempts.push_back(std::move(a));
      running.erase(it);
    }
  }
  // Tests still running when the stream ended (the binary crashed or timed out).
  for (auto& [id, r] : running) {
    TestAttempt a;
    a.outcome = Outcome::kError;
    a.start_ns = r.start_ns;
    a.message = "no result: the test binary ended while it ran";
    a.details = Truncate(r.output, kMaxDetailsBytes);
    set.tests[r.test_index].attempts.push_back(std::move(a));
  }
  if (not_json > 0) {
    set.warnings.push_back(std::to_string(not_json) +
                           " lines that are not JSON (build output?) were skipped");
  }
  std::erase_if(set.tests, [](const TestCase& t) { return t.attempts.empty(); });
  return set;
}

}  // namespace jostle::collector
