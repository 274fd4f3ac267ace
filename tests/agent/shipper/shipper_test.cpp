// The shipper against a real loopback HTTP server that answers from a script.
#include "agent/shipper/shipper.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "collector/api/test_batches.h"
#include "http_server/http_server.h"
#include "jostle/wire.h"

namespace jostle::agent {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// A collector stand-in: decodes every batch it is sent and answers the next scripted
// status (200 when the script is empty).
class ScriptedCollector {
 public:
  struct Answer {
    int status = 200;
    std::string retry_after;
  };
  struct Received {
    uint64_t seq;
    int status;
    std::string authorization;
    Clock::time_point at;
  };

  ScriptedCollector() {
    auto s = HttpServer::Start({}, [this](const HttpServerRequest& r) { return Handle(r); });
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s.value());
  }

  std::string url() const { return "http://" + server_->address(); }
  uint16_t port() const { return server_->port(); }

  void Script(std::vector<Answer> answers) {
    std::lock_guard lock(mu_);
    script_.insert(script_.end(), answers.begin(), answers.end());
  }
  // Requests whose Authorization is not "Bearer token" are answered 401 (empty: any).
  void RequireToken(std::string token) {
    std::lock_guard lock(mu_);
    required_ = token.empty() ? "" : "Bearer " + token;
  }
  // While held, requests wait inside the handler.
  void Hold(bool hold) {
    std::lock_guard lock(mu_);
    hold_ = hold;
    cv_.notify_all();
  }
  std::vector<Received> received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  // Seqs answered 200, in arrival order.
  std::vector<uint64_t> delivered() {
    std::vector<uint64_t> out;
    for (const auto& r : received()) {
      if (r.status == 200) out.push_back(r.seq);
    }
    return out;
  }
  bool WaitForRequests(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(20), [&] { return received_.size() >= n; });
  }
  bool WaitForHeld() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(20), [&] { return held_ > 0; });
  }

 private:
  HttpServerResponse Handle(const HttpServerRequest& r) {
    std::unique_lock lock(mu_);
    ++held_;
    cv_.notify_all();
    cv_.wait_for(lock, std::chrono::seconds(20), [&] { return !hold_; });
    --held_;
    Answer a;
    if (!script_.empty()) {
      a = script_.front();
      script_.pop_front();
    }
    uint64_t seq = ~0ull;
    auto json = Gunzip(r.body, 1 << 24);
    if (json.ok()) {
      auto batch = DecodeBatch(*json);
      if (batch.ok()) seq = batch->seq;
    }
    if (seq == ~0ull) a.status = 400;
    if (!required_.empty() && r.Header("authorization").value_or("") != required_) a.status = 401;
    received_.push_back({seq, a.status, r.Header("authorization").value_or(""), Clock::now()});
    cv_.notify_all();
    HttpServerResponse out;
    out.status = a.status;
    out.body = a.status == 200 ? R"({"stored":true})" : R"({"error":"scripted","detail":"x"})";
    if (!a.retry_after.empty()) out.headers.emplace_back("Retry-After", a.retry_after);
    return out;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Answer> script_;
  std::vector<Received> received_;
  bool hold_ = false;
  int held_ = 0;
  std::string required_;
  std::unique_ptr<HttpServer> server_;
};

class ShipperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("jostle-shipper-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  ShipperOptions Options(const std::string& url) {
    ShipperOptions o;
    o.collector_url = url;
    o.spool_dir = (dir_ / "spool").string();
    o.initial_backoff = milliseconds(20);
    o.max_backoff = milliseconds(200);
    o.connect_timeout = milliseconds(2000);
    o.request_timeout = milliseconds(10000);
    return o;
  }

  std::unique_ptr<Shipper> StartShipper(const ShipperOptions& o) {
    auto s = Shipper::Start(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s.value()) : nullptr;
  }

  static SampleBatch Batch(uint64_t seq) { return testing::MakeTestBatch("node-a", seq, 1, 1); }

  // A URL where nothing listens: a port that was just bound and released.
  static std::string DeadUrl() {
    auto s = HttpServer::Start({}, [](const HttpServerRequest&) { return HttpServerResponse{}; });
    std::string url = "http://" + s.value()->address();
    s.value()->Stop();
    return url;
  }

  fs::path dir_;
};

TEST_F(ShipperTest, DeliversBatchesInOrderWithToken) {
  ScriptedCollector c;
  std::ofstream(dir_ / "token") << "  agent-token-1 \n";
  auto o = Options(c.url());
  o.token_file = (dir_ / "token").string();
  auto shipper = StartShipper(o);
  for (uint64_t i = 0; i < 5; ++i) EXPECT_TRUE(shipper->Ship(Batch(i)));
  shipper->Stop(milliseconds(10000));
  EXPECT_EQ(c.delivered(), (std::vector<uint64_t>{0, 1, 2, 3, 4}));
  for (const auto& r : c.received()) EXPECT_EQ(r.authorization, "Bearer agent-token-1");
  auto st = shipper->stats();
  EXPECT_EQ(st.batches_shipped, 5u);
  EXPECT_EQ(st.batches_spooled, 0u);
  EXPECT_EQ(st.spool_batches, 0u);
}

TEST_F(ShipperTest, RereadsARotatedTokenFile) {
  ScriptedCollector c;
  fs::path token = dir_ / "token";
  std::ofstream(token) << "old-token-1";
  auto o = Options(c.url());
  o.token_file = token.string();
  auto shipper = StartShipper(o);
  shipper->Ship(Batch(0));
  ASSERT_TRUE(c.WaitForRequests(1));
  std::ofstream(dir_ / "token.new") << "new-token-2";
  fs::rename(dir_ / "token.new", token);
  fs::last_write_time(token, fs::last_write_time(token) + std::chrono::seconds(5));
  shipper->Ship(Batch(1));
  shipper->Stop(milliseconds(10000));
  auto got = c.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].authorization, "Bearer old-token-1");
  EXPECT_EQ(got[1].authorization, "Bearer new-token-2");
}

TEST_F(ShipperTest, RetriesOn503AndKeepsOrder) {
  ScriptedCollector c;
  c.Script({{503, ""}, {503, ""}, {500, ""}});
  auto shipper = StartShipper(Options(c.url()));
  for (uint64_t i = 0; i < 4; ++i) shipper->Ship(Batch(i));
  shipper->Stop(milliseconds(15000));
  EXPECT_EQ(c.delivered(), (std::vector<uint64_t>{0, 1, 2, 3}));
  auto st = shipper->stats();
  EXPECT_EQ(st.batches_shipped, 4u);
  EXPECT_EQ(st.send_failures, 3u);
  EXPECT_GE(st.batches_spooled, 1u);
  EXPECT_EQ(st.spool_batches, 0u);
  EXPECT_EQ(st.batches_rejected, 0u);
}

TEST_F(ShipperTest, HonoursRetryAfterOn429) {
  ScriptedCollector c;
  c.Script({{429, "1"}});
  auto shipper = StartShipper(Options(c.url()));
  shipper->Ship(Batch(0));
  shipper->Stop(milliseconds(15000));
  auto got = c.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].status, 429);
  EXPECT_EQ(got[1].status, 200);
  // The backoff alone is at most 200 ms; the second try waited for Retry-After: 1.
  EXPECT_GE(got[1].at - got[0].at, milliseconds(1000));
}

TEST_F(ShipperTest, DropsBatchesRefusedWith4xxWithoutRetrying) {
  ScriptedCollector c;
  c.Script({{400, ""}, {413, ""}, {404, ""}});
  auto shipper = StartShipper(Options(c.url()));
  for (uint64_t i = 0; i < 4; ++i) shipper->Ship(Batch(i));
  shipper->Stop(milliseconds(10000));
  auto got = c.received();
  ASSERT_EQ(got.size(), 4u);  // one request per batch: nothing retried
  EXPECT_EQ(c.delivered(), (std::vector<uint64_t>{3}));
  auto st = shipper->stats();
  EXPECT_EQ(st.batches_rejected, 3u);
  EXPECT_EQ(st.batches_shipped, 1u);
  EXPECT_EQ(st.send_failures, 0u);
}

TEST_F(ShipperTest, KeepsBatchesRefusedWith401Or403UntilTheTokenIsRotated) {
  ScriptedCollector c;
  c.RequireToken("new-token-2");  // the collector was given the new token first
  std::ofstream(dir_ / "token") << "old-token-1\n";
  auto o = Options(c.url());
  o.token_file = (dir_ / "token").string();
  auto shipper = StartShipper(o);
  for (uint64_t i = 0; i < 3; ++i) shipper->Ship(Batch(i));
  ASSERT_TRUE(c.WaitForRequests(3));  // 401s, retried with backoff
  EXPECT_TRUE(c.delivered().empty());
  EXPECT_GE(shipper->stats().batches_unauthorized, 1u);
  EXPECT_EQ(shipper->stats().batches_rejected, 0u);
  // The agent's secret is rotated too: the spooled batches go out, in order.
  {
    std::ofstream(dir_ / "token.tmp") << "new-token-2\n";
    fs::rename(dir_ / "token.tmp", dir_ / "token");
  }
  for (int i = 0; i < 2000 && c.delivered().size() < 3; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  shipper->Ship(Batch(3));
  shipper->Stop(milliseconds(10000));
  EXPECT_EQ(c.delivered(), (std::vector<uint64_t>{0, 1, 2, 3}));
  auto st = shipper->stats();
  EXPECT_EQ(st.batches_rejected, 0u);
  EXPECT_EQ(st.batches_shipped, 4u);
  EXPECT_GE(st.batches_unauthorized, 1u);
}

TEST_F(ShipperTest, SpoolsWhileUnreachableAndReplaysInOrderInTheNextProcess) {
  auto o = Options(DeadUrl());
  {
    auto shipper = StartShipper(o);
    for (uint64_t i = 0; i < 5; ++i) shipper->Ship(Batch(i));
    shipper->Stop(milliseconds(300));
    auto st = shipper->stats();
    EXPECT_EQ(st.batches_shipped, 0u);
    EXPECT_EQ(st.spool_batches, 5u);
    EXPECT_GT(st.spool_bytes, 0u);
  }
  // The collector is back; a new agent process replays the spool before its own batches.
  ScriptedCollector c;
  o.collector_url = c.url();
  auto shipper = StartShipper(o);
  shipper->Ship(Batch(5));
  shipper->Ship(Batch(6));
  shipper->Stop(milliseconds(10000));
  EXPECT_EQ(c.delivered(), (std::vector<uint64_t>{0, 1, 2, 3, 4, 5, 6}));
  auto st = shipper->stats();
  EXPECT_EQ(st.batches_shipped, 7u);
  // 5 and 6 queued up behind the spool, so they were delivered from it too.
  EXPECT_GE(st.batches_replayed, 5u);
  EXPECT_EQ(st.spool_batches, 0u);
  EXPECT_EQ(st.spool_bytes, 0u);
}

TEST_F(ShipperTest, SpoolCapDropsOldestWhileUnreachable) {
  auto o = Options(DeadUrl());
  // Each batch is a few hundred bytes gzipped: a 1500-byte cap holds only a few.
  o.spool_max_bytes = 1500;
  auto shipper = StartShipper(o);
  for (uint64_t i = 0; i < 30; ++i) shipper->Ship(Batch(i));
  shipper->Stop(milliseconds(300));
  auto st = shipper->stats();
  EXPECT_GT(st.batches_dropped_spool, 0u);
  EXPECT_LE(st.spool_bytes, 1500u);
  EXPECT_EQ(st.spool_batches + st.batches_dropped_spool + st.batches_dropped_queue, 30u);

  ScriptedCollector c;
  o.collector_url = c.url();
  auto again = StartShipper(o);
  again->Stop(milliseconds(10000));
  auto delivered = c.delivered();
  ASSERT_EQ(delivered.size(), st.spool_batches);
  // What survived is the newest, still in order.
  for (size_t i = 0; i < delivered.size(); ++i) {
    EXPECT_EQ(delivered[i], 30 - delivered.size() + i);
  }
}

TEST_F(ShipperTest, ShipNeverBlocksAndDropsOldestWhenQueueIsFull) {
  ScriptedCollector c;
  c.Hold(true);
  auto o = Options(c.url());
  o.queue_capacity = 3;
  auto shipper = StartShipper(o);
  shipper->Ship(Batch(0));
  ASSERT_TRUE(c.WaitForHeld());  // the shipper thread is stuck in a send
  EXPECT_TRUE(shipper->Ship(Batch(1)));
  EXPECT_TRUE(shipper->Ship(Batch(2)));
  EXPECT_TRUE(shipper->Ship(Batch(3)));
  EXPECT_FALSE(shipper->Ship(Batch(4)));  // drops 1
  EXPECT_FALSE(shipper->Ship(Batch(5)));  // drops 2
  EXPECT_EQ(shipper->stats().batches_dropped_queue, 2u);
  c.Hold(false);
  shipper->Stop(milliseconds(10000));
  EXPECT_EQ(c.delivered(), (std::vector<uint64_t>{0, 3, 4, 5}));
}

TEST_F(ShipperTest, StopSpoolsWhatItCannotDeliverByTheDeadline) {
  ScriptedCollector c;
  c.Hold(true);
  auto shipper = StartShipper(Options(c.url()));
  shipper->Ship(Batch(0));
  ASSERT_TRUE(c.WaitForHeld());
  shipper->Ship(Batch(1));
  shipper->Stop(milliseconds(300));  // the held send is cancelled, both batches spooled
  c.Hold(false);
  auto st = shipper->stats();
  EXPECT_EQ(st.spool_batches, 2u);
  EXPECT_EQ(st.batches_shipped, 0u);
}

TEST_F(ShipperTest, RefusesABadCollectorUrl) {
  auto o = Options("collector:8080");
  auto s = Shipper::Start(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("collector:8080"), std::string::npos);
}

}  // namespace
}  // namespace jostle::agent
