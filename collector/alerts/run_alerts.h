// Alerts of one judged CI run, between the attribution's RunReport and the alerts module:
//   FactsFromReport  what an alert says about a run (pure);
//   SendRunAlerts    one synchronous evaluation and delivery per target, for `jostle run`;
//   StoreAlertState  the AlertStateStore kept in the store's AlertLog, so "once per run" and
//                    the cooldown survive restarts and GET /api/v1/alerts lists every delivery.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/alerts/dispatcher.h"
#include "collector/alerts/rules.h"
#include "collector/alerts/webhook_sender.h"
#include "collector/attribution/run_report.h"
#include "collector/store/alert_log.h"
#include "jostle/status.h"

namespace jostle::collector {

// The facts of `report` for an alert: every failed test (flaky tests that passed on a rerun
// are not failures) counted by verdict, and the failures with verdict contention or
// contention-possible listed with resource, top culprit ("ns/pod", "ns", a cgroup path or
// "own-limit"), node and pod. `job` and `report_url` are copied as given (may be empty).
alerts::AlertFacts FactsFromReport(const RunReport& report, std::string_view job,
                                   std::string_view report_url);

// The job of the run's failed tests when they all name the same one, else "" (the cooldown
// is then keyed by run).
std::string RunJob(const RunReport& report);

struct RunAlertOptions {
  std::string job;         // empty: RunJob(report)
  std::string report_url;  // link put in the payloads; empty: none
  alerts::DeliveryPolicy policy;
};

// Evaluates `rules` for every target and delivers to those that pass, one after another, over
// HTTP (HttpWebhookSender with options.policy): blocks at most targets x policy.deadline
// (plus one connect + request timeout each). Every delivery is recorded in `state`. Returns
// one line per target, e.g.
//   "alert delivered to http://127.0.0.1:9000/... (HTTP 200, 1 attempt, 12 ms)"
//   "alert not delivered to https://hooks.slack.com/... (HTTP 500, 4 attempts): <why>"
//   "alert skipped for http://127.0.0.1:9000/...: 0 failures match (need 1)"
// URLs are masked (MaskUrl). No targets: no lines.
std::vector<std::string> SendRunAlerts(const RunReport& report,
                                       const std::vector<alerts::WebhookTarget>& targets,
                                       const AlertRules& rules, alerts::AlertStateStore& state,
                                       const RunAlertOptions& options = {});

// alerts::AlertStateStore over the store's AlertLog (seconds here, ns in the store). Every
// RecordDelivery becomes one AlertRecord (delivered or not); WasRunAlerted / LastAlertAt
// read the delivered ones. Thread-safe as the AlertLog is. `store` must outlive this object.
class StoreAlertState final : public alerts::AlertStateStore {
 public:
  explicit StoreAlertState(AlertLog& store) : store_(store) {}
  Result<bool> WasRunAlerted(const std::string& run, const std::string& target_key) override;
  Result<std::optional<int64_t>> LastAlertAt(const std::string& cooldown_key,
                                             const std::string& target_key) override;
  Status RecordDelivery(const alerts::DeliveryResult& result, const std::string& cooldown_key,
                        int64_t at_s) override;

 private:
  AlertLog& store_;
};

}  // namespace jostle::collector
