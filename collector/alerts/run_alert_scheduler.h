// The collector's alert path: after results of a run are stored, wait until the agents'
// samples cover the run's tests, judge the run (BuildRunReport), and hand its facts to an
// AsyncAlertDispatcher that delivers to each target on that target's own thread. Nothing
// here runs on the request thread except OnResults, which only records the run and returns.
//
// When a run is judged: at least `min_delay` after its last upload (uploads of several jobs
// of one run are judged together), and once every node its tests ran on has a sample at or
// after the last test end there + `sample_margin` (nodes without any sample are not waited
// for), or once `max_wait` has passed since its first upload, whichever comes first. A run
// without failed tests is not judged at all. Without targets runs are judged for `on_judged`
// only (the collector's failure metrics) and nothing is sent. "Once per run per target" and the
// cooldown hold across repeated uploads and restarts: the state is StoreAlertState over the
// store's AlertLog.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "collector/alerts/dispatcher.h"
#include "collector/alerts/run_alerts.h"
#include "collector/alerts/webhook_sender.h"
#include "collector/attribution/config.h"
#include "collector/attribution/run_report.h"
#include "collector/report/report_slots.h"
#include "collector/store/stores.h"
#include "jostle/status.h"

namespace jostle::collector {

struct RunAlertSchedulerOptions {
  std::vector<alerts::WebhookTarget> targets;  // may be empty when on_judged is set
  AttributionConfig config;                    // for BuildRunReport; config.alerts = the rules
  // Shared with the report route: a run is judged holding one of its slots (waiting for
  // one), so judging and report requests together build at most its capacity at once.
  // Null: no bound. Must outlive the scheduler.
  ReportSlots* report_slots = nullptr;
  // Base URL under which this collector is reachable; report links in payloads are
  // "<public_url>/api/v1/runs/<run>/report?format=html". Empty: no link.
  std::string public_url;
  std::chrono::milliseconds min_delay{5000};
  std::chrono::milliseconds max_wait{120000};
  // How often a run whose samples have not caught up is looked at again.
  std::chrono::milliseconds recheck{1000};
  // Samples needed past the last test end on a node; negative: the window padding
  // (config.window.padding_intervals + 1) x config.window.default_interval_s.
  std::chrono::milliseconds sample_margin{-1};
  alerts::DeliveryPolicy policy;
  size_t max_pending = 1000;  // runs waiting to be judged; more are dropped with a warning
  // Called with every judged run's report, on the scheduler's thread, before its alert is
  // queued; must not block. A run uploaded again is judged (and reported) again.
  std::function<void(const RunReport&)> on_judged;
  // Called with every finished delivery, on the delivery thread; must not block.
  std::function<void(const alerts::DeliveryResult&)> on_delivery;
};

// The report link of `run` under `public_url` ("" when public_url is empty).
std::string ReportUrl(std::string_view public_url, std::string_view run);

class RunAlertScheduler {
 public:
  // `store` must outlive the scheduler. InvalidArgument without targets and on_judged.
  static Result<std::unique_ptr<RunAlertScheduler>> Create(Stores& store,
                                                           RunAlertSchedulerOptions options);
  ~RunAlertScheduler();  // Stop(0)
  RunAlertScheduler(const RunAlertScheduler&) = delete;
  RunAlertScheduler& operator=(const RunAlertScheduler&) = delete;

  // Results of `run` were stored. Never blocks on the store or the network; thread-safe.
  void OnResults(const std::string& run);

  // Waits until no run is waiting, being judged or being delivered; false after `timeout`.
  bool WaitIdle(std::chrono::milliseconds timeout);

  // How many times a run was looked at and left waiting because its samples had not caught
  // up yet (tests poll this instead of sleeping); thread-safe.
  uint64_t WaitingChecks();

  // Drops runs still waiting to be judged, lets queued deliveries go out until `deadline`,
  // then cancels the rest and joins both threads. Safe to call more than once.
  void Stop(std::chrono::milliseconds deadline);

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    Clock::time_point due;       // judge no earlier than this
    Clock::time_point deadline;  // judge at the latest at this (max_wait after first upload)
  };
  enum class Readiness { kReady, kWait, kNothingToJudge };

  RunAlertScheduler(Stores& store, RunAlertSchedulerOptions options);
  void Loop(std::stop_token stop);
  // Whether the run's samples cover its tests; kNothingToJudge without failed tests.
  Result<Readiness> CheckSamples(const std::string& run);
  void Judge(const std::string& run, std::stop_token stop);

  Stores& store_;
  const RunAlertSchedulerOptions options_;
  std::chrono::nanoseconds margin_{};
  StoreAlertState state_;
  alerts::HttpWebhookSender sender_;
  alerts::AlertDispatcher dispatcher_;
  alerts::AsyncAlertDispatcher async_;

  std::mutex mu_;
  std::condition_variable_any cv_;
  std::map<std::string, Pending> pending_;  // guarded by mu_
  bool judging_ = false;                    // guarded by mu_: the loop is judging a run
  bool stopped_ = false;                    // guarded by mu_
  uint64_t changes_ = 0;                    // guarded by mu_: bumped by OnResults
  uint64_t waiting_checks_ = 0;             // guarded by mu_
  std::jthread thread_;                     // runs Loop; last member, started last
};

}  // namespace jostle::collector
