#pragma once

namespace jostle {
inline constexpr const char* kVersion = "0.1.0";
// Version of the SampleBatch wire format; bumped on incompatible change.
inline constexpr int kWireVersion = 1;
}  // namespace jostle
