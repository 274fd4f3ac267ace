// OpenFile against real files: a regular file that grows and shrinks between reads, and
// procfs and cgroupfs files re-read with pread at offset 0 through one descriptor.
#include "agent/procfs/open_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "agent/procfs/proc_stat.h"
#include "agent/procfs/text_fields.h"
#include "support/real_parts.h"

namespace jostle::agent {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "open_file_test.XXXXXX";
    char* made = ::mkdtemp(tmpl.data());
    if (made != nullptr) path_ = made;
  }
  ~TempDir() {
    if (!path_.empty()) std::system(("rm -rf '" + path_ + "'").c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc | std::ios::binary);
  out << content;
}

std::string Pattern(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += static_cast<char>('a' + i % 26);
  return s;
}

TEST(OpenFile, RereadsAFileThatGrowsPastTheFirstBufferAndShrinks) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string path = dir.path() + "/growing";
  WriteFile(path, Pattern(100));
  auto file = OpenFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  auto first = file->Read();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, Pattern(100));

  WriteFile(path, Pattern(10000));  // more than the 4096-byte initial buffer, twice over
  auto grown = file->Read();
  ASSERT_TRUE(grown.ok());
  EXPECT_EQ(grown->size(), 10000u);
  EXPECT_EQ(*grown, Pattern(10000));

  WriteFile(path, "short");
  auto shrunk = file->Read();
  ASSERT_TRUE(shrunk.ok());
  EXPECT_EQ(*shrunk, "short");
  EXPECT_EQ(file->last_errno(), 0);
}

TEST(OpenFile, ReadsIntoTheCallersBufferAndGrowsItForALargerFile) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string small = dir.path() + "/small", large = dir.path() + "/large";
  WriteFile(small, Pattern(10));
  WriteFile(large, Pattern(3 * OpenFile::kInitialReadBuffer + 5));
  auto a = OpenFile::Open(small);
  auto b = OpenFile::Open(large);
  ASSERT_TRUE(a.ok() && b.ok());
  std::string buf;  // shared by both files, as a sampler does
  auto first = a->Read(buf);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, Pattern(10));
  EXPECT_EQ(buf.size(), OpenFile::kInitialReadBuffer);
  auto big = b->Read(buf);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(*big, Pattern(3 * OpenFile::kInitialReadBuffer + 5));
  EXPECT_EQ(buf.size(), 4 * OpenFile::kInitialReadBuffer);  // doubled twice, kept
  auto again = a->Read(buf);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, Pattern(10));
  EXPECT_EQ(buf.size(), 4 * OpenFile::kInitialReadBuffer);
  // A file exactly as large as the buffer: the full pread is followed by one more.
  WriteFile(small, Pattern(buf.size()));
  auto exact = a->Read(buf);
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(*exact, Pattern(4 * OpenFile::kInitialReadBuffer));
  // A caller's small buffer is grown first.
  std::string tiny(3, 'x');
  auto from_tiny = b->Read(tiny);
  ASSERT_TRUE(from_tiny.ok());
  EXPECT_EQ(from_tiny->size(), 3 * OpenFile::kInitialReadBuffer + 5);
  auto once = OpenFile::ReadOnce(large, tiny);
  ASSERT_TRUE(once.ok());
  EXPECT_EQ(*once, Pattern(3 * OpenFile::kInitialReadBuffer + 5));
  auto missing = OpenFile::ReadOnce(dir.path() + "/none", tiny);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsNotFound());
}

TEST(OpenFile, ProcFileLargerThanTheBufferIsReadWhole) {
  // /proc/self/smaps of a test binary is many KiB, one record per mapping: seq_file returns
  // about a page per pread, short of the buffer but not at EOF.
  auto fresh = OpenFile::ReadOnce("/proc/self/smaps");
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  ASSERT_GT(fresh->size(), 2 * OpenFile::kInitialReadBuffer) << "a test binary maps more";
  auto file = OpenFile::Open("/proc/self/smaps");
  ASSERT_TRUE(file.ok());
  std::string buf;
  auto text = file->Read(buf);
  ASSERT_TRUE(text.ok());
  EXPECT_GT(text->size(), OpenFile::kInitialReadBuffer);
  EXPECT_GT(buf.size(), OpenFile::kInitialReadBuffer);
  // Same shape as a fresh read: the last line is complete and the first line matches.
  EXPECT_EQ(text->back(), '\n');
  EXPECT_NE(text->find("VmFlags"), text->rfind("VmFlags")) << "more than one record";
  // The size differs from the fresh read only by mappings made in between.
  EXPECT_GT(text->size(), fresh->size() / 2);
  EXPECT_EQ(text->substr(0, text->find('\n')), fresh->substr(0, fresh->find('\n')));
}

TEST(OpenFile, MissingFileIsNotFoundAndNamesThePath) {
  auto file = OpenFile::Open("/nonexistent/jostle/stat");
  ASSERT_FALSE(file.ok());
  EXPECT_TRUE(file.status().IsNotFound());
  EXPECT_NE(file.status().message().find("/nonexistent/jostle/stat"), std::string::npos);
}

TEST(OpenFile, ReadingADirectoryFailsWithErrno) {
  auto file = OpenFile::Open("/proc");
  ASSERT_TRUE(file.ok());
  auto content = file->Read();
  ASSERT_FALSE(content.ok());
  EXPECT_EQ(file->last_errno(), EISDIR);
}

// Spins the CPU a little; called between reads so tick counters move.
void BurnCpu() {
  volatile uint64_t x = 0;
  for (int i = 0; i < 5'000'000; ++i) x = x + static_cast<uint64_t>(i);
}

// Re-reads `file` (pread at 0) while burning CPU until its content changes; gives up after
// a bounded number of tries. Returns the first and last content.
std::pair<std::string, std::string> ReadUntilChanged(OpenFile& file) {
  auto first = file.Read();
  EXPECT_TRUE(first.ok()) << first.status().ToString();
  std::string before(first.ok() ? *first : "");
  std::string after = before;
  for (int i = 0; i < 400 && after == before; ++i) {
    BurnCpu();
    auto again = file.Read();
    EXPECT_TRUE(again.ok()) << again.status().ToString();
    if (!again.ok()) break;
    after = std::string(*again);
  }
  return {before, after};
}

TEST(OpenFile, PreadAtZeroRereadsProcStat) {
  auto file = OpenFile::Open("/proc/stat");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  long hz = ::sysconf(_SC_CLK_TCK);
  // Other lines (ctxt, intr) change sooner than the cpu line, which moves once per clock
  // tick: read until the cpu totals move.
  auto first = file->Read();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto a = ParseCpuStat(*first, hz);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = a;
  for (int i = 0; i < 400 && b->total_us == a->total_us; ++i) {
    BurnCpu();
    auto again = file->Read();
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    b = ParseCpuStat(*again, hz);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
  }
  EXPECT_GE(b->busy_us, a->busy_us);
  EXPECT_GT(b->total_us, a->total_us) << "/proc/stat did not change across re-reads";
}

// The CPU-usage file of this process's own cgroup, on cgroup v2 (cpu.stat) or v1
// (cpuacct.usage), found through /proc/self/mountinfo and /proc/self/cgroup.
std::vector<std::string> OwnCgroupCpuFiles() {
  std::map<std::string, std::string> path_by_controller;  // "" = v2
  std::ifstream cg("/proc/self/cgroup");
  for (std::string line; std::getline(cg, line);) {
    auto first = line.find(':');
    auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    std::stringstream names(controllers);
    for (std::string name; std::getline(names, name, ',');) path_by_controller[name] = path;
    if (controllers.empty()) path_by_controller[""] = path;
  }
  std::vector<std::string> files;
  std::ifstream mi("/proc/self/mountinfo");
  for (std::string line; std::getline(mi, line);) {
    auto fields = text::SplitFields(line);
    size_t dash = 0;
    while (dash < fields.size() && fields[dash] != "-") ++dash;
    // mountinfo: ... mount-point(5th) ... - fstype source super-options
    if (fields.size() < 5 || dash + 3 >= fields.size()) continue;
    std::string fstype(fields[dash + 1]);
    std::string super_options(fields[dash + 3]);
    std::string mount(fields[4]);
    if (fstype == "cgroup2" && path_by_controller.count("")) {
      std::string rel = path_by_controller[""];
      files.push_back(mount + (rel == "/" ? "" : rel) + "/cpu.stat");
    } else if (fstype == "cgroup" && super_options.find("cpuacct") != std::string::npos &&
               path_by_controller.count("cpuacct")) {
      std::string rel = path_by_controller["cpuacct"];
      files.push_back(mount + (rel == "/" ? "" : rel) + "/cpuacct.usage");
    }
  }
  return files;
}

TEST(OpenFile, PreadAtZeroRereadsCgroupFiles) {
  auto files = OwnCgroupCpuFiles();
  if (files.empty()) JOSTLE_SKIP_MISSING_REAL("no cgroup cpu accounting file for this process");
  int checked = 0;
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    auto file = OpenFile::Open(path);
    if (!file.ok()) continue;  // e.g. cpu controller not enabled in this v2 subtree
    ++checked;
    auto [before, after] = ReadUntilChanged(*file);
    EXPECT_FALSE(before.empty());
    EXPECT_NE(before, after) << "cgroup cpu usage did not change across re-reads";
    // The re-read matches what a fresh open sees in shape (same keys, same line count).
    auto fresh = OpenFile::ReadOnce(path);
    ASSERT_TRUE(fresh.ok());
    EXPECT_EQ(std::count(fresh->begin(), fresh->end(), '\n'),
              std::count(after.begin(), after.end(), '\n'));
  }
  if (checked == 0) JOSTLE_SKIP_MISSING_REAL("no cgroup cpu accounting file could be opened");
}

}  // namespace
}  // namespace jostle::agent
