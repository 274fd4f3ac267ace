#include "agent/sampler/sampling_loop.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace jostle::agent {

double SamplingLoop::Tick(Sample& out) {
  const auto start = std::chrono::steady_clock::now();
  sampler_.Tick(out);
  if (extend_) extend_(out);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (sink_ == nullptr) return took;
  Status added = Status::Ok();
  if (!begun_) {
    added = sink_->Begin(batches_.Make({}, sampler_.HostFacts()));
    begun_ = added.ok();  // else the next tick begins a batch again
  }
  if (added.ok()) added = sink_->Add(out);
  if (added.ok()) {
    ++samples_;
  } else {
    spdlog::error("sample dropped from its batch: {}", added.ToString());
  }
  if (static_cast<int>(samples_) >= batch_ticks_) Flush();
  return took;
}

void SamplingLoop::Flush() {
  if (!begun_ || samples_ == 0) return;
  sink_->End();
  begun_ = false;
  samples_ = 0;
}

}  // namespace jostle::agent
