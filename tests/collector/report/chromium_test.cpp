// Opens the HTML report in a real headless Chromium: the page renders (a non-trivial PNG
// screenshot), the DOM holds the failure table and SVG charts, and the console logs no error.
// The screenshot stays in <build>/report-screenshot/report.png.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "collector/report/report.h"
#include "collector/report/report_fixture.h"
#include "jostle_test/test_paths.h"

namespace jostle::collector {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string FindChromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    std::string cmd = std::string("command -v ") + name + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return name;
  }
  return "";
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs headless Chromium with `mode` flags on `url`; stdout and stderr go to files.
int RunChromium(const std::string& chromium, const fs::path& dir, const std::string& mode,
                const std::string& url, const fs::path& out, const fs::path& err) {
  fs::path profile = dir / ("profile-" + out.stem().string());
  fs::create_directories(profile);
  std::string cmd = "timeout 120 " + chromium +
                    " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                    " --disable-background-networking --disable-component-update --disable-sync"
                    " --enable-logging=stderr --v=0 --user-data-dir=" +
                    Quote(profile.string()) + " --window-size=1280,2000 " + mode + " " +
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

TEST(ChromiumReport, RendersWithChartsTableAndNoConsoleErrors) {
  std::string chromium = FindChromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed";
  fs::path dir = fs::path(jostle::testing::kBuildDir) / "report-screenshot";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::path html = dir / "report.html";
  {
    std::ofstream out(html, std::ios::binary);
    out << RenderHtml(jostle::testing::DemoReport());
  }
  std::string url = "file://" + fs::absolute(html).string();

  fs::path png = dir / "report.png";
  RunChromium(chromium, dir, "--screenshot=" + Quote(png.string()), url, dir / "shot.out",
              dir / "shot.err");
  ASSERT_TRUE(fs::exists(png)) << ReadAll(dir / "shot.err");
  std::string image = ReadAll(png);
  ASSERT_GT(image.size(), 8u);
  EXPECT_EQ(image.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // A blank 1280×2000 page compresses to a few KB; charts and a table do not.
  EXPECT_GT(image.size(), 40u * 1024) << "screenshot looks empty";
  std::printf("report screenshot: %s\n", png.c_str());

  RunChromium(chromium, dir, "--dump-dom", url, dir / "dom.html", dir / "dom.err");
  std::string dom = ReadAll(dir / "dom.html");
  EXPECT_NE(dom.find("id=\"failure-table\""), std::string::npos) << dom.substr(0, 500);
  EXPECT_NE(dom.find("<svg"), std::string::npos);
  EXPECT_NE(dom.find("stress.service"), std::string::npos);
  // The hostile name is text, not an element.
  EXPECT_EQ(dom.find("<script>alert(1)"), std::string::npos);
  EXPECT_EQ(ConsoleErrors(ReadAll(dir / "dom.err") + ReadAll(dir / "shot.err")), "");
}

}  // namespace
}  // namespace jostle::collector
