// AlertLog: the store's role for the webhook delivery log (backs alerts::AlertStateStore, so
// "once per run" and the cooldown survive restarts, and GET /api/v1/alerts lists every
// delivery). The SQLite implementation is sqlite_alert_log.cpp.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jostle/status.h"

namespace jostle::collector {

// One webhook delivery (RecordAlert / ListAlerts). Mirrors alerts::DeliveryResult.
struct AlertRecord {
  int64_t id = 0;  // store's row id (ignored by RecordAlert)
  std::string run;
  std::string job;
  std::string cooldown_key;  // "job:<job>" or "run:<run>"
  std::string target;        // the masked URL (no tokens, no query)
  std::string target_key;    // tells targets on one host apart
  bool delivered = false;    // a 2xx answer was received
  int status = 0;            // last HTTP status; 0 when none
  int attempts = 0;
  std::string error;  // empty when delivered
  int64_t at_ns = 0;  // wall clock of the first attempt, ns since the Unix epoch
};

class AlertLog {
 public:
  virtual ~AlertLog() = default;

  virtual Status RecordAlert(const AlertRecord& alert) = 0;
  // Newest first, at most `limit`.
  virtual Result<std::vector<AlertRecord>> ListAlerts(int limit) = 0;
  // Whether a delivery of `run` to `target_key` succeeded.
  virtual Result<bool> WasRunAlerted(std::string_view run, std::string_view target_key) = 0;
  // at_ns of the last successful delivery for `cooldown_key` to `target_key`.
  virtual Result<std::optional<int64_t>> LastAlertAt(std::string_view cooldown_key,
                                                     std::string_view target_key) = 0;
  // Deletes deliveries older than `before_ns`; returns rows deleted.
  virtual Result<int64_t> Prune(int64_t before_ns) = 0;
};

}  // namespace jostle::collector
