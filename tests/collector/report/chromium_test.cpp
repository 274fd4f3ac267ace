// Opens the HTML report in a real headless Chromium: the page renders (a non-trivial PNG
// screenshot), the DOM holds the failure table and SVG charts, and the console logs no error.
// The screenshot stays in <build>/report-screenshot/report.png.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "collector/report/report.h"
#include "collector/report/report_fixture.h"
#include "jostle_test/test_paths.h"
#include "support/chromium_page.h"
#include "support/real_parts.h"

namespace jostle::collector {
namespace {

namespace fs = std::filesystem;

TEST(ChromiumReport, RendersWithChartsTableAndNoConsoleErrors) {
  std::string chromium = jostle::testing::FindChromium();
  if (chromium.empty()) JOSTLE_SKIP_MISSING_REAL("chromium is not installed");
  fs::path dir = fs::path(jostle::testing::kBuildDir) / "report-screenshot";
  fs::path html = fs::path(jostle::testing::kBuildDir) / "report-screenshot.html";
  {
    std::ofstream out(html, std::ios::binary);
    out << RenderHtml(jostle::testing::DemoReport());
  }
  jostle::testing::ChromiumPage page =
      jostle::testing::OpenInChromium(chromium, html, dir, 1280, 2000);
  jostle::testing::ExpectRenderedReport(page);
  EXPECT_NE(page.dom.find("stress.service"), std::string::npos);
  // The hostile name is text, not an element.
  EXPECT_EQ(page.dom.find("<script>alert(1)"), std::string::npos);
}

}  // namespace
}  // namespace jostle::collector
