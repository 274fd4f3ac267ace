// The demo's claim, proved in CI: demo/run-demo.sh runs the bundled suite under the real
// build/bin/jostle once on a quiet machine and twice beside a real stress-ng burner in a
// sibling cgroup (beneath this test's own cgroup) with a high CPU weight. The last report
// must give the three latency-budget failures `contention` on cpu with the burner's cgroup
// as culprit and the rounding bug `fails-regardless`. The HTML report is then opened in
// headless Chromium: it renders, holds the failure table and a chart, and logs no console
// error. The screenshot stays in <build>/demo-screenshot/report.png (docs/report.png is a
// copy of it).
//
// Skipped, with the reason, where the scenario cannot run (no writable cgroups, no stress-ng,
// no pytest) or when the machine was not quiet during the quiet run (other load: the quiet
// baseline the verdicts rest on does not exist then).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "jostle_test/test_paths.h"

namespace jostle {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

int ShellExitCode(int status) {
  if (status == -1) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string FindChromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    std::string cmd = std::string("command -v ") + name + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return name;
  }
  return "";
}

// Headless Chromium with `mode` flags on `url`; stdout and stderr go to files.
int RunChromium(const std::string& chromium, const fs::path& dir, const std::string& mode,
                const std::string& url, const fs::path& out, const fs::path& err) {
  fs::path profile = dir / ("profile-" + out.stem().string());
  fs::create_directories(profile);
  std::string cmd = "timeout 120 " + chromium +
                    " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                    " --disable-background-networking --disable-component-update --disable-sync"
                    " --enable-logging=stderr --v=0 --user-data-dir=" +
                    Quote(profile.string()) + " --window-size=1280,1800 " + mode + " " +
                    Quote(url) + " >" + Quote(out.string()) + " 2>" + Quote(err.string());
  return std::system(cmd.c_str());
}

// Lines where the page's console reported an error or an exception.
std::string ConsoleErrors(const std::string& log) {
  std::string bad;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("Uncaught") != std::string::npos || line.find(":CONSOLE(") != std::string::npos ||
        line.find("Failed to load resource") != std::string::npos) {
      bad += line + "\n";
    }
  }
  return bad;
}

json Failure(const json& report, const std::string& name) {
  for (const json& f : report["failures"]) {
    if (f["name"] == name) return f;
  }
  return json();
}

TEST(DemoScenario, BurnerFailuresAreContentionAndTheBugFailsRegardless) {
  fs::path work = fs::path(testing::kBuildDir) / "demo-e2e";
  fs::path log = fs::path(testing::kBuildDir) / "demo-e2e.log";
  fs::remove_all(work);
  std::string cmd = "cd " + Quote(testing::kBuildDir) +
                    " && JOSTLE_BIN=" + Quote(testing::kBinDir) +
                    " DEMO_DIR=" + Quote(work.string()) + " DEMO_QUIET_WAIT=30" + " timeout 300 " +
                    Quote(std::string(testing::kSourceDir) + "/demo/run-demo.sh") + " >" +
                    Quote(log.string()) + " 2>&1";
  int rc = ShellExitCode(std::system(cmd.c_str()));
  std::string output = ReadAll(log);
  if (rc == 77) GTEST_SKIP() << output;
  if (rc == 2) GTEST_SKIP() << "the machine was not quiet during the quiet run:\n" << output;
  ASSERT_EQ(rc, 0) << output;
  EXPECT_NE(output.find("Report: " + (work / "noisy-2" / "report" / "report.html").string()),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("test_price_rounding: fails-regardless"), std::string::npos) << output;

  // The quiet run: the bug failed in a clear window; the budget tests passed.
  json quiet = json::parse(ReadAll(work / "quiet" / "report" / "report.json"));
  EXPECT_EQ(quiet["summary"]["failed"], 1) << quiet["failures"].dump(2);
  EXPECT_EQ(Failure(quiet, "test_price_rounding")["verdict"], "no-contention");

  // The last run, with the quiet run and the first noisy run as history.
  json report = json::parse(ReadAll(work / "noisy-2" / "report" / "report.json"));
  EXPECT_EQ(report["summary"]["tests"], 5);
  EXPECT_EQ(report["summary"]["failed"], 4) << report["failures"].dump(2);
  for (const char* name : {"test_checkout_latency_budget", "test_search_latency_budget",
                           "test_login_latency_budget"}) {
    SCOPED_TRACE(name);
    json f = Failure(report, name);
    ASSERT_TRUE(f.is_object()) << "not among the failures";
    EXPECT_EQ(f["verdict"], "contention") << f.dump(2);
    EXPECT_EQ(f["resource"], "cpu");
    EXPECT_EQ(f["timing"], "exact");
    ASSERT_FALSE(f["culprits"].empty()) << f.dump(2);
    EXPECT_EQ(f["culprits"][0]["kind"], "cgroup");
    EXPECT_NE(f["culprits"][0]["name"].get<std::string>().find("jostle-demo-burner"),
              std::string::npos)
        << f["culprits"].dump(2);
    EXPECT_GT(f["culprits"][0]["share"].get<double>(), 0.5) << f["culprits"].dump(2);
    EXPECT_GE(f["evidence"]["history"]["passed_clear"].get<int>(), 1);
  }
  json bug = Failure(report, "test_price_rounding");
  ASSERT_TRUE(bug.is_object());
  EXPECT_EQ(bug["verdict"], "fails-regardless") << bug.dump(2);
  EXPECT_TRUE(Failure(report, "test_parse_order_id").is_null());

  // The HTML report in a real browser.
  std::string chromium = FindChromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed; the report was not opened";
  fs::path shots = fs::path(testing::kBuildDir) / "demo-screenshot";
  fs::remove_all(shots);
  fs::create_directories(shots);
  std::string url = "file://" + (work / "noisy-2" / "report" / "report.html").string();
  fs::path png = shots / "report.png";
  RunChromium(chromium, shots, "--screenshot=" + Quote(png.string()), url, shots / "shot.out",
              shots / "shot.err");
  ASSERT_TRUE(fs::exists(png)) << ReadAll(shots / "shot.err");
  std::string image = ReadAll(png);
  ASSERT_GT(image.size(), 8u);
  EXPECT_EQ(image.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_GT(image.size(), 40u * 1024) << "screenshot looks empty";
  std::printf("demo report screenshot: %s\n", png.c_str());
  RunChromium(chromium, shots, "--dump-dom", url, shots / "dom.html", shots / "dom.err");
  std::string dom = ReadAll(shots / "dom.html");
  EXPECT_NE(dom.find("id=\"failure-table\""), std::string::npos) << dom.substr(0, 500);
  EXPECT_NE(dom.find("<svg"), std::string::npos);
  EXPECT_NE(dom.find("jostle-demo-burner"), std::string::npos);
  EXPECT_NE(dom.find("test_price_rounding"), std::string::npos);
  EXPECT_EQ(ConsoleErrors(ReadAll(shots / "dom.err") + ReadAll(shots / "shot.err")), "");
}

}  // namespace
}  // namespace jostle
