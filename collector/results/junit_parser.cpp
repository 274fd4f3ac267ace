// JUnit XML of the common producers. Producer quirks handled here:
//   pytest            suite `timestamp` local time (older) or with offset (newer); with
//                     pytest-rerunfailures, earlier attempts appear as <testcase> entries of
//                     the same name without a result element: they were failed attempts.
//   GoogleTest        per-testcase `timestamp` (local time, no offset); result="skipped" or
//                     status="notrun" is skipped, result="suppressed" is a disabled test.
//   Surefire          <flakyFailure>/<flakyError> (earlier failed attempts of a test that then
//                     passed) and <rerunFailure>/<rerunError> (reruns after the first failure);
//                     `time` with thousands separators.
//   go-junit-report   a build error is a synthetic test "[build failed]" with <error>; every
//                     failure has message="Failed", the body says what failed. Its suites
//                     have hostname, timestamp and CDATA output like Gradle's.
//   jest-junit, mocha-junit-reporter (also Cypress), karma-junit-reporter
//                     timestamps are JavaScript's toISOString() cut before the milliseconds or
//                     the "Z": UTC without an offset. mocha-junit-reporter writes nested
//                     describe blocks as flat sibling suites and Cypress puts `file` only on
//                     the first of them.
//   Gradle, Ant       timestamps are Ant's DateUtils ISO 8601 pattern, formatted in GMT, without
//                     an offset.
//   Surefire 3.x      a @BeforeAll/@BeforeClass failure is a <testcase name=""> of the class.
//   CTest             status="disabled" without a result element; <failure message=""> with
//                     the test's output in the testcase's <system-out>.
//   Bazel             test.xml generated for a test that writes none: one testcase named after
//                     the target, its log in the suite's <system-out>.
//   PHPUnit           a failure body without a message attribute starts with a
//                     "Class::method" line naming the test itself.
//   Playwright        the failure's message attribute is "file:line:col title"; the error is in
//                     the body after a "[project] › file:line:col › title" header line.
//   NUnit transform   status="Skipped" on explicit tests without a <skipped> element.
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <pugixml.hpp>
#include <string>

#include "collector/results/parsers.h"
#include "collector/results/text_scan.h"

namespace jostle::collector {
namespace {

// Offset of a "<!DOCTYPE" or "<!ENTITY" declaration (any case) outside comments and CDATA
// sections, where a failure body may quote an HTML page.
std::optional<size_t> FindDoctypeOrEntity(std::string_view xml) {
  size_t i = xml.find("<!");
  while (i != std::string_view::npos) {
    std::string_view rest = xml.substr(i);
    size_t next = i + 2;
    if (rest.starts_with("<!--")) {
      size_t end = xml.find("-->", i + 4);
      if (end == std::string_view::npos) return std::nullopt;  // malformed; pugixml says so
      next = end + 3;
    } else if (rest.starts_with("<![CDATA[")) {
      size_t end = xml.find("]]>", i + 9);
      if (end == std::string_view::npos) return std::nullopt;
      next = end + 3;
    } else {
      std::string word;
      for (char c : rest.substr(2, 7)) {
        word.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
      }
      if (word.starts_with("DOCTYPE") || word.starts_with("ENTITY")) return i;
    }
    i = xml.find("<!", next);
  }
  return std::nullopt;
}

bool Is(const pugi::xml_node& n, const char* name) { return std::strcmp(n.name(), name) == 0; }

// True when a <system-out> or <system-err> child of `suite` holds a CDATA section, as the
// JVM writers (Gradle, Ant) always write them, even when empty.
bool HasCdataOutput(const pugi::xml_node& suite) {
  for (const char* stream : {"system-out", "system-err"}) {
    for (const pugi::xml_node& c : suite.child(stream).children()) {
      if (c.type() == pugi::node_cdata) return true;
    }
  }
  return false;
}

// Playwright's failure message: "<file>:<line>:<column> <title>".
bool IsPlaywrightLocation(std::string_view msg) {
  size_t space = msg.find(' ');
  if (space == std::string_view::npos) return false;
  std::string_view loc = msg.substr(0, space);
  size_t c2 = loc.rfind(':');
  if (c2 == std::string_view::npos || c2 == 0) return false;
  size_t c1 = loc.rfind(':', c2 - 1);
  if (c1 == std::string_view::npos || c1 == 0) return false;
  std::string_view line = loc.substr(c1 + 1, c2 - c1 - 1);
  std::string_view col = loc.substr(c2 + 1);
  auto digits = [](std::string_view d) {
    return !d.empty() && d.find_first_not_of("0123456789") == std::string_view::npos;
  };
  return digits(line) && digits(col);
}

// True when `line` is "<Class>::<name>", optionally followed by " (<data set>)": PHPUnit's
// first line of a failure body, naming the test itself.
bool NamesTest(std::string_view line, std::string_view name) {
  for (size_t p = line.find("::"); p != std::string_view::npos; p = line.find("::", p + 2)) {
    if (p == 0 || line.substr(0, p).find_first_of(" \t") != std::string_view::npos) return false;
    std::string_view rest = line.substr(p + 2);
    if (rest.starts_with(name) &&
        (rest.size() == name.size() || rest.substr(name.size()).starts_with(" ("))) {
      return true;
    }
  }
  return false;
}

// Every text and CDATA child of `n`, in order (Bazel's <system-out> mixes both).
std::string AllText(const pugi::xml_node& n) {
  std::string out;
  for (const pugi::xml_node& c : n.children()) {
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) out += c.value();
  }
  return out;
}

// The last max_bytes of `text` without splitting a UTF-8 sequence, "…" in front when cut:
// a test's output says what went wrong at its end.
std::string KeepEnd(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t cut = text.size() - max_bytes;
  while (cut < text.size() && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) ++cut;
  return "\xE2\x80\xA6" + std::string(text.substr(cut));
}

// Best guess of the producer from names and attributes that only it writes.
std::string DetectProducer(const pugi::xml_node& root) {
  std::string producer;
  std::function<bool(const pugi::xml_node&, int)> visit = [&](const pugi::xml_node& n,
                                                              int depth) -> bool {
    std::string_view name = n.name();
    if (name == "flakyFailure" || name == "flakyError" || name == "rerunFailure" ||
        name == "rerunError") {
      // pytest-rerunfailures may write <flakyFailure> too; the suite name decides below.
      if (producer.empty()) producer = "surefire";
    }
    if (name == "testsuite") {
      std::string_view suite = n.attribute("name").value();
      if (suite == "pytest") {
        producer = "pytest";
        return true;
      }
      if (suite == "Root Suite") {
        producer = "mocha-junit-reporter";
        return true;
      }
      // rspec_junit_formatter: "rspec", "rspec2"... with parallel_tests' TEST_ENV_NUMBER.
      if (suite.starts_with("rspec") &&
          suite.find_first_not_of("0123456789", 5) == std::string_view::npos) {
        producer = "rspec";
        return true;
      }
      for (const pugi::xml_node& p : n.child("properties").children("property")) {
        if (std::string_view(p.attribute("name").value()) == "browser.fullName") {
          producer = "karma";
          return true;
        }
      }
      if (n.attribute("hostname") && n.attribute("timestamp") && HasCdataOutput(n)) {
        // Gradle writes an empty <properties/>; Ant writes the build's properties, ant.*
        // among them. go-junit-report's suites look alike but carry go.version.
        pugi::xml_node first = n.child("properties").child("property");
        if (!first) {
          producer = "gradle";
          return true;
        }
        for (const pugi::xml_node& p : n.child("properties").children("property")) {
          if (std::string_view(p.attribute("name").value()).starts_with("ant.")) {
            producer = "ant";
            return true;
          }
        }
      }
      if (std::string_view(n.attribute("xsi:noNamespaceSchemaLocation").value()).find("surefire") !=
          std::string_view::npos) {
        producer = "surefire";
        return true;
      }
    }
    if (name == "testcase") {
      std::string_view tname = n.attribute("name").value();
      if (tname == "[build failed]" || tname == "[setup failed]") {
        producer = "go-junit-report";
        return true;
      }
      if (n.attribute("result") && n.attribute("status")) {
        producer = "googletest";
        return true;
      }
      if (n.attribute("assertions") && n.attribute("class")) {
        producer = "phpunit";
        return true;
      }
      std::string_view status = n.attribute("status").value();
      if (n.attribute("duration") && status == "run") {
        producer = "bazel";
        return true;
      }
      if (status == "run" || status == "fail" || status == "notrun" || status == "disabled") {
        producer = "ctest";
        return true;
      }
    }
    if (name == "property") {
      std::string_view pname = n.attribute("name").value();
      if (pname == "go.version") {
        producer = "go-junit-report";
        return true;
      }
      if (pname.starts_with("java.") || pname.starts_with("surefire.")) {
        if (producer.empty()) producer = "surefire";
      }
    }
    if (name == "skipped" || name == "failure" || name == "error") {
      if (std::string_view(n.attribute("type").value()).starts_with("pytest.")) {
        producer = "pytest";
        return true;
      }
      if (name == "failure" && std::string_view(n.attribute("type").value()) == "FAILURE" &&
          IsPlaywrightLocation(n.attribute("message").value())) {
        producer = "playwright";
        return true;
      }
    }
    for (const pugi::xml_node& c : n.children()) {
      if (c.type() == pugi::node_element && visit(c, depth + 1)) return true;
    }
    return false;
  };
  if (Is(root, "testsuites")) {
    std::string_view rname = root.attribute("name").value();
    if (rname == "AllTests") return "googletest";
    if (rname == "jest tests") return "jest-junit";
    if (rname == "Mocha Tests") return "mocha-junit-reporter";
  }
  visit(root, 0);
  return producer;
}

class JUnitWalker {
 public:
  JUnitWalker(std::string_view xml, const ParseOptions& options, std::string producer)
      : lines_(xml), options_(options), producer_(std::move(producer)) {
    const bool utc = producer_ == "jest-junit" || producer_ == "mocha-junit-reporter" ||
                     producer_ == "karma" || producer_ == "gradle" || producer_ == "ant";
    tz_offset_s_ = utc ? 0 : options.default_tz_offset_s;
  }

  // `file` is the enclosing suite's `file`, the default of the testcases within.
  Status Walk(const pugi::xml_node& node, int depth, const std::string& suite,
              const std::string& file, std::optional<int64_t>* cursor) {
    if (depth > options_.max_depth) {
      return Fail(node, "element nesting deeper than " + std::to_string(options_.max_depth));
    }
    std::optional<int64_t> own_cursor;
    std::string suite_name = suite;
    const bool is_suite = Is(node, "testsuite") || Is(node, "testsuites");
    if (is_suite) {
      if (Is(node, "testsuite")) {
        Result<std::string> name = Attr(node, "name");
        if (!name.ok()) return name.status();
        suite_name = *name;
      }
      if (pugi::xml_attribute ts = node.attribute("timestamp"); ts && *ts.value()) {
        Result<int64_t> start = ParseTimestamp(ts.value(), tz_offset_s_);
        if (!start.ok())
          return Fail(node, "<" + std::string(node.name()) + "> " + start.status().message());
        own_cursor = *start;
        cursor = &own_cursor;
      }
    }
    std::string suite_file = file;
    if (is_suite) {
      Result<std::string> own = Attr(node, "file");
      if (!own.ok()) return own.status();
      if (!own->empty()) suite_file = *own;
    }
    // mocha-junit-reporter's sibling suites are nested describe blocks: one without `file`
    // is in the file of the one before it.
    std::string sibling_file = suite_file;
    const size_t testcases = is_suite ? CountChildren(node, "testcase") : 0;
    for (const pugi::xml_node& child : node.children()) {
      if (child.type() != pugi::node_element) continue;
      if (Is(child, "testsuite") || Is(child, "testsuites")) {
        const bool mocha = producer_ == "mocha-junit-reporter";
        JOSTLE_RETURN_IF_ERROR(
            Walk(child, depth + 1, suite_name, mocha ? sibling_file : suite_file, cursor));
        if (mocha && *child.attribute("file").value())
          sibling_file = child.attribute("file").value();
      } else if (Is(child, "testcase")) {
        if (depth + 1 > options_.max_depth) {
          return Fail(child, "element nesting deeper than " + std::to_string(options_.max_depth));
        }
        // A suite's own output belongs to its testcase when it has only one (Bazel).
        const pugi::xml_node suite_output = testcases == 1 ? node : pugi::xml_node();
        JOSTLE_RETURN_IF_ERROR(
            TestCaseElement(child, suite_name, suite_file, suite_output, cursor));
      }
      // <properties> and unknown elements carry nothing we keep; a suite's <system-out> and
      // <system-err> are read only as the details of its one testcase's failure (Output).
    }
    return Status::Ok();
  }

  ResultSet Finish() {
    ResultSet set;
    set.format = "junit";
    set.producer = producer_;
    set.tests = std::move(tests_);
    if (without_time_ > 0) {
      set.warnings.push_back(std::to_string(without_time_) + " testcases without time");
    }
    if (without_start_ > 0) {
      set.warnings.push_back(std::to_string(without_start_) +
                             " testcases without any timestamp: start times unknown");
    }
    if (unwritten_reruns_ > 0) {
      set.warnings.push_back(std::to_string(unwritten_reruns_) +
                             " pytest reruns written without their outcome, taken as failed");
    }
    return set;
  }

 private:
  Status Fail(const pugi::xml_node& node, const std::string& what) const {
    return Status::InvalidArgument(
        Where(options_, lines_.LineOf(static_cast<size_t>(node.offset_debug()))) + what);
  }

  Result<std::string> Attr(const pugi::xml_node& node, const char* name) const {
    std::string_view v = node.attribute(name).value();
    if (v.size() > kMaxNameBytes) {
      return Fail(node, "<" + std::string(node.name()) + "> " + name + " is longer than " +
                            std::to_string(kMaxNameBytes) + " bytes");
    }
    return std::string(v);
  }

  static size_t CountChildren(const pugi::xml_node& n, const char* name) {
    size_t count = 0;
    for (auto it = n.children(name).begin(); it != n.children(name).end(); ++it) ++count;
    return count;
  }

  // The first line of the message attribute; else of the body, without a first line that
  // only names the test ("Tests\Unit\CartTest::testTotals", PHPUnit) or Playwright's header
  // ("[chromium] › login.spec.ts:14:7 › ..."); else the type attribute.
  std::string Message(const pugi::xml_node& n, std::string_view test_name) const {
    std::string_view msg = n.attribute("message").value();
    // Playwright's message can be only the test's location; go-junit-report and gotestsum
    // write message="Failed" on every failure: the body says what failed.
    const bool says_nothing = (producer_ == "playwright" && IsPlaywrightLocation(msg)) ||
                              (producer_ == "go-junit-report" && msg == "Failed");
    if (!msg.empty() && !says_nothing) {
      std::string line = FirstLine(msg);
      if (!line.empty()) return line;
    }
    const std::string body = AllText(n);
    std::string_view rest = body;
    std::string first = FirstLine(rest);
    if (!first.empty()) {
      const bool names_test = NamesTest(first, test_name);
      const bool header =
          producer_ == "playwright" && first.find(" \xE2\x80\xBA ") != std::string::npos;
      if (names_test || header) {
        const size_t at = rest.find(first);
        rest = at == std::string_view::npos ? std::string_view() : rest.substr(at + first.size());
        first = FirstLine(rest);
      }
    }
    if (!first.empty()) return first;
    if (says_nothing) return FirstLine(msg);
    return FirstLine(n.attribute("type").value());
  }

  // GoogleTest messages start with a "file:line" line; the text after it, on one line.
  static std::string GoogleTestMessage(const pugi::xml_node& n) {
    std::string_view msg = n.attribute("message").value();
    size_t nl = msg.find('\n');
    if (nl != std::string_view::npos) {
      std::string_view first = msg.substr(0, nl);
      size_t colon = first.rfind(':');
      if (colon != std::string_view::npos && colon + 1 < first.size() &&
          first.find_first_not_of("0123456789", colon + 1) == std::string_view::npos) {
        msg.remove_prefix(nl + 1);
      }
    }
    std::string out;
    bool space = false;
    for (char c : msg.substr(0, kMaxMessageBytes * 4)) {
      if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
        space = !out.empty();
        continue;
      }
      if (space) out.push_back(' ');
      space = false;
      out.push_back(c);
    }
    return Truncate(out, kMaxMessageBytes);
  }

  static std::string Details(const pugi::xml_node& n) {
    // Surefire puts the trace of flaky/rerun entries in a <stackTrace> child.
    if (pugi::xml_node st = n.child("stackTrace")) return Truncate(AllText(st), kMaxDetailsBytes);
    return Truncate(AllText(n), kMaxDetailsBytes);
  }

  // What the test printed (<system-out>, then <system-err>) of the testcase or, without any,
  // of `suite` (a null node: none), cut to its end: the details of a failure whose element
  // says nothing (CTest, Bazel).
  static std::string Output(const pugi::xml_node& tc, const pugi::xml_node& suite) {
    std::string out;
    for (const pugi::xml_node& from : {tc, suite}) {
      if (!from) continue;
      for (const char* stream : {"system-out", "system-err"}) {
        for (const pugi::xml_node& o : from.children(stream)) {
          std::string text = AllText(o);
          if (text.find_first_not_of(" \t\r\n") == std::string::npos) continue;
          if (!out.empty() && out.back() != '\n') out.push_back('\n');
          out += text;
        }
      }
      if (!out.empty()) break;
    }
    return KeepEnd(out, kMaxDetailsBytes);
  }

  Status TestCaseElement(const pugi::xml_node& tc, const std::string& suite,
                         const std::string& suite_file, const pugi::xml_node& suite_output,
                         std::optional<int64_t>* cursor) {
    TestCase test;
    Result<std::string> name = Attr(tc, "name");
    if (!name.ok()) return name.status();
    Result<std::string> classname = Attr(tc, "classname");
    if (!classname.ok()) return classname.status();
    // Surefire 3.x writes a class-level failure (@BeforeAll) as name="": the class is the
    // test, as Surefire 2.x wrote it.
    if (name->empty()) *name = *classname;
    if (name->empty()) return Fail(tc, "<testcase> has no name");
    Result<std::string> file = Attr(tc, "file");
    if (!file.ok()) return file.status();
    test.name = *name;
    test.classname = *classname;
    test.file = file->empty() ? suite_file : *file;
    test.suite = suite;
    if (producer_ == "pytest") {
      // The node id, as a report-log of the same session names the test.
      test.id = PytestNodeId(test.classname, test.name, file->empty() ? suite_file : *file);
    } else if (!test.classname.empty()) {
      test.id = test.classname + "::" + test.name;
    } else if (!test.file.empty()) {
      test.id = test.file + "::" + test.name;
    } else {
      test.id = test.name;
    }
    if (pugi::xml_attribute line = tc.attribute("line")) {
      char* end = nullptr;
      long v = std::strtol(line.value(), &end, 10);
      if (end && *end == '\0' && end != line.value() && v >= 0 && v < (1L << 30)) {
        test.line = static_cast<int>(v);
      }
    }

    double time_s = 0;
    std::string_view time_text = tc.attribute("time").value();
    if (time_text.find_first_not_of(" \t") != std::string_view::npos) {
      Result<double> d = ParseDurationSeconds(time_text);
      if (!d.ok())
        return Fail(tc,
                    "<testcase name=\"" + Truncate(test.name, 80) + "\"> " + d.status().message());
      time_s = *d;
    } else {
      ++without_time_;
    }
    std::optional<int64_t> start;
    bool approximate = false;
    std::string_view result_attr = tc.attribute("result").value();
    const std::string status_attr = AsciiLower(tc.attribute("status").value());
    // A status saying the test did not run, when no result element says otherwise:
    // GoogleTest and CTest "notrun", CTest "disabled", NUnit "Skipped"/"Ignored".
    const bool status_skipped = status_attr == "notrun" || status_attr == "disabled" ||
                                status_attr == "skipped" || status_attr == "ignored";
    // GoogleTest stamps tests it did not run with the epoch in local time.
    const bool not_run = status_skipped || result_attr == "suppressed";
    if (pugi::xml_attribute ts = tc.attribute("timestamp"); ts && *ts.value() && !not_run) {
      Result<int64_t> s = ParseTimestamp(ts.value(), tz_offset_s_);
      if (!s.ok())
        return Fail(tc,
                    "<testcase name=\"" + Truncate(test.name, 80) + "\"> " + s.status().message());
      start = *s;
    } else if (cursor && *cursor && !not_run) {
      start = **cursor;
      approximate = true;
    } else if (!not_run) {
      ++without_start_;
    }
    // The final (or, with reruns, first) result of the testcase element.
    TestAttempt primary;
    // Earlier (flaky) and later (rerun) attempts, each with the `time` and `timestamp` of its
    // own element when the producer writes them (Playwright, cargo-nextest; not Surefire).
    struct Retry {
      TestAttempt attempt;
      std::optional<double> time_s;
      std::optional<int64_t> start_ns;
    };
    std::vector<Retry> before, after;
    if (result_attr == "suppressed" || status_attr == "disabled") {
      primary.outcome = Outcome::kSkipped;
      primary.message = "disabled";
    } else if (result_attr == "skipped" || status_skipped) {
      primary.outcome = Outcome::kSkipped;
    } else if (status_attr == "fail" || status_attr == "failed" || status_attr == "failure") {
      primary.outcome = Outcome::kFailed;
    } else if (status_attr == "error") {
      primary.outcome = Outcome::kError;
    }
    bool have_primary = false;
    for (const pugi::xml_node& c : tc.children()) {
      if (c.type() != pugi::node_element) continue;
      std::string_view cn = c.name();
      if (cn != "failure" && cn != "error" && cn != "skipped" && cn != "flakyFailure" &&
          cn != "flakyError" && cn != "rerunFailure" && cn != "rerunError") {
        continue;  // <system-out>, <properties>, ...
      }
      TestAttempt a;
      a.message = producer_ == "googletest" ? GoogleTestMessage(c) : Message(c, test.name);
      a.details = Details(c);
      if (a.details.find_first_not_of(" \t\r\n") == std::string::npos &&
          (cn == "failure" || cn == "error")) {
        a.details = Output(tc, suite_output);
      }
      if (cn == "failure" || cn == "error" || cn == "skipped") {
        if (have_primary) continue;  // GoogleTest writes one <failure> per failed assertion.
        have_primary = true;
        a.outcome = cn == "failure" ? Outcome::kFailed
                    : cn == "error" ? Outcome::kError
                                    : Outcome::kSkipped;
        primary = std::move(a);
      } else {
        const bool flaky = cn == "flakyFailure" || cn == "flakyError";
        a.outcome = cn.ends_with("Failure") ? Outcome::kFailed : Outcome::kError;
        Retry retry{std::move(a), std::nullopt, std::nullopt};
        const std::string what =
            "<" + std::string(cn) + "> of <testcase name=\"" + Truncate(test.name, 80) + "\"> ";
        std::string_view t = c.attribute("time").value();
        if (t.find_first_not_of(" \t") != std::string_view::npos) {
          Result<double> d = ParseDurationSeconds(t);
          if (!d.ok()) return Fail(c, what + d.status().message());
          retry.time_s = *d;
        }
        if (pugi::xml_attribute ts = c.attribute("timestamp"); ts && *ts.value()) {
          Result<int64_t> at = ParseTimestamp(ts.value(), tz_offset_s_);
          if (!at.ok()) return Fail(c, what + at.status().message());
          retry.start_ns = *at;
        }
        (flaky ? before : after).push_back(std::move(retry));
      }
    }
    std::vector<Retry> runs = std::move(before);
    const size_t primary_index = runs.size();
    runs.push_back(Retry{std::move(primary), std::nullopt, std::nullopt});
    for (Retry& r : after) runs.push_back(std::move(r));
    // When every retry element has its own time, the testcase's time is the primary
    // attempt's (Playwright, cargo-nextest). Otherwise it covers all attempts and is split
    // evenly (Surefire). Attempts follow each other from the start; later starts are
    // estimates unless the element has its own timestamp.
    bool retries_timed = runs.size() > 1;
    for (size_t i = 0; i < runs.size(); ++i) {
      if (i != primary_index && !runs[i].time_s) retries_timed = false;
    }
    std::vector<TestAttempt> attempts;
    attempts.reserve(runs.size());
    std::optional<int64_t> at = start;
    double total_s = 0;
    for (size_t i = 0; i < runs.size(); ++i) {
      TestAttempt& a = attempts.emplace_back(std::move(runs[i].attempt));
      a.duration_s = !retries_timed       ? time_s / static_cast<double>(runs.size())
                     : i == primary_index ? time_s
                                          : *runs[i].time_s;
      total_s += a.duration_s;
      if (runs[i].start_ns) {
        a.start_ns = runs[i].start_ns;
        a.timing_approximate = false;
      } else if (at) {
        a.start_ns = at;
        a.timing_approximate = approximate || i > 0;
      }
      if (a.start_ns) at = *a.start_ns + static_cast<int64_t>(a.duration_s * 1e9);
    }
    if (total_s > kMaxDurationS) {
      return Fail(tc, "<testcase name=\"" + Truncate(test.name, 80) +
                          "\"> attempts take longer than 30 days");
    }
    if (cursor && *cursor) {
      **cursor += static_cast<int64_t>(total_s * 1e9);
      if (**cursor > kLatestStartNs) {
        return Fail(tc, "suite timestamp plus test times runs past the year 2200");
      }
    }

    auto [it, inserted] = index_.try_emplace(test.id, tests_.size());
    if (inserted) {
      test.attempts = std::move(attempts);
      tests_.push_back(std::move(test));
      return Status::Ok();
    }
    TestCase& existing = tests_[it->second];
    if (existing.attempts.size() + attempts.size() > kMaxAttempts) {
      return Fail(tc, "more than " + std::to_string(kMaxAttempts) + " attempts of test \"" +
                          Truncate(test.id, 200) + "\"");
    }
    if (producer_ == "pytest" && existing.attempts.back().outcome == Outcome::kPassed &&
        existing.attempts.back().message.empty()) {
      // pytest's junitxml ignores reports with outcome "rerun": the earlier entry is a
      // failed attempt whose failure was not written.
      existing.attempts.back().outcome = Outcome::kFailed;
      existing.attempts.back().message = "rerun (failure not written by pytest's junitxml)";
      ++unwritten_reruns_;
    }
    for (TestAttempt& a : attempts) existing.attempts.push_back(std::move(a));
    return Status::Ok();
  }

  static constexpr size_t kMaxAttempts = 1000;
  LineIndex lines_;
  const ParseOptions& options_;
  std::string producer_;
  int tz_offset_s_ = 0;
  std::vector<TestCase> tests_;
  std::map<std::string, size_t> index_;
  int without_time_ = 0;
  int without_start_ = 0;
  int unwritten_reruns_ = 0;
};

}  // namespace

Result<ResultSet> ParseJUnitXml(std::string_view xml, const ParseOptions& options) {
  if (std::optional<size_t> at = FindDoctypeOrEntity(xml)) {
    LineIndex lines(xml.substr(0, *at));
    return Status::InvalidArgument(Where(options, lines.LineOf(*at)) +
                                   "DOCTYPE is not allowed (nor entity declarations)");
  }
  if (std::optional<size_t> at = FindXmlTooDeep(xml, options.max_depth)) {
    LineIndex lines(xml.substr(0, *at));
    return Status::InvalidArgument(Where(options, lines.LineOf(*at)) +
                                   "element nesting deeper than " +
                                   std::to_string(options.max_depth));
  }
  pugi::xml_document doc;
  pugi::xml_parse_result parsed =
      doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!parsed) {
    size_t at = parsed.offset < 0 ? 0 : static_cast<size_t>(parsed.offset);
    if (at > xml.size()) at = xml.size();
    LineIndex lines(xml.substr(0, at));
    return Status::InvalidArgument(Where(options, lines.LineOf(at)) +
                                   "malformed XML: " + parsed.description());
  }
  pugi::xml_node root = doc.document_element();
  if (!root) return Status::InvalidArgument(Where(options, 1) + "XML document has no element");
  if (!Is(root, "testsuites") && !Is(root, "testsuite")) {
    return Status::InvalidArgument(
        Where(options, LineIndex(xml).LineOf(static_cast<size_t>(root.offset_debug()))) +
        "root element <" + Truncate(root.name(), 100) + "> is not <testsuites> or <testsuite>");
  }
  JUnitWalker walker(xml, options, DetectProducer(root));
  JOSTLE_RETURN_IF_ERROR(walker.Walk(root, 1, "", "", nullptr));
  return walker.Finish();
}

}  // namespace jostle::collector
