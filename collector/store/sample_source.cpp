// SampleSource's default SampleCounters and CheckSampleRanges.
#include "collector/store/sample_source.h"

#include <string>

namespace jostle::collector {

Status CheckSampleRanges(const std::vector<std::pair<int64_t, int64_t>>& ranges) {
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (ranges[i].first > ranges[i].second) {
      return Status::InvalidArgument("sample range " + std::to_string(i) + " ends (" +
                                     std::to_string(ranges[i].second) + ") before it starts (" +
                                     std::to_string(ranges[i].first) + ")");
    }
    if (i > 0 && ranges[i].first <= ranges[i - 1].second) {
      return Status::InvalidArgument("sample range " + std::to_string(i) +
                                     " is out of order or overlaps the one before it");
    }
  }
  return Status::Ok();
}

Result<SampleFrame> SampleSource::SampleCounters(
    std::string_view node, const std::vector<std::pair<int64_t, int64_t>>& ranges,
    const FrameRead& read) {
  JOSTLE_RETURN_IF_ERROR(CheckSampleRanges(ranges));
  SampleFrameBuilder builder;
  for (const auto& [from, to] : ranges) {
    auto got = Samples(node, from, to);
    if (!got.ok()) return got.status();
    if (read.ticks == RangeRead::kFirstTick && got->size() > 1) got->resize(1);
    for (Sample& s : *got) {
      if (read.cgroup_fields == CgroupFields::kCpuUsage) {
        for (CgroupSample& c : s.cgroups) {
          CgroupSample narrow;
          narrow.scope = c.scope;
          narrow.id = std::move(c.id);
          narrow.path = std::move(c.path);
          narrow.pod_uid = std::move(c.pod_uid);
          narrow.container_id = std::move(c.container_id);
          narrow.namespace_name = std::move(c.namespace_name);
          narrow.pod_name = std::move(c.pod_name);
          narrow.container_name = std::move(c.container_name);
          narrow.qos = std::move(c.qos);
          narrow.labels = std::move(c.labels);
          narrow.host_network = c.host_network;
          narrow.cpu_usage_us = c.cpu_usage_us;
          c = std::move(narrow);
        }
      }
      builder.Add(std::move(s));
    }
  }
  return builder.Take();
}

}  // namespace jostle::collector
