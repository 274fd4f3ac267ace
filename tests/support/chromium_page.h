// Opens an HTML file in a real headless Chromium, as the report tests do: one run takes a
// screenshot, one dumps the DOM as the page's scripts left it, and both logs are scanned for
// console errors. Header-only test support.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "support/shell_files.h"

namespace jostle::testing {

// The first Chromium on PATH, or "" when there is none.
inline std::string FindChromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    std::string cmd = std::string("command -v ") + name + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return name;
  }
  return "";
}

struct ChromiumPage {
  std::filesystem::path screenshot;  // PNG written by --screenshot (may be missing)
  std::string dom;                   // --dump-dom output
  std::string log;                   // both runs' stderr
  // Lines where the page's console reported an error or an exception.
  std::string ConsoleErrors() const {
    std::string bad;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
      if (line.find("Uncaught") != std::string::npos ||
          line.find(":CONSOLE(") != std::string::npos ||
          line.find("Failed to load resource") != std::string::npos) {
        bad += line + "\n";
      }
    }
    return bad;
  }
};

// Opens `html` in headless Chromium (`chromium` from FindChromium) with a window of
// `width`x`height`; the screenshot, profiles and logs go to `dir` (created, emptied first).
inline ChromiumPage OpenInChromium(const std::string& chromium, const std::filesystem::path& html,
                                   const std::filesystem::path& dir, int width, int height) {
  namespace fs = std::filesystem;
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string url = "file://" + fs::absolute(html).string();
  auto run = [&](const std::string& name, const std::string& mode) {
    fs::path profile = dir / ("profile-" + name);
    fs::create_directories(profile);
    std::string cmd = "timeout 120 " + chromium +
                      " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                      " --disable-background-networking --disable-component-update --disable-sync"
                      " --enable-logging=stderr --v=0 --user-data-dir=" +
                      ShellQuote(profile.string()) + " --window-size=" + std::to_string(width) +
                      "," + std::to_string(height) + " " + mode + " " + ShellQuote(url) + " >" +
                      ShellQuote((dir / (name + ".out")).string()) + " 2>" +
                      ShellQuote((dir / (name + ".err")).string());
    (void)std::system(cmd.c_str());
    return ReadFile(dir / (name + ".err"));
  };
  ChromiumPage page;
  page.screenshot = dir / "report.png";
  page.log = run("shot", "--screenshot=" + ShellQuote(page.screenshot.string()));
  page.log += run("dom", "--dump-dom");
  page.dom = ReadFile(dir / "dom.out");
  return page;
}

// What every rendered report page must show: a non-blank PNG screenshot, the failure table,
// at least one SVG chart, and no console error.
inline void ExpectRenderedReport(const ChromiumPage& page) {
  ASSERT_TRUE(std::filesystem::exists(page.screenshot)) << page.log;
  std::string image = ReadFile(page.screenshot);
  ASSERT_GT(image.size(), 8u);
  EXPECT_EQ(image.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // A blank page compresses to a few KB; charts and a table do not.
  EXPECT_GT(image.size(), 40u * 1024) << "screenshot looks empty";
  std::printf("report screenshot: %s\n", page.screenshot.c_str());
  EXPECT_NE(page.dom.find("id=\"failure-table\""), std::string::npos) << page.dom.substr(0, 500);
  EXPECT_NE(page.dom.find("<svg"), std::string::npos);
  EXPECT_EQ(page.ConsoleErrors(), "");
}

}  // namespace jostle::testing
