#pragma once

namespace jostle {
inline constexpr const char* kVersion = "0.1.0";
// Version of the SampleBatch wire format the agent writes; bumped on incompatible change.
// 2 added series references (jostle/sample.h). The collector reads every version from
// kOldestWireVersion to kWireVersion, so batches spooled by an older agent still land.
inline constexpr int kWireVersion = 2;
inline constexpr int kOldestWireVersion = 1;
}  // namespace jostle
