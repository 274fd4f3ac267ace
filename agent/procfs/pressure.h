// Parser for pressure stall information: /proc/pressure/{cpu,memory,io} and the cgroup v2
// files cpu.pressure, memory.pressure, io.pressure. Same format in both places:
//   some avg10=0.74 avg60=14.65 avg300=8.44 total=48206029
//   full avg10=0.00 avg60=0.00 avg300=0.00 total=0
#pragma once

#include <string_view>

#include "jostle/sample.h"
#include "jostle/status.h"

namespace jostle::agent {

// Parses the text of a PSI file into cumulative totals (microseconds). The "some" line is
// required; the "full" line may be absent (the cpu file before Linux 5.13), leaving
// full_us nullopt. Other keys on a line (avg10...) and unknown lines are ignored.
Result<PsiTotals> ParsePressure(std::string_view text, std::string_view source);

}  // namespace jostle::agent
