// How many run reports are built and rendered at once. A report can hold a large run in
// memory while it is written, so the report route and the alert scheduler share one
// ReportSlots: the route answers 503 (with Retry-After) when every slot is taken, the
// scheduler waits for one. Thread-safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>

#include "collector/attribution/run_report.h"
#include "jostle/status.h"

namespace jostle::collector {

class ReportSlots {
 public:
  // Held while a report is built and written; the slot is free again once the last copy
  // of the handle is gone.
  using Slot = std::shared_ptr<void>;

  explicit ReportSlots(int slots);
  ReportSlots(const ReportSlots&) = delete;
  ReportSlots& operator=(const ReportSlots&) = delete;

  // A slot, or null when every one is taken.
  Slot TryAcquire();
  // Waits for a slot; null when `stop` is requested first.
  Slot Acquire(std::stop_token stop);

  int capacity() const { return capacity_; }
  int in_use() const;

 private:
  Slot Take();  // mu_ held, a slot free

  const int capacity_;
  // Shared with the handles: one released after the ReportSlots is gone does no harm.
  struct State {
    std::mutex mu;
    std::condition_variable_any cv;
    int in_use = 0;  // guarded by mu
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

// Requests for the report of one run that arrive while it is being built share that build:
// the first caller builds, the others wait for its result, so N concurrent requests of a
// large run hold one RunReport, not N. Nothing is kept once the build is done: later
// requests build again. Thread-safe.
class SharedReports {
 public:
  using Report = std::shared_ptr<const RunReport>;
  using Build = std::function<Result<RunReport>()>;

  // The result of `build` for `key`, built by this call or by a concurrent one for `key`.
  Result<Report> Get(const std::string& key, const Build& build);

 private:
  std::mutex mu_;  // guards building_
  std::map<std::string, std::shared_future<Result<Report>>> building_;
};

// Hands free heap memory back to the system (glibc's malloc_trim; nothing elsewhere), so
// that the peak of one large report or upload does not stay in the process's RSS.
void ReleaseFreeMemory();

}  // namespace jostle::collector
