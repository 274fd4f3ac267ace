// Kill -9 the real jostle-collector while a shipper is sending, restart it on the same
// database, and check that every batch arrived exactly once.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include "agent/shipper/shipper.h"
#include "collector/api/test_batches.h"
#include "collector/store/stores.h"
#include "e2e/child_process.h"
#include "http_client/http_client.h"
#include "jostle_test/test_paths.h"
#include "support/loopback_port.h"

namespace jostle {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr const char* kToken = "agent-e2e-token-1";

// Polls /healthz until it answers 200 or the deadline passes.
bool WaitHealthy(const std::string& base, milliseconds deadline) {
  http::HttpClient client;
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    http::HttpRequest r;
    r.url = base + "/healthz";
    r.timeout = milliseconds(1000);
    auto resp = client.Send(r);
    if (resp.ok() && resp->status == 200) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return false;
}

class CollectorRestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("jostle-e2e-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "tokens") << "agent " << kToken << "\n";
    std::ofstream(dir_ / "agent-token") << kToken << "\n";
    port_ = testing::FreeLoopbackPort();
    base_ = "http://127.0.0.1:" + std::to_string(port_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  std::unique_ptr<testing::ChildProcess> StartCollector() {
    auto p = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{std::string(testing::kBinDir) + "/jostle-collector", "serve",
                                 "--db", (dir_ / "jostle.db").string(), "--listen",
                                 "127.0.0.1:" + std::to_string(port_), "--token-file",
                                 (dir_ / "tokens").string()},
        (dir_ / "collector.log").string());
    EXPECT_GT(p->pid(), 0);
    EXPECT_TRUE(WaitHealthy(base_, milliseconds(20000))) << p->Log();
    return p;
  }

  fs::path dir_;
  uint16_t port_ = 0;
  std::string base_;
};

TEST_F(CollectorRestartTest, NoBatchLostOrDuplicatedAcrossKill9) {
  constexpr uint64_t kBatches = 120;
  constexpr int kTicks = 2;
  auto collector = StartCollector();

  agent::ShipperOptions o;
  o.collector_url = base_;
  o.token_file = (dir_ / "agent-token").string();
  o.spool_dir = (dir_ / "spool").string();
  o.initial_backoff = milliseconds(20);
  o.max_backoff = milliseconds(250);
  o.connect_timeout = milliseconds(1000);
  o.request_timeout = milliseconds(5000);
  o.queue_capacity = 1000;
  auto shipper = agent::Shipper::Start(o);
  ASSERT_TRUE(shipper.ok()) << shipper.status().ToString();

  // Recent wall clocks: the collector prunes samples older than its retention (14 days).
  const int64_t base_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count() -
                          3600LL * 1000000000LL;
  // Polls the shipper's stats until `cond` holds (30 s at most).
  auto eventually = [&](auto cond) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!cond((*shipper)->stats()) && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(milliseconds(1));
    }
    return cond((*shipper)->stats());
  };
  for (uint64_t seq = 0; seq < kBatches; ++seq) {
    (*shipper)->Ship(
        testing::MakeTestBatch("node-e2e", seq, kTicks, 5, testing::kTestEpochNs, base_ns));
    if (seq == 40) {
      // Kill while the shipper is busy sending: some batches acknowledged, more handed to it.
      ASSERT_TRUE(eventually([](const agent::ShipperStats& s) { return s.batches_shipped > 0; }));
      const agent::ShipperStats before = (*shipper)->stats();
      collector->Signal(SIGKILL);
      auto status = collector->Wait(milliseconds(10000));
      ASSERT_TRUE(status.has_value());
      EXPECT_TRUE(WIFSIGNALED(*status));
      EXPECT_LT(before.batches_shipped, seq + 1)
          << "the shipper had sent everything before the kill";
    }
    if (seq == 80) {
      // The collector is down: what the shipper could not send went to the spool.
      ASSERT_TRUE(eventually([](const agent::ShipperStats& s) { return s.batches_spooled > 0; }));
      collector = StartCollector();
    }
  }
  (*shipper)->Stop(milliseconds(30000));
  auto st = (*shipper)->stats();
  EXPECT_EQ(st.spool_batches, 0u);
  EXPECT_EQ(st.batches_rejected, 0u);
  EXPECT_EQ(st.batches_dropped_queue + st.batches_dropped_spool, 0u);
  EXPECT_EQ(st.batches_shipped, kBatches);
  EXPECT_GT(st.batches_replayed, 0u);

  // A graceful stop: exit 0 after checkpointing.
  collector->Signal(SIGTERM);
  auto status = collector->Wait(milliseconds(30000));
  ASSERT_TRUE(status.has_value()) << collector->Log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << collector->Log();
  EXPECT_NE(collector->Log().find("checkpointed"), std::string::npos);

  auto store = collector::OpenSqliteStores((dir_ / "jostle.db").string());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto samples = (*store)->samples().Samples("node-e2e", 0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(samples.ok()) << samples.status().ToString();
  std::map<int64_t, int> count;
  for (const auto& s : *samples) ++count[s.wall_ns];
  std::vector<std::string> problems;
  for (uint64_t seq = 0; seq < kBatches; ++seq) {
    for (int t = 0; t < kTicks; ++t) {
      int64_t wall = testing::TestWallNs(seq, t, kTicks, base_ns);
      int n = count.count(wall) ? count[wall] : 0;
      if (n != 1) {
        problems.push_back("seq " + std::to_string(seq) + " tick " + std::to_string(t) +
                           ": stored " + std::to_string(n) + " times");
      }
    }
  }
  EXPECT_TRUE(problems.empty()) << problems.size() << " problems, first: " << problems.front();
  EXPECT_EQ(samples->size(), kBatches * kTicks);
}

TEST_F(CollectorRestartTest, RefusesToStartOnBadFlags) {
  testing::ChildProcess p({std::string(testing::kBinDir) + "/jostle-collector", "serve", "--db",
                           (dir_ / "x.db").string(), "--listen", "nowhere"},
                          (dir_ / "bad.log").string());
  auto status = p.Wait(milliseconds(20000));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_NE(p.Log().find("--listen"), std::string::npos) << p.Log();
}

}  // namespace
}  // namespace jostle
