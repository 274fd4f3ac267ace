#include "agent/procfs/kept_file.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>

namespace jostle::agent {

namespace {

// max_open within half of the soft RLIMIT_NOFILE, raising the soft limit first when asked.
size_t DescriptorLimit(size_t max_open, bool raise_limit) {
  if (max_open == 0) return 0;
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return std::min<size_t>(max_open, 256);
  auto half = [](rlim_t v) { return v == RLIM_INFINITY ? SIZE_MAX : static_cast<size_t>(v / 2); };
  if (half(rl.rlim_cur) < max_open && raise_limit && rl.rlim_cur != rl.rlim_max) {
    rlim_t target = static_cast<rlim_t>(max_open) * 2;
    if (rl.rlim_max != RLIM_INFINITY && target > rl.rlim_max) target = rl.rlim_max;
    if (target > rl.rlim_cur) {
      struct rlimit raised = {target, rl.rlim_max};
      if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
        spdlog::info("raised the soft RLIMIT_NOFILE from {} to {} to keep up to {} files open",
                     static_cast<uint64_t>(rl.rlim_cur), static_cast<uint64_t>(target), max_open);
        rl.rlim_cur = target;
      }
    }
  }
  return std::min(max_open, half(rl.rlim_cur));
}

}  // namespace

std::shared_ptr<KeptFileBudget> KeptFileBudget::Create(size_t max_open, bool raise_limit) {
  return std::make_shared<KeptFileBudget>(DescriptorLimit(max_open, raise_limit));
}

void KeptFileBudget::AddEveryTickDemand(ptrdiff_t delta) {
  if (delta < 0 && static_cast<size_t>(-delta) > every_tick_demand_) {
    every_tick_demand_ = 0;
  } else {
    every_tick_demand_ = static_cast<size_t>(static_cast<ptrdiff_t>(every_tick_demand_) + delta);
  }
}

size_t KeptFileBudget::periodic_limit() const {
  return std::min(limit_ / 4 * 3, limit_ > every_tick_demand_ ? limit_ - every_tick_demand_ : 0);
}

bool KeptFileBudget::HasRoom(ReadRate rate) const {
  if (open_ >= limit_) return false;
  switch (rate) {
    case ReadRate::kEveryTick:
      return true;
    case ReadRate::kPeriodic:
      return open_periodic_ < periodic_limit();
    case ReadRate::kRare:
      return false;
  }
  return false;
}

void KeptFileBudget::Opened(ReadRate rate) {
  ++open_;
  if (rate == ReadRate::kPeriodic) ++open_periodic_;
}

void KeptFileBudget::Closed(ReadRate rate) {
  --open_;
  if (rate == ReadRate::kPeriodic) --open_periodic_;
}

void KeptFile::Close(KeptFileBudget& budget) {
  if (state_ == State::kOpen) {
    file_ = OpenFile();
    budget.Closed(rate_);
  }
  state_ = State::kUnopened;
}

}  // namespace jostle::agent
