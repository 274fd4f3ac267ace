#include "collector/report/report_slots.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>

namespace jostle::collector {

ReportSlots::ReportSlots(int slots) : capacity_(std::max(1, slots)) {}

ReportSlots::Slot ReportSlots::Take() {
  ++state_->in_use;
  std::shared_ptr<State> state = state_;
  return Slot(static_cast<void*>(state.get()), [state](void*) {
    ReleaseFreeMemory();  // what the report held
    {
      std::lock_guard lock(state->mu);
      --state->in_use;
    }
    state->cv.notify_one();
  });
}

ReportSlots::Slot ReportSlots::TryAcquire() {
  std::lock_guard lock(state_->mu);
  if (state_->in_use >= capacity_) return nullptr;
  return Take();
}

ReportSlots::Slot ReportSlots::Acquire(std::stop_token stop) {
  std::unique_lock lock(state_->mu);
  if (!state_->cv.wait(lock, stop, [this] { return state_->in_use < capacity_; })) return nullptr;
  return Take();
}

Result<SharedReports::Report> SharedReports::Get(const std::string& key, const Build& build) {
  std::unique_lock lock(mu_);
  if (auto it = building_.find(key); it != building_.end()) {
    std::shared_future<Result<Report>> pending = it->second;
    lock.unlock();
    return pending.get();
  }
  std::promise<Result<Report>> promise;
  building_.emplace(key, promise.get_future().share());
  lock.unlock();
  Result<Report> result = Status::Internal("report of " + key + " not built");
  try {
    Result<RunReport> built = build();
    if (built.ok()) {
      result = Report(std::make_shared<const RunReport>(std::move(*built)));
    } else {
      result = built.status();
    }
  } catch (const std::exception& e) {
    result = Status::Internal("building the report of " + key + ": " + e.what());
  }
  lock.lock();
  building_.erase(key);
  lock.unlock();
  promise.set_value(result);
  return result;
}

void ReleaseFreeMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

int ReportSlots::in_use() const {
  std::lock_guard lock(state_->mu);
  return state_->in_use;
}

}  // namespace jostle::collector
