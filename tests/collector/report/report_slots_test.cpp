// ReportSlots and SharedReports with real threads.
#include "collector/report/report_slots.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace jostle::collector {
namespace {

bool PollFor(const std::function<bool()>& done) {
  for (int i = 0; i < 2000 && !done(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

TEST(ReportSlotsTest, TryAcquireRefusesWhenFullAndAcquireWaitsForARelease) {
  ReportSlots slots(2);
  ReportSlots::Slot a = slots.TryAcquire(), b = slots.TryAcquire();
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(slots.TryAcquire());
  EXPECT_EQ(slots.in_use(), 2);
  std::stop_source stop;
  auto waiter = std::async(std::launch::async, [&] { return slots.Acquire(stop.get_token()); });
  EXPECT_EQ(waiter.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  ReportSlots::Slot copy = a;
  a.reset();
  EXPECT_EQ(slots.in_use(), 2) << "a copy still holds it";
  copy.reset();
  ReportSlots::Slot c = waiter.get();
  EXPECT_TRUE(c);
  // A stop request ends a wait with no slot.
  auto stopped = std::async(std::launch::async, [&] { return slots.Acquire(stop.get_token()); });
  stop.request_stop();
  EXPECT_FALSE(stopped.get());
}

TEST(SharedReportsTest, ConcurrentRequestsOfOneRunShareOneBuild) {
  SharedReports shared;
  std::atomic<int> builds{0};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto build = [&]() -> Result<RunReport> {
    ++builds;
    released.wait();
    RunReport r;
    r.run = "r1";
    return r;
  };
  auto first = std::async(std::launch::async, [&] { return shared.Get("r1", build); });
  ASSERT_TRUE(PollFor([&] { return builds.load() == 1; }));
  auto second = std::async(std::launch::async, [&] { return shared.Get("r1", build); });
  auto other = std::async(std::launch::async, [&] { return shared.Get("r2", build); });
  ASSERT_TRUE(PollFor([&] { return builds.load() == 2; }));  // r2 builds on its own
  release.set_value();
  auto a = first.get(), b = second.get(), c = other.get();
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_NE(a->get(), c->get());
  EXPECT_EQ(builds.load(), 2);
  // Done builds are not kept: the next request builds again; errors are shared too.
  auto again = shared.Get("r1", [] { return Result<RunReport>(Status::NotFound("gone")); });
  EXPECT_EQ(again.status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace jostle::collector
