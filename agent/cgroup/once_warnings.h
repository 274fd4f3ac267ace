// Warnings the cgroup sampler logs once per kind for its whole life, never once per tick.
#pragma once

#include <spdlog/spdlog.h>

#include <set>
#include <string>

#include "jostle/status.h"

namespace jostle::agent {

class OnceWarnings {
 public:
  // Logs "cgroup sampler: <message>" the first time `kind` is warned about.
  void Warn(const std::string& kind, const std::string& message) {
    if (warned_.insert(kind).second) spdlog::warn("cgroup sampler: {}", message);
  }

 private:
  std::set<std::string> warned_;
};

// An open() failed with EMFILE (KeptFile::Read's on_exhausted).
inline void WarnOpenFilesExhausted(OnceWarnings& warnings, const Status& status) {
  warnings.Warn("emfile", status.ToString() +
                              "; further cgroup files are read by open/read/close on each tick");
}

}  // namespace jostle::agent
