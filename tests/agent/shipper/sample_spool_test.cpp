#include "agent/shipper/sample_spool.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <filesystem>
#include <fstream>

#include "support/real_parts.h"

namespace jostle::agent {
namespace {

namespace fs = std::filesystem;

class SampleSpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("jostle-spool-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<SampleSpool> Open(uint64_t cap) {
    auto s = SampleSpool::Open({dir_.string(), cap});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s.value()) : nullptr;
  }

  size_t FilesInDir() {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir_)) {
      (void)e;
      ++n;
    }
    return n;
  }

  fs::path dir_;
};

TEST_F(SampleSpoolTest, KeepsOrderAcrossReopen) {
  {
    auto spool = Open(1 << 20);
    ASSERT_TRUE(spool);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(spool->Push("batch-" + std::to_string(i)).ok());
    EXPECT_EQ(spool->size(), 5u);
    EXPECT_EQ(spool->bytes(), 5u * 7);
    EXPECT_EQ(FilesInDir(), 5u);
    EXPECT_EQ(spool->Front().value_or(""), "batch-0");
    ASSERT_TRUE(spool->Pop().ok());
    EXPECT_EQ(FilesInDir(), 4u);
  }
  // A new process finds the rest, oldest first, and appends after them.
  auto spool = Open(1 << 20);
  ASSERT_TRUE(spool);
  EXPECT_EQ(spool->size(), 4u);
  ASSERT_TRUE(spool->Push("batch-5").ok());
  std::vector<std::string> order;
  while (auto p = spool->Front()) {
    order.push_back(*p);
    ASSERT_TRUE(spool->Pop().ok());
  }
  EXPECT_EQ(order,
            (std::vector<std::string>{"batch-1", "batch-2", "batch-3", "batch-4", "batch-5"}));
  EXPECT_EQ(spool->bytes(), 0u);
  EXPECT_EQ(FilesInDir(), 0u);
  EXPECT_FALSE(spool->Pop().ok());
}

TEST_F(SampleSpoolTest, DropsOldestWhenFullAndCountsIt) {
  auto spool = Open(350);
  ASSERT_TRUE(spool);
  for (int i = 0; i < 6; ++i) {
    auto r = spool->Push(std::string(100, static_cast<char>('a' + i)));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, i < 3 ? 0 : 1) << i;
  }
  EXPECT_EQ(spool->size(), 3u);
  EXPECT_EQ(spool->bytes(), 300u);
  EXPECT_EQ(spool->dropped(), 3u);
  EXPECT_EQ(FilesInDir(), 3u);
  EXPECT_EQ(spool->Front().value_or("")[0], 'd');
  // A payload bigger than the whole cap is dropped, the rest kept.
  auto big = spool->Push(std::string(351, 'z'));
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(*big, 1);
  EXPECT_EQ(spool->size(), 3u);
  EXPECT_EQ(spool->dropped(), 4u);
}

TEST_F(SampleSpoolTest, ReopenWithSmallerCapDropsOldest) {
  {
    auto spool = Open(1000);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(spool->Push(std::string(100, '0' + i)).ok());
  }
  auto spool = Open(250);
  ASSERT_TRUE(spool);
  EXPECT_EQ(spool->size(), 2u);
  EXPECT_EQ(spool->Front().value_or("")[0], '3');
}

TEST_F(SampleSpoolTest, IgnoresInterruptedWritesAndForeignFiles) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / ".tmp-7") << "half a batch";
  std::ofstream(dir_ / "README") << "not a batch";
  std::ofstream(dir_ / "00000000000000000009.batch.gz") << "nine";
  auto spool = Open(1 << 20);
  ASSERT_TRUE(spool);
  EXPECT_EQ(spool->size(), 1u);
  EXPECT_FALSE(fs::exists(dir_ / ".tmp-7"));
  EXPECT_TRUE(fs::exists(dir_ / "README"));
  ASSERT_TRUE(spool->Push("ten").ok());
  EXPECT_TRUE(fs::exists(dir_ / "00000000000000000010.batch.gz"));
  EXPECT_EQ(spool->Front().value_or(""), "nine");
}

TEST_F(SampleSpoolTest, UnreadableFileIsSkipped) {
  auto spool = Open(1 << 20);
  ASSERT_TRUE(spool->Push("first").ok());
  ASSERT_TRUE(spool->Push("second").ok());
  fs::remove(dir_ / "00000000000000000000.batch.gz");
  EXPECT_EQ(spool->Front().value_or(""), "second");
  EXPECT_EQ(spool->size(), 1u);
}

// A spool on a 256 KiB tmpfs whose cap (1 GiB) is never reached: the file system fills
// first.
TEST(SampleSpoolDiskFullTest, FullDiskDropsTheOldestUntilTheNewestIsWritten) {
  fs::path mount = fs::temp_directory_path() / ("jostle-spool-tmpfs-" + std::to_string(::getpid()));
  fs::create_directories(mount);
  if (::mount("tmpfs", mount.c_str(), "tmpfs", 0, "size=256k") != 0) {
    int err = errno;
    fs::remove_all(mount);
    JOSTLE_SKIP_MISSING_REAL("cannot mount a tmpfs (needs root): " << std::strerror(err));
  }
  struct Unmount {
    fs::path p;
    ~Unmount() {
      ::umount2(p.c_str(), MNT_DETACH);
      fs::remove_all(p);
    }
  } unmount{mount};
  auto opened = SampleSpool::Open({(mount / "spool").string(), 1ull << 30});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& spool = *opened;
  constexpr int kBatches = 20;  // 20 x 40 KiB: about three times the file system
  for (int i = 0; i < kBatches; ++i) {
    std::string payload(40 << 10, static_cast<char>('a' + i));
    auto pushed = spool->Push(payload);
    ASSERT_TRUE(pushed.ok()) << "batch " << i << ": " << pushed.status().ToString();
  }
  EXPECT_GT(spool->dropped_disk_full(), 0u);
  EXPECT_EQ(spool->dropped(), spool->dropped_disk_full());
  // What is kept is the newest batches, in order, ending with the last one pushed.
  ASSERT_GT(spool->size(), 2u);
  size_t kept = spool->size();
  for (size_t i = 0; i < kept; ++i) {
    auto front = spool->Front();
    ASSERT_TRUE(front);
    EXPECT_EQ(front->front(), static_cast<char>('a' + kBatches - kept + i)) << i;
    ASSERT_TRUE(spool->Pop().ok());
  }
  EXPECT_EQ(spool->dropped() + kept, static_cast<uint64_t>(kBatches));
}

TEST(SampleSpoolMemoryTest, WithoutDirectoryKeepsBatchesInMemory) {
  auto spool = SampleSpool::Open({"", 10});
  ASSERT_TRUE(spool.ok());
  EXPECT_FALSE((*spool)->on_disk());
  ASSERT_TRUE((*spool)->Push("aaaa").ok());
  ASSERT_TRUE((*spool)->Push("bbbb").ok());
  ASSERT_TRUE((*spool)->Push("cccc").ok());  // drops "aaaa"
  EXPECT_EQ((*spool)->dropped(), 1u);
  EXPECT_EQ((*spool)->Front().value_or(""), "bbbb");
}

TEST(SampleSpoolOpenTest, UncreatableDirectoryIsAnError) {
  auto spool = SampleSpool::Open({"/proc/jostle-cannot-create", 10});
  ASSERT_FALSE(spool.ok());
  EXPECT_NE(spool.status().message().find("/proc/jostle-cannot-create"), std::string::npos);
}

}  // namespace
}  // namespace jostle::agent
