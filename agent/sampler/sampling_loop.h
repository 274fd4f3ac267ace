// The one sampling loop: ticks of a Sampler grouped into batches for a BatchSink. jostle-agent
// gives it its outputs (--output, the tick journal, the shipper) as one sink; any other
// consumer of batches (a store, remote-write) is another sink.
#pragma once

#include <cstddef>
#include <functional>

#include "agent/sampler/sampler.h"
#include "jostle/sample.h"
#include "jostle/status.h"

namespace jostle::agent {

// Where a SamplingLoop's batches go, a tick at a time: Begin, Add for each tick, End. Called
// on the sampling thread only.
class BatchSink {
 public:
  virtual ~BatchSink() = default;
  // A batch starts: `head` has its identity (node, boot id, agent start, seq) and the host
  // facts, and no samples. An error drops the batch's ticks (each is reported by Add).
  virtual Status Begin(const SampleBatch& head) = 0;
  // The next tick of the batch begun last.
  virtual Status Add(const Sample& sample) = 0;
  // The batch begun last is complete; it has at least one sample.
  virtual void End() = 0;
};

class SamplingLoop {
 public:
  // A step run on each tick's sample after the sampler's reading and before the sink sees
  // it: series the sampler does not read (`jostle run`'s process tree).
  using Extend = std::function<void(Sample&)>;

  // `sink` may be null (only /metrics wants the samples); the others must outlive the loop.
  // A batch ends after `batch_ticks` samples (at least 1).
  SamplingLoop(Sampler& sampler, BatchAssembler& batches, int batch_ticks, BatchSink* sink,
               Extend extend = {})
      : sampler_(sampler),
        batches_(batches),
        batch_ticks_(batch_ticks),
        sink_(sink),
        extend_(std::move(extend)) {}

  // Takes one sample into `out` (reusing its cgroup samples: Sampler::Tick(Sample&); with an
  // Extend step, pass a fresh Sample, as the step's series are not the sampler's), extends
  // it and adds it to the current batch, which ends once it holds batch_ticks samples.
  // Returns the seconds the reading took. Errors of the sink are logged; the loop goes on.
  double Tick(Sample& out);
  // Ends the current batch if it has samples (at shutdown, after --once's readings).
  void Flush();

  size_t pending_samples() const { return samples_; }

 private:
  Sampler& sampler_;
  BatchAssembler& batches_;
  int batch_ticks_;
  BatchSink* sink_;
  Extend extend_;
  bool begun_ = false;  // a batch is begun and not ended
  size_t samples_ = 0;  // samples added to it
};

}  // namespace jostle::agent
