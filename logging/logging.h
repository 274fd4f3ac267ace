// Logging set-up shared by jostle-agent, jostle-collector and the jostle CLI: spdlog to
// stderr, human-readable by default or one JSON object per line.
#pragma once

#include <string>

#include "jostle/status.h"

namespace jostle::logging {

struct LogOptions {
  std::string level = "info";   // trace, debug, info, warn, error, off
  bool json = false;            // {"ts":..,"level":..,"logger":..,"msg":..} per line
  std::string name = "jostle";  // the logger name printed in each line
};

// Installs the default logger. InvalidArgument for an unknown level.
Status SetupLogging(const LogOptions& options);

// Escapes a string for inclusion in a JSON string literal (no surrounding quotes), as
// jostle::AppendJsonEscaped does (ill-formed UTF-8 becomes U+FFFD).
std::string JsonEscape(std::string_view s);

}  // namespace jostle::logging
