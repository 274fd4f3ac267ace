// The JSON of the CI analytics (GET /api/v1/ci-metrics, /api/v1/tests/flaky, `jostle stats`),
// one form for the API and the CLI; the names are documented in read_routes.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "collector/store/ci_analytics.h"

namespace jostle::collector {

// An RFC 3339 UTC time, or null.
nlohmann::json TimeOrNull(const std::optional<int64_t>& ns);
// The string, or null when empty.
nlohmann::json StringOrNull(const std::string& s);

nlohmann::json CiMetricsJson(const CiMetrics& metrics, const MetricsFilter& filter);
nlohmann::json FlakyTestsJson(const std::vector<FlakyTest>& flaky, const MetricsFilter& filter);

}  // namespace jostle::collector
