#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "collector/report/report.h"
#include "collector/report/report_fixture.h"

namespace jostle::collector {
namespace {

using Json = nlohmann::json;

class RenderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { report_ = new RunReport(jostle::testing::DemoReport()); }
  static void TearDownTestSuite() { delete report_; }
  static RunReport* report_;
};
RunReport* RenderTest::report_ = nullptr;

TEST_F(RenderTest, FixtureHasEveryKindOfFailure) {
  EXPECT_EQ(report_->verdict_counts.at("contention"), 2);
  EXPECT_EQ(report_->verdict_counts.at("fails-regardless"), 1);
  EXPECT_EQ(report_->verdict_counts.at("no-contention"), 1);
  EXPECT_EQ(report_->verdict_counts.at("no-data"), 1);
  EXPECT_EQ(report_->flaky_tests.size(), 1u);
}

TEST_F(RenderTest, SummaryLineNamesResourceNodeAndNeighbour) {
  EXPECT_EQ(SummaryLine(*report_),
            "2 of 5 failures look like contention (cpu on node ci-1, neighbour "
            "/system.slice/stress.service)");
  RunReport empty;
  empty.run = "r";
  empty.tests = 3;
  EXPECT_EQ(SummaryLine(empty), "No failures in run r (3 tests)");
}

TEST_F(RenderTest, AdvicePerVerdict) {
  std::map<std::string, std::string> advice;
  for (const FailureReport& f : report_->failures) advice[VerdictName(f.verdict)] = Advice(f);
  EXPECT_EQ(advice["contention"],
            "node ci-1 was saturated by cgroup /system.slice/stress.service: stop or limit it "
            "while CI runs");
  EXPECT_EQ(advice["fails-regardless"],
            "look at the code: it also fails when the machine is quiet");
  EXPECT_EQ(advice["no-contention"], "look at the code: the machine was quiet");
  EXPECT_EQ(advice["no-data"], "no samples: run jostle-agent on ci-2");
  FailureReport own;
  own.verdict = Verdict::kContention;
  own.pod = "ci/runner-1";
  own.assessment.resource = Resource::kCpu;
  own.assessment.culprits = {{CulpritKind::kOwnLimit, "ci/runner-1", 0.6, "throttled in 60%"}};
  EXPECT_EQ(Advice(own), "raise the CPU limit of pod ci/runner-1: throttled in 60%");
  own.assessment.culprits = {{CulpritKind::kNamespace, "batch", 0.7, ""}};
  own.node = "n1";
  EXPECT_EQ(Advice(own),
            "node n1 was saturated by namespace batch: isolate CI pods or add CPU requests");
}

TEST_F(RenderTest, JsonCarriesTheDocumentedSchema) {
  Json j = Json::parse(RenderJson(*report_));
  EXPECT_EQ(j["schema"], "jostle.report/1");
  EXPECT_EQ(j["run"], "demo-42");
  for (const char* v :
       {"contention", "contention-possible", "fails-regardless", "no-contention", "no-data"}) {
    EXPECT_TRUE(j["summary"]["verdicts"].contains(v)) << v;
  }
  EXPECT_EQ(j["summary"]["failed"], 5);
  EXPECT_EQ(j["summary"]["flaky"], 1);
  ASSERT_EQ(j["failures"].size(), 5u);
  for (const Json& f : j["failures"]) {
    for (const char* key : {"test", "job", "node", "pod", "start", "end", "timing", "verdict",
                            "resource", "signals", "culprits", "evidence", "reason", "advice"}) {
      EXPECT_TRUE(f.contains(key)) << key;
    }
    EXPECT_TRUE(f["evidence"]["history"].contains("failed_contended"));
    EXPECT_TRUE(f["evidence"].contains("fisher_p"));
  }
  const Json& hostile = j["failures"][0];
  EXPECT_EQ(hostile["test"], jostle::testing::kHostileTest);
  EXPECT_EQ(hostile["verdict"], "contention");
  EXPECT_EQ(hostile["resource"], "cpu");
  EXPECT_EQ(hostile["timing"], "exact");
  EXPECT_EQ(hostile["culprits"][0]["kind"], "cgroup");
  EXPECT_EQ(hostile["culprits"][0]["name"], "/system.slice/stress.service");
  EXPECT_GT(hostile["culprits"][0]["share"].get<double>(), 0.8);
  EXPECT_NEAR(hostile["signals"]["node.cpu.busy"]["peak"].get<double>(), 0.99, 1e-6);
  EXPECT_EQ(hostile["evidence"]["history"]["passed_clear"], 4);
  EXPECT_EQ(hostile["evidence"]["decided_by"], "history");
  EXPECT_NEAR(hostile["evidence"]["fisher_p"].get<double>(), 1.0 / 35, 1e-9);
  EXPECT_EQ(hostile["evidence"]["alpha"], 0.05);
  EXPECT_EQ(hostile["evidence"]["summary"],
            "history: fails 2/2 contended, 0/4 clear before, one-sided Fisher p = 0.0286 <= 0.05");
  EXPECT_EQ(hostile["thresholds_crossed"][0]["felt"], "felt");
  EXPECT_TRUE(hostile["reason"].is_null());
  EXPECT_EQ(j["failures"][1]["timing"], "approximate");
  const Json& nodata = j["failures"][4];
  EXPECT_EQ(nodata["verdict"], "no-data");
  EXPECT_TRUE(nodata["resource"].is_null());
  EXPECT_TRUE(nodata["reason"].is_string());
  ASSERT_EQ(j["flaky"].size(), 1u);
  EXPECT_EQ(j["flaky"][0]["evidence"]["rerun_passed"], true);
  EXPECT_EQ(j["flaky"][0]["evidence"]["rerun_passed_clear"], true);
  EXPECT_EQ(j["flaky"][0]["evidence"]["decided_by"], "clear-rerun");
  ASSERT_EQ(j["nodes"].size(), 2u);
  EXPECT_EQ(j["nodes"][0]["name"], "ci-1");
  EXPECT_EQ(j["nodes"][0]["sampled"], true);
  EXPECT_EQ(j["nodes"][1]["sampled"], false);
}

TEST_F(RenderTest, JsonSurvivesInvalidUtf8) {
  RunReport r;
  r.run = std::string("bad\xff\xfe");
  Json j = Json::parse(RenderJson(r));
  EXPECT_TRUE(j["run"].is_string());
}

TEST_F(RenderTest, MarkdownHasSummaryTableAndEscapes) {
  std::string md = RenderMarkdown(*report_);
  EXPECT_NE(md.find("**2 of 5 failures look like contention"), std::string::npos) << md;
  EXPECT_NE(md.find("| Test | Verdict | Resource | Culprit | Node | History | What to do |"),
            std::string::npos);
  EXPECT_NE(md.find("**contention**"), std::string::npos);
  EXPECT_NE(md.find("**fails-regardless**"), std::string::npos);
  EXPECT_NE(md.find("stop or limit it while CI runs"), std::string::npos);
  EXPECT_NE(md.find("decided by: history: fails 2/2 contended"), std::string::npos) << md;
  EXPECT_EQ(md.find("<script>"), std::string::npos);
  EXPECT_NE(md.find("test\\_&lt;script&gt;alert(1)&lt;/script&gt;\\|a\\*b\\_"), std::string::npos)
      << md;
  // Every table row has the same number of unescaped cell separators as the header.
  auto cells = [](const std::string& line) {
    int n = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '|' && (i == 0 || line[i - 1] != '\\')) ++n;
    }
    return n;
  };
  size_t pos = 0;
  int rows = 0;
  while ((pos = md.find("\n| ", pos)) != std::string::npos) {
    size_t end = md.find('\n', pos + 1);
    EXPECT_EQ(cells(md.substr(pos + 1, end - pos - 1)), 8) << md.substr(pos + 1, end - pos - 1);
    pos = end;
    ++rows;
  }
  EXPECT_EQ(rows, 2 + 5 + 1);  // two header rows + 5 failures + 1 flaky (its header counted)
}

TEST_F(RenderTest, HtmlIsSelfContainedAndEscaped) {
  std::string html = RenderHtml(*report_);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("test_&lt;script&gt;alert(1)&lt;/script&gt;|a*b_"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_NE(html.find("<table id=\"failure-table\">"), std::string::npos);
  EXPECT_NE(html.find("<table id=\"flaky-table\">"), std::string::npos);
  EXPECT_EQ(std::count(html.begin(), html.end(), '\0'), 0);
  // Three charts for the sampled node, with the failures marked.
  size_t svgs = 0;
  for (size_t p = 0; (p = html.find("<svg", p)) != std::string::npos; ++p) ++svgs;
  EXPECT_EQ(svgs, 3u);
  EXPECT_NE(html.find("class=\"mark\""), std::string::npos);
  EXPECT_NE(html.find("/system.slice/stress.service"), std::string::npos);
  // Which evidence decided, in words.
  EXPECT_NE(html.find("<b>decided by</b>: history: fails 2/2 contended, 0/4 clear before"),
            std::string::npos);
  EXPECT_NE(html.find("<b>decided by</b>: another attempt in this run passed in a clear window"),
            std::string::npos);
}

TEST_F(RenderTest, EmptyReportRenders) {
  RunReport r;
  r.run = "empty";
  EXPECT_NE(RenderHtml(r).find("No failed tests."), std::string::npos);
  EXPECT_NE(RenderMarkdown(r).find("No failures in run empty"), std::string::npos);
  EXPECT_TRUE(Json::parse(RenderJson(r))["failures"].empty());
}

// `n` failures: every seventh contended with severity i % 13, the rest without data; test ids
// of `id_bytes` characters, with Markdown-special ones among them.
RunReport ManyFailures(int n, size_t id_bytes) {
  RunReport r;
  r.run = "big";
  for (int i = 0; i < n; ++i) {
    FailureReport f;
    f.test_id = "t" + std::to_string(i) + "_*|<" + std::string(id_bytes, 'x');
    f.verdict = i % 7 == 0 ? Verdict::kContentionPossible : Verdict::kNoData;
    if (f.verdict == Verdict::kContentionPossible) {
      f.assessment.contended = true;
      f.assessment.severity = i % 13;
    } else {
      f.reason = "no start time";
    }
    ++r.verdict_counts[VerdictName(f.verdict)];
    r.failures.push_back(std::move(f));
  }
  r.tests = r.failed = n;
  return r;
}

TEST(DigestTest, MostSeverePerVerdictThenExecutionOrderAndCountsTheRest) {
  RunReport r = ManyFailures(1000, 4);
  FailureDigest d = DigestOf(r.failures, 5);
  ASSERT_EQ(d.shown.size(), 10u);
  // Independent check: the contended ones sorted by severity (desc), then index.
  std::vector<const FailureReport*> contended;
  for (const FailureReport& f : r.failures) {
    if (f.verdict == Verdict::kContentionPossible) contended.push_back(&f);
  }
  std::stable_sort(contended.begin(), contended.end(), [](auto* a, auto* b) {
    return a->assessment.severity > b->assessment.severity;
  });
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(d.shown[i], contended[i]) << i;
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(d.shown[5 + i]->verdict, Verdict::kNoData);
    EXPECT_EQ(d.shown[5 + i], &r.failures[i + 1 + i / 6]) << i;  // first no-data rows
  }
  EXPECT_EQ(d.omitted[static_cast<size_t>(Verdict::kContentionPossible)], contended.size() - 5);
  EXPECT_EQ(d.omitted[static_cast<size_t>(Verdict::kNoData)], 1000 - contended.size() - 5);
  EXPECT_EQ(d.omitted_total, 990u);
  EXPECT_EQ(CountsByVerdict(d.omitted),
            std::to_string(contended.size() - 5) + " contention-possible, " +
                std::to_string(1000 - contended.size() - 5) + " no-data");
}

TEST(DigestTest, MarkdownOfAHugeRunFitsAPullRequestComment) {
  for (size_t id_bytes : {10u, 400u, 5000u}) {
    RunReport r = ManyFailures(20000, id_bytes);
    std::string md = RenderMarkdown(r);
    EXPECT_LE(md.size(), kMarkdownMaxBytes) << id_bytes;
    EXPECT_NE(md.find("Not shown: "), std::string::npos);
    EXPECT_NE(md.find("| **contention-possible** |"), std::string::npos);
    std::string html = RenderHtml(r);
    EXPECT_NE(html.find("Not shown: 19800 ("), std::string::npos);
  }
}

TEST(DigestTest, JsonPagesTheListsAndKeepsTheTotals) {
  RunReport r = ManyFailures(50, 4);
  Json j = Json::parse(RenderJson(r, JsonPage{45, 10}));
  EXPECT_EQ(j["page"]["failures"], 50);
  EXPECT_EQ(j["page"]["offset"], 45);
  EXPECT_EQ(j["page"]["limit"], 10);
  ASSERT_EQ(j["failures"].size(), 5u);
  EXPECT_EQ(j["failures"][0]["test"], r.failures[45].test_id);
  EXPECT_EQ(j["summary"]["failed"], 50);
  // A reader that stops takes nothing more: the writer stops producing.
  int pieces = 0;
  ReportWriter out([&](std::string_view) { return ++pieces < 2; }, 64);
  WriteJson(ManyFailures(1000, 4), JsonPage{}, out);
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(pieces, 2);
}

}  // namespace
}  // namespace jostle::collector
