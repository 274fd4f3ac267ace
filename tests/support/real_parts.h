// Skipping a test because a real part it needs (a Debian package, writable cgroups, a
// browser, root) is missing on this machine. On a contributor's laptop that is a skip with
// the reason; in CI (`.ci/run` sets JOSTLE_REQUIRE_REAL=1) it is a failure, so a missing
// part can never turn a check into a silent pass. Header-only test support.
//
//   if (!HaveStressNg()) JOSTLE_SKIP_MISSING_REAL("stress-ng is not installed");
//   JOSTLE_SKIP_MISSING_REAL("cannot create cgroup " << dir << ": " << err);
//
// Use it only for missing parts; a skip for another reason (the machine was not quiet
// enough for a valid baseline) stays a plain GTEST_SKIP.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

namespace jostle::testing {

// JOSTLE_REQUIRE_REAL is set to anything but "" or "0".
inline bool RequireRealParts() {
  const char* v = std::getenv("JOSTLE_REQUIRE_REAL");
  return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
}

}  // namespace jostle::testing

// Returns from the calling test body or SetUp (void functions), as GTEST_SKIP does.
#define JOSTLE_SKIP_MISSING_REAL(reason)                                                      \
  do {                                                                                        \
    std::ostringstream jostle_missing_real_reason_;                                           \
    jostle_missing_real_reason_ << reason;                                                    \
    if (::jostle::testing::RequireRealParts()) {                                              \
      GTEST_FAIL() << "a real part this test needs is missing (JOSTLE_REQUIRE_REAL is set): " \
                   << jostle_missing_real_reason_.str();                                      \
    } else {                                                                                  \
      GTEST_SKIP() << jostle_missing_real_reason_.str();                                      \
    }                                                                                         \
  } while (0)
