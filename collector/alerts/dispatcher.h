// Deciding and sending the alerts of one run: AlertDispatcher (synchronous) and
// AsyncAlertDispatcher (own thread, for the collector's ingest path). The memory of what was
// already sent sits behind AlertStateStore so the collector can keep it in its store.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "collector/alerts/rules.h"
#include "collector/alerts/webhook_sender.h"
#include "jostle/status.h"

namespace jostle::collector::alerts {

// The memory of deliveries: every finished delivery is recorded (the delivery log), the
// successful ones answer WasRunAlerted / LastAlertAt. Implementations must be thread-safe.
class AlertStateStore {
 public:
  virtual ~AlertStateStore() = default;
  // Whether `run` was delivered to the target with `target_key`.
  virtual Result<bool> WasRunAlerted(const std::string& run, const std::string& target_key) = 0;
  // Unix seconds of the last delivery for `cooldown_key` (see CooldownKey) to the target.
  virtual Result<std::optional<int64_t>> LastAlertAt(const std::string& cooldown_key,
                                                     const std::string& target_key) = 0;
  // Records one finished delivery (delivered or not) of result.run to result.target_key,
  // made at unix second `at_s` under `cooldown_key`.
  virtual Status RecordDelivery(const DeliveryResult& result, const std::string& cooldown_key,
                                int64_t at_s) = 0;
};

// Process-lifetime state (jostle run, tests).
class InMemoryAlertState final : public AlertStateStore {
 public:
  Result<bool> WasRunAlerted(const std::string& run, const std::string& target_key) override;
  Result<std::optional<int64_t>> LastAlertAt(const std::string& cooldown_key,
                                             const std::string& target_key) override;
  // Remembers delivered results only; failed ones are not kept.
  Status RecordDelivery(const DeliveryResult& result, const std::string& cooldown_key,
                        int64_t at_s) override;

 private:
  std::mutex mu_;
  // Both guarded by mu_. Keys are (run or cooldown key, target key).
  std::map<std::pair<std::string, std::string>, int64_t> runs_;
  std::map<std::pair<std::string, std::string>, int64_t> cooldown_;
};

// Unix seconds now; injectable so cooldown tests need no sleeping.
using UnixClock = std::function<int64_t()>;
int64_t SystemUnixSeconds();

struct DispatchOutcome {
  std::vector<DeliveryResult> deliveries;  // one per target that was sent to
  std::vector<std::string> skipped;        // "<masked target>: <reason>" per target not sent
};

// Evaluates the rules per target and sends one message per target. Deliver calls run one
// target after another, so one call takes at most (targets x sender deadline). Thread-safe
// when the sender and state are.
class AlertDispatcher {
 public:
  // `sender` and `state` must outlive the dispatcher.
  AlertDispatcher(std::vector<WebhookTarget> targets, AlertRules rules, WebhookSender& sender,
                  AlertStateStore& state, UnixClock clock = SystemUnixSeconds);

  DispatchOutcome Dispatch(const AlertFacts& facts, std::stop_token stop = {});
  // The same for targets()[target] alone: its delivery, or nullopt with *skipped saying why
  // nothing was sent ("<masked target>: <reason>").
  std::optional<DeliveryResult> DispatchTo(size_t target, const AlertFacts& facts,
                                           std::stop_token stop, std::string* skipped);

  const std::vector<WebhookTarget>& targets() const { return targets_; }

 private:
  std::vector<WebhookTarget> targets_;
  AlertRules rules_;
  WebhookSender& sender_;
  AlertStateStore& state_;
  UnixClock clock_;
};

// Runs an AlertDispatcher with one thread and one queue per target, so a target that is slow
// or never answers delays only its own deliveries. Submit never blocks on the network;
// finished deliveries go to the callback (called on the target's thread) and to Log().
class AsyncAlertDispatcher {
 public:
  using DeliveryCallback = std::function<void(const DeliveryResult&)>;

  // `dispatcher` must outlive this object. At most `max_queue` runs wait per target; for a
  // target whose queue is full the run is dropped (Submit returns ResourceExhausted naming
  // it; the other targets still get the run).
  explicit AsyncAlertDispatcher(AlertDispatcher& dispatcher, DeliveryCallback on_delivery = {},
                                size_t max_queue = 256);
  ~AsyncAlertDispatcher();  // Stop(0)

  // Queues the run; Unavailable after Stop, ResourceExhausted when the queue is full.
  Status Submit(AlertFacts facts);

  // Stops taking runs, lets queued ones go out until `deadline` has passed, then cancels
  // what is left (a request in flight is aborted) and joins the threads. Returns the number
  // of queued deliveries (run and target) that were dropped unsent. Safe to call more than
  // once.
  size_t Stop(std::chrono::milliseconds deadline);

  // Waits until no run is queued or being delivered to any target; false when `timeout`
  // passed first.
  bool WaitIdle(std::chrono::milliseconds timeout);

  // Every delivery finished so far, oldest first (the last 1000).
  std::vector<DeliveryResult> Log() const;

 private:
  // One target's queue; the facts are shared by every target's queue.
  struct Lane {
    std::deque<std::shared_ptr<const AlertFacts>> queue;  // guarded by mu_
    bool busy = false;  // guarded by mu_: its thread is delivering a run
  };
  void Run(size_t lane, std::stop_token stop);
  bool Idle() const;      // mu_ held
  size_t Queued() const;  // mu_ held

  AlertDispatcher& dispatcher_;
  DeliveryCallback on_delivery_;
  size_t max_queue_;
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::vector<Lane> lanes_;            // one per dispatcher target; the vector is fixed
  std::deque<DeliveryResult> log_;     // guarded by mu_
  bool accepting_ = true;              // guarded by mu_
  std::stop_source cancel_;            // cancels in-flight deliveries
  std::vector<std::jthread> workers_;  // one per lane; last member, started last
};

}  // namespace jostle::collector::alerts
