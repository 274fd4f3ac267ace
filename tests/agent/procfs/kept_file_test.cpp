// KeptFileBudget and KeptFile over real files: which files are kept, which are read by
// open/read/close, and one budget shared by the node reader and a cgroup sampler's files.
#include "agent/procfs/kept_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "agent/procfs/node_reader.h"
#include "jostle_test/test_paths.h"

namespace jostle::agent {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "kept_file_test.XXXXXX";
    char* made = ::mkdtemp(tmpl.data());
    if (made != nullptr) path_ = made;
  }
  ~TempDir() {
    if (!path_.empty()) std::system(("rm -rf '" + path_ + "'").c_str());
  }
  std::string File(const std::string& name, const std::string& content) const {
    std::string path = path_ + "/" + name;
    std::ofstream(path, std::ios::trunc) << content;
    return path;
  }

 private:
  std::string path_;
};

Result<std::string_view> ReadThrough(KeptFile& f, KeptFileBudget& budget, std::string& buf,
                                     const std::string& path) {
  return f.Read(
      budget, buf, [&]() -> const std::string& { return path; }, [](const Status&) {});
}

TEST(KeptFileBudget, EveryTickFilesFirstPeriodicWithinTheirShareRareNever) {
  KeptFileBudget budget(8);
  EXPECT_EQ(budget.periodic_limit(), 6u);  // 3/4 of the budget while nothing else is wanted
  budget.AddEveryTickDemand(5);
  EXPECT_EQ(budget.periodic_limit(), 3u);  // what the every-tick files leave
  EXPECT_FALSE(budget.HasRoom(ReadRate::kRare));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(budget.HasRoom(ReadRate::kPeriodic));
    budget.Opened(ReadRate::kPeriodic);
  }
  EXPECT_FALSE(budget.HasRoom(ReadRate::kPeriodic));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(budget.HasRoom(ReadRate::kEveryTick));
    budget.Opened(ReadRate::kEveryTick);
  }
  EXPECT_FALSE(budget.HasRoom(ReadRate::kEveryTick));
  EXPECT_EQ(budget.open(), 8u);
  EXPECT_EQ(budget.open_periodic(), 3u);
  budget.Closed(ReadRate::kPeriodic);
  EXPECT_TRUE(budget.HasRoom(ReadRate::kPeriodic));
  budget.AddEveryTickDemand(-100);  // more than was added: none
  EXPECT_EQ(budget.periodic_limit(), 6u);
}

TEST(KeptFile, KeptWhileTheBudgetHasRoomThenReadByOpenReadClose) {
  TempDir dir;
  KeptFileBudget budget(1);
  std::string buf;
  const std::string a = dir.File("a", "first\n");
  const std::string b = dir.File("b", "second\n");
  KeptFile fa(ReadRate::kEveryTick), fb(ReadRate::kEveryTick);
  ASSERT_EQ(*ReadThrough(fa, budget, buf, a), "first\n");
  ASSERT_EQ(*ReadThrough(fb, budget, buf, b), "second\n");
  EXPECT_EQ(fa.state(), KeptFile::State::kOpen);
  EXPECT_EQ(fb.state(), KeptFile::State::kTransient);
  EXPECT_EQ(budget.open(), 1u);
  // The kept one reads through its descriptor: it still reads after its name is gone.
  ASSERT_EQ(::unlink(a.c_str()), 0);
  EXPECT_EQ(*ReadThrough(fa, budget, buf, a), "first\n");
  // The other is opened each time: a removed file is NotFound and then known missing.
  ASSERT_EQ(::unlink(b.c_str()), 0);
  auto gone = ReadThrough(fb, budget, buf, b);
  ASSERT_FALSE(gone.ok());
  EXPECT_TRUE(gone.status().IsNotFound());
  EXPECT_EQ(fb.state(), KeptFile::State::kMissing);
  fb.ForgetMissing();
  EXPECT_EQ(fb.state(), KeptFile::State::kUnopened);
  fa.Close(budget);
  EXPECT_EQ(budget.open(), 0u);
  EXPECT_EQ(fa.state(), KeptFile::State::kUnopened);
}

TEST(KeptFile, ExhaustedBudgetKeepsNothingMore) {
  TempDir dir;
  KeptFileBudget budget(10);
  budget.MarkExhausted();
  std::string buf;
  KeptFile f(ReadRate::kEveryTick);
  EXPECT_EQ(*ReadThrough(f, budget, buf, dir.File("x", "1\n")), "1\n");
  EXPECT_EQ(f.state(), KeptFile::State::kTransient);
  EXPECT_EQ(budget.open(), 0u);
}

TEST(KeptFileBudget, NodeReaderChargesASharedBudgetAndGivesItBack) {
  auto budget = std::make_shared<KeptFileBudget>(100);
  {
    auto reader = NodeReader::Open(
        HostPaths::UnderRoot(std::string(jostle::testing::kFixtureDir) + "/procfs/normal_host"),
        100, budget);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    const size_t at_open = budget->open();
    // stat, meminfo, loadavg, 3 PSI files, 1/net/dev, 1/net/snmp.
    EXPECT_EQ(at_open, 8u);
    EXPECT_LE(budget->periodic_limit(), 100 - at_open);
    reader->Read();  // opens the link speed files of the interfaces it finds
    EXPECT_GT(budget->open(), at_open);
    EXPECT_EQ(budget->open_periodic(), 0u);
  }
  EXPECT_EQ(budget->open(), 0u);
  EXPECT_EQ(budget->periodic_limit(), 75u);
}

}  // namespace
}  // namespace jostle::agent
