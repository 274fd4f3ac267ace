#include "agent/shipper/batch_line.h"

#include <string>
#include <string_view>
#include <utility>

#include "jostle/wire.h"

namespace jostle::agent {

namespace {

constexpr std::string_view kTail = "]}";

}  // namespace

Status WriteBatchLine(SampleBatch& batch, std::string& scratch,
                      const std::function<Status(std::string_view)>& write) {
  // The batch with no samples is the shared head ending in "[]}"; a batch of one sample is
  // that head without "]}", the sample, and "]}". Both are checked, not assumed.
  SampleBatch one;
  one.wire_version = batch.wire_version;
  one.node = batch.node;
  one.boot_id = batch.boot_id;
  one.agent_start_ns = batch.agent_start_ns;
  one.seq = batch.seq;
  one.agent_version = batch.agent_version;
  one.interval_ns = batch.interval_ns;
  one.host = batch.host;
  std::string head = EncodeBatch(one);
  bool shaped = head.size() >= 3 && head.ends_with("[]}");
  if (shaped) head.resize(head.size() - kTail.size());
  // Each sample is encoded alone (moved into `one` and back), then cut out of its
  // one-sample batch.
  one.samples.resize(1);
  for (size_t i = 0; shaped && i < batch.samples.size(); ++i) {
    std::swap(one.samples[0], batch.samples[i]);
    scratch = EncodeBatch(one);
    std::swap(one.samples[0], batch.samples[i]);
    shaped = scratch.size() > head.size() + kTail.size() && scratch.starts_with(head) &&
             scratch.ends_with(kTail);
    if (!shaped && i > 0) {
      return Status::Internal("batch line: sample " + std::to_string(i) +
                              " encodes with a different head than the first");
    }
    if (!shaped) break;
    if (i == 0) {
      JOSTLE_RETURN_IF_ERROR(write(head));
    } else {
      JOSTLE_RETURN_IF_ERROR(write(","));
    }
    JOSTLE_RETURN_IF_ERROR(write(std::string_view(scratch).substr(
        head.size(), scratch.size() - head.size() - kTail.size())));
    if (i + 1 == batch.samples.size()) return write("]}\n");
  }
  if (shaped && batch.samples.empty()) {
    head += "]}\n";
    return write(head);
  }
  // Not shaped as expected (nothing written yet).
  scratch = EncodeBatch(batch);
  scratch += '\n';
  return write(scratch);
}

}  // namespace jostle::agent
