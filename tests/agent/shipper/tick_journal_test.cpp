// TickJournal: a batch's text on disk a tick at a time, and what RecoverTickJournals makes
// of the files a killed agent left (whole ticks only, closed as a batch).
#include "agent/shipper/tick_journal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/shipper/batch_line.h"
#include "collector/api/test_batches.h"
#include "jostle/wire.h"

namespace jostle::agent {
namespace {

namespace fs = std::filesystem;

class TickJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("jostle-journal-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Journals the first `ticks` samples of `batch` (and its end when `finish`), as the agent
  // does through BatchLineBuilder's text; returns the journal's path.
  std::string Journal(const SampleBatch& batch, size_t ticks, bool finish) {
    TickJournal journal(dir_.string());
    EXPECT_TRUE(journal.Begin(batch.seq, batch.agent_start_ns).ok());
    BatchLineBuilder builder;
    EXPECT_TRUE(builder
                    .Start(batch, [&](std::string_view p) { EXPECT_TRUE(journal.Append(p).ok()); },
                           false)
                    .ok());
    for (size_t i = 0; i < ticks; ++i) EXPECT_TRUE(builder.Add(batch.samples[i]).ok());
    if (finish) {
      EXPECT_TRUE(builder.Finish().ok());
    }
    return journal.Finish();  // the file stays: only the shipper removes it
  }

  fs::path dir_;
};

SampleBatch FirstTicks(SampleBatch b, size_t n) {
  b.samples.resize(n);
  return b;
}

TEST_F(TickJournalTest, AKilledAgentsTicksComeBackAsABatch) {
  SampleBatch batch = testing::MakeTestBatch("node-a", 4, 10, 3);
  std::string path = Journal(batch, 7, /*finish=*/false);
  auto found = RecoverTickJournals(dir_.string());
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].path, path);
  EXPECT_EQ((*found)[0].records, 7u);
  auto decoded = DecodeBatch((*found)[0].text);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, FirstTicks(batch, 7));
}

TEST_F(TickJournalTest, AFinishedBatchIsNotClosedTwice) {
  SampleBatch batch = testing::MakeTestBatch("node-a", 0, 3, 2);
  Journal(batch, 3, /*finish=*/true);
  auto found = RecoverTickJournals(dir_.string());
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].text, EncodeBatch(batch));
}

TEST_F(TickJournalTest, ATickCutShortOrCorruptEndsTheBatchThere) {
  SampleBatch batch = testing::MakeTestBatch("node-a", 1, 5, 2);
  std::string path = Journal(batch, 5, false);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  // Cut inside the last record: four whole ticks are left.
  fs::resize_file(path, bytes.size() - 5);
  auto cut = RecoverTickJournals(dir_.string());
  ASSERT_TRUE(cut.ok());
  ASSERT_EQ((*cut)[0].records, 4u);
  auto decoded = DecodeBatch((*cut)[0].text);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, FirstTicks(batch, 4));
  // A flipped byte in the third record's text: two whole ticks are left.
  size_t offset = 0;
  for (int r = 0; r < 2; ++r) {
    uint32_t size = 0;
    for (int i = 0; i < 4; ++i) size |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[offset + i])) << (8 * i);
    offset += 8 + size;
  }
  bytes[offset + 8 + 3] ^= 0x20;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  auto corrupt = RecoverTickJournals(dir_.string());
  ASSERT_TRUE(corrupt.ok());
  EXPECT_EQ((*corrupt)[0].records, 2u);
  auto two = DecodeBatch((*corrupt)[0].text);
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  EXPECT_EQ(*two, FirstTicks(batch, 2));
}

TEST_F(TickJournalTest, JournalsComeBackOldestFirst) {
  Journal(testing::MakeTestBatch("node-a", 12, 2, 1, 200), 1, false);
  Journal(testing::MakeTestBatch("node-a", 3, 2, 1, 200), 2, false);
  Journal(testing::MakeTestBatch("node-a", 9, 2, 1, 100), 2, false);
  auto found = RecoverTickJournals(dir_.string());
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 3u);
  std::vector<uint64_t> seqs;
  for (const auto& b : *found) seqs.push_back(DecodeBatch(b.text).value().seq);
  EXPECT_EQ(seqs, (std::vector<uint64_t>{9, 3, 12}));  // agent start 100, then 200 by seq
}

}  // namespace
}  // namespace jostle::agent
