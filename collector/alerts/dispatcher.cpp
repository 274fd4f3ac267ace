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
  for (size_t t = 0; t < targets_.size(); ++t) {
    std::string skipped;
    std::optional<DeliveryResult> result = DispatchTo(t, facts, stop, &skipped);
    if (result) {
      outcome.deliveries.push_back(std::move(*result));
    } else {
      outcome.skipped.push_back(std::move(skipped));
    }
  }
  return outcome;
}

std::optional<DeliveryResult> AlertDispatcher::DispatchTo(size_t target_index,
                                                          const AlertFacts& facts,
                                                          std::stop_token stop,
                                                          std::string* skipped) {
  const WebhookTarget& target = targets_.at(target_index);
  const std::string key = TargetKey(target.url);
  const std::string masked = MaskUrl(target.url);
  if (stop.stop_requested()) {
    *skipped = masked + ": stopped before sending";
    return std::nullopt;
  }
  const std::string cooldown_key = CooldownKey(facts);
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
    *skipped = masked + ": " + decision.reason;
    return std::nullopt;
  }
  const PayloadFormat format = ResolveFormat(target.format, target.url);
  WebhookMessage message;
  message.id = NewMessageId();
  message.body = BuildPayload(format, FilterFacts(facts, rules_), now);
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
  return result;
}

AsyncAlertDispatcher::AsyncAlertDispatcher(AlertDispatcher& dispatcher,
                                           DeliveryCallback on_delivery, size_t max_queue)
    : dispatcher_(dispatcher),
      on_delivery_(std::move(on_delivery)),
      max_queue_(max_queue),
      lanes_(dispatcher.targets().size()) {
  for (size_t i = 0; i < lanes_.size(); ++i) {
    workers_.emplace_back([this, i](std::stop_token stop) { Run(i, stop); });
  }
}

AsyncAlertDispatcher::~AsyncAlertDispatcher() { Stop(std::chrono::milliseconds(0)); }

Status AsyncAlertDispatcher::Submit(AlertFacts facts) {
  auto shared = std::make_shared<const AlertFacts>(std::move(facts));
  std::string full;
  {
    std::lock_guard lock(mu_);
    if (!accepting_) return Status::Unavailable("alert dispatcher is stopped");
    for (size_t i = 0; i < lanes_.size(); ++i) {
      if (lanes_[i].queue.size() >= max_queue_) {
        full += (full.empty() ? "" : ", ") + MaskUrl(dispatcher_.targets()[i].url);
        continue;
      }
      lanes_[i].queue.push_back(shared);
    }
  }
  cv_.notify_all();
  if (!full.empty()) {
    return Status::ResourceExhausted("alert queue full (" + std::to_string(max_queue_) +
                                     " runs) for " + full + "; alert for run " + shared->run +
                                     " dropped there");
  }
  return Status::Ok();
}

bool AsyncAlertDispatcher::Idle() const {
  for (const Lane& lane : lanes_) {
    if (lane.busy || !lane.queue.empty()) return false;
  }
  return true;
}

size_t AsyncAlertDispatcher::Queued() const {
  size_t n = 0;
  for (const Lane& lane : lanes_) n += lane.queue.size();
  return n;
}

size_t AsyncAlertDispatcher::Stop(std::chrono::milliseconds deadline) {
  size_t dropped = 0;
  {
    std::unique_lock lock(mu_);
    accepting_ = false;
    cv_.wait_for(lock, deadline, [this] { return Idle(); });
    dropped = Queued();
    for (Lane& lane : lanes_) lane.queue.clear();
  }
  cancel_.request_stop();
  for (auto& w : workers_) w.request_stop();
  cv_.notify_all();
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  if (dropped > 0) spdlog::warn("alert dispatcher stopped with {} delivery(ies) unsent", dropped);
  return dropped;
}

bool AsyncAlertDispatcher::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return Idle(); });
}

std::vector<DeliveryResult> AsyncAlertDispatcher::Log() const {
  std::lock_guard lock(mu_);
  return {log_.begin(), log_.end()};
}

void AsyncAlertDispatcher::Run(size_t index, std::stop_token stop) {
  Lane& lane = lanes_[index];
  for (;;) {
    std::shared_ptr<const AlertFacts> facts;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, stop, [&] { return !lane.queue.empty(); });
      if (lane.queue.empty()) return;  // stop requested
      facts = std::move(lane.queue.front());
      lane.queue.pop_front();
      lane.busy = true;
    }
    std::string skipped;
    std::optional<DeliveryResult> result =
        dispatcher_.DispatchTo(index, *facts, cancel_.get_token(), &skipped);
    if (!result) spdlog::debug("alert for run {} not sent to {}", facts->run, skipped);
    if (result && on_delivery_) on_delivery_(*result);
    {
      std::lock_guard lock(mu_);
      if (result) {
        log_.push_back(std::move(*result));
        if (log_.size() > kMaxLogEntries) log_.pop_front();
      }
      lane.busy = false;
    }
    cv_.notify_all();
  }
}

}  // namespace jostle::collector::alerts
