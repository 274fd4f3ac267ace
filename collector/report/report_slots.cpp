#include "collector/report/report_slots.h"

#include <algorithm>

namespace jostle::collector {

ReportSlots::ReportSlots(int slots) : capacity_(std::max(1, slots)) {}

ReportSlots::Slot ReportSlots::Take() {
  ++state_->in_use;
  std::shared_ptr<State> state = state_;
  return Slot(static_cast<void*>(state.get()), [state](void*) {
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

int ReportSlots::in_use() const {
  std::lock_guard lock(state_->mu);
  return state_->in_use;
}

}  // namespace jostle::collector
