#include "collector/alerts/dispatcher.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "collector/alerts/payload.h"
#include "collector/alerts/signature.h"

namespace jostle::collector::alerts {
namespace {

constexpr size_t kMaxLogEntries = 1000;

}  // namespace

Result<bool> InMemoryAlertState::WasRunAlerted(const std::string& run,
                                               const std::string& target_key) {
  std::lock_guard lock(mu_);
  return runs_.contains({run, target_key});
}

Result<std::optional<int64_t>> InMemoryAlertState::LastAlertAt(const std::string& cooldown_key,
                                                               const std::string& target_key) {
  std::lock_guard lock(mu_);
  auto it = cooldown_.find({cooldown_key, target_key});
  if (it == cooldown_.end()) return std::optional<int64_t>();
  return std::optional<int64_t>(it->second);
}

Status InMemoryAlertState::RecordDelivery(const DeliveryResult& result,
                                          const std::string& cooldown_key, int64_t at_s) {
  if (!result.delivered) return Status::Ok();
  std::lock_guard lock(mu_);
  runs_[{result.run, result.target_key}] = at_s;
  int64_t& last = cooldown_[{cooldown_key, result.target_key}];
  last = std::max(last, at_s);
  return Status::Ok();
}

int64_t SystemUnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

AlertDispatcher::AlertDispatcher(std::vector<WebhookTarget> targets, AlertRules rules,
                                 WebhookSender& sender, AlertStateStore& state, UnixClock clock)
    : targets_(std::move(targets)),
      rules_(std::move(rules)),
      sender_(sender),
      state_(state),
      clock_(std::move(clock)) {}

DispatchOutcome AlertDispatcher::Dispatch(const AlertFacts& facts, std::stop_token stop) {
  DispatchOutcome outcome;
  const AlertFacts filtered = FilterFacts(facts, rules_);
  const std::string cooldown_key = CooldownKey(facts);
  for (const WebhookTarget& target : targets_) {
    const std::string key = TargetKey(target.url);
    const std::string masked = MaskUrl(target.url);
    if (stop.stop_requested()) {
      outcome.skipped.push_back(masked + ": stopped before sending");
      continue;
    }
    AlertHistory history;
    Result<bool> alerted = state_.WasRunAlerted(facts.run, key);
    Result<std::optional<int64_t>> last = state_.LastAlertAt(cooldown_key, key);
    if (!alerted.ok() || !last.ok()) {
      // Without the history an alert might repeat; sending twice beats staying silent.
      spdlog::warn("alert state for {} unavailable: {}", masked,
                   (!alerted.ok() ? alerted.status() : last.status()).ToString());
    }
    history.run_already_alerted = alerted.ok() && *alerted;
    if (last.ok()) history.last_key_alert_s = *last;
    const int64_t now = clock_();
    AlertDecision decision = EvaluateRules(facts, rules_, history, now);
    if (!decision.send) {
      outcome.skipped.push_back(masked + ": " + decision.reason);
      continue;
    }
    const PayloadFormat format = ResolveFormat(target.format, target.url);
    WebhookMessage message;
    message.id = NewMessageId();
    message.body = BuildPayload(format, filtered, now);
    DeliveryResult result = sender_.Deliver(target, message, stop);
    result.run = facts.run;
    result.job = facts.job;
    if (result.target_key.empty()) result.target_key = key;
    Status recorded = state_.RecordDelivery(result, cooldown_key, now);
    if (!recorded.ok()) {
      spdlog::warn("recording alert delivery for run {}: {}", facts.run, recorded.ToString());
    }
    if (result.delivered) {
      spdlog::info("alert for run {} delivered to {} (HTTP {}, {} attempt(s))", facts.run,
                   result.target, result.status, result.attempts);
    } else {
      spdlog::warn("alert for run {} not delivered to {} (HTTP {}, {} attempt(s)): {}", facts.run,
                   result.target, result.status, result.attempts, result.error);
    }
    outcome.deliveries.push_back(std::move(result));
  }
  return outcome;
}

AsyncAlertDispatcher::AsyncAlertDispatcher(AlertDispatcher& dispatcher,
                                           DeliveryCallback on_delivery, size_t max_queue)
    : dispatcher_(dispatcher),
      on_delivery_(std::move(on_delivery)),
      max_queue_(max_queue),
      worker_([this](std::stop_token stop) { Run(stop); }) {}

AsyncAlertDispatcher::~AsyncAlertDispatcher() { Stop(std::chrono::milliseconds(0)); }

Status AsyncAlertDispatcher::Submit(AlertFacts facts) {
  {
    std::lock_guard lock(mu_);
    if (!accepting_) return Status::Unavailable("alert dispatcher is stopped");
    if (queue_.size() >= max_queue_) {
      return Status::ResourceExhausted("alert queue full (" + std::to_string(max_queue_) +
                                       " runs); alert for run " + facts.run + " dropped");
    }
    queue_.push_back(std::move(facts));
  }
  cv_.notify_all();
  return Status::Ok();
}

size_t AsyncAlertDispatcher::Stop(std::chrono::milliseconds deadline) {
  size_t dropped = 0;
  {
    std::unique_lock lock(mu_);
    accepting_ = false;
    draining_ = true;
    cv_.notify_all();
    cv_.wait_for(lock, deadline, [this] { return queue_.empty() && !busy_; });
    dropped = queue_.size();
    queue_.clear();
  }
  cancel_.request_stop();
  worker_.request_stop();
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  if (dropped > 0) spdlog::warn("alert dispatcher stopped with {} run(s) unsent", dropped);
  return dropped;
}

bool AsyncAlertDispatcher::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return queue_.empty() && !busy_; });
}

std::vector<DeliveryResult> AsyncAlertDispatcher::Log() const {
  std::lock_guard lock(mu_);
  return {log_.begin(), log_.end()};
}

void AsyncAlertDispatcher::Run(std::stop_token stop) {
  for (;;) {
    AlertFacts facts;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, stop, [this] { return !queue_.empty() || draining_; });
      if (stop.stop_requested() || queue_.empty()) return;
      facts = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    DispatchOutcome outcome = dispatcher_.Dispatch(facts, cancel_.get_token());
    for (const std::string& skip : outcome.skipped) {
      spdlog::debug("alert for run {} not sent to {}", facts.run, skip);
    }
    for (const DeliveryResult& result : outcome.deliveries) {
      if (on_delivery_) on_delivery_(result);
    }
    {
      std::lock_guard lock(mu_);
      for (DeliveryResult& result : outcome.deliveries) {
        log_.push_back(std::move(result));
        if (log_.size() > kMaxLogEntries) log_.pop_front();
      }
      busy_ = false;
    }
    cv_.notify_all();
  }
}

}  // namespace jostle::collector::alerts
