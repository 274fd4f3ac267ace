#include "collector/alerts/run_alert_scheduler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "collector/attribution/run_report.h"

namespace jostle::collector {

std::string ReportUrl(std::string_view public_url, std::string_view run) {
  if (public_url.empty()) return "";
  std::string base(public_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/api/v1/runs/" + std::string(run) + "/report?format=html";
}

Result<std::unique_ptr<RunAlertScheduler>> RunAlertScheduler::Create(
    Stores& store, RunAlertSchedulerOptions options) {
  if (options.targets.empty() && !options.on_judged) {
    return Status::InvalidArgument("alert scheduler: no webhook targets");
  }
  for (const auto& t : options.targets) {
    if (t.url.rfind("http://", 0) != 0 && t.url.rfind("https://", 0) != 0) {
      return Status::InvalidArgument("webhook '" + alerts::MaskUrl(t.url) +
                                     "': expected an http(s) URL");
    }
  }
  if (options.min_delay.count() < 0 || options.max_wait < options.min_delay) {
    return Status::InvalidArgument("alert scheduler: need 0 <= min_delay <= max_wait");
  }
  return std::unique_ptr<RunAlertScheduler>(new RunAlertScheduler(store, std::move(options)));
}

RunAlertScheduler::RunAlertScheduler(Stores& store, RunAlertSchedulerOptions options)
    : store_(store),
      options_(std::move(options)),
      state_(store.alerts()),
      sender_(options_.policy),
      dispatcher_(options_.targets, options_.config.alerts, sender_, state_),
      async_(dispatcher_, options_.on_delivery) {
  if (options_.sample_margin.count() >= 0) {
    margin_ = options_.sample_margin;
  } else {
    const WindowConfig& w = options_.config.window;
    margin_ = std::chrono::nanoseconds(
        static_cast<int64_t>((w.padding_intervals + 1.0) * w.default_interval_s * 1e9));
  }
  thread_ = std::jthread([this](std::stop_token stop) { Loop(stop); });
}

RunAlertScheduler::~RunAlertScheduler() { Stop(std::chrono::milliseconds(0)); }

void RunAlertScheduler::OnResults(const std::string& run) {
  const auto now = Clock::now();
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    auto it = pending_.find(run);
    if (it != pending_.end()) {
      // Another upload of the same run: judge it after this one too, within max_wait.
      it->second.due = std::min(now + options_.min_delay, it->second.deadline);
    } else if (pending_.size() >= options_.max_pending) {
      spdlog::warn("alerts: {} runs already wait to be judged; run {} will not alert",
                   pending_.size(), run);
      return;
    } else {
      pending_[run] = Pending{now + options_.min_delay, now + options_.max_wait};
    }
    ++changes_;
  }
  cv_.notify_all();
}

bool RunAlertScheduler::WaitIdle(std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  {
    std::unique_lock lock(mu_);
    if (!cv_.wait_until(lock, until, [this] { return pending_.empty() && !judging_; })) {
      return false;
    }
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
  return async_.WaitIdle(std::max(left, std::chrono::milliseconds(0)));
}

uint64_t RunAlertScheduler::WaitingChecks() {
  std::lock_guard lock(mu_);
  return waiting_checks_;
}

void RunAlertScheduler::Stop(std::chrono::milliseconds deadline) {
  size_t dropped = 0;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    dropped = pending_.size();
    pending_.clear();
  }
  thread_.request_stop();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (dropped > 0) spdlog::warn("alerts: stopped with {} run(s) not yet judged", dropped);
  async_.Stop(deadline);
}

void RunAlertScheduler::Loop(std::stop_token stop) {
  std::unique_lock lock(mu_);
  while (!stop.stop_requested()) {
    if (pending_.empty()) {
      cv_.wait(lock, stop, [this] { return !pending_.empty(); });
      continue;
    }
    auto next =
        std::min_element(pending_.begin(), pending_.end(),
                         [](const auto& a, const auto& b) { return a.second.due < b.second.due; });
    const auto now = Clock::now();
    if (next->second.due > now) {
      const auto due = next->second.due;
      // A new upload may bring an earlier due time: wake on any change and look again.
      const uint64_t seen = changes_;
      cv_.wait_until(lock, stop, due, [this, seen] { return changes_ != seen; });
      continue;
    }
    const std::string run = next->first;
    const Pending pending = next->second;
    pending_.erase(next);
    judging_ = true;
    lock.unlock();

    bool judge = now >= pending.deadline;
    bool drop = false;
    if (!judge) {
      Result<Readiness> readiness = CheckSamples(run);
      if (!readiness.ok()) {
        spdlog::warn("alerts: run {}: {}; judging it now", run, readiness.status().ToString());
        judge = true;
      } else {
        judge = *readiness == Readiness::kReady;
        drop = *readiness == Readiness::kNothingToJudge;
      }
    }
    if (judge) Judge(run, stop);

    lock.lock();
    judging_ = false;
    if (!judge && !drop) ++waiting_checks_;
    if (!judge && !drop && !pending_.contains(run)) {
      pending_[run] =
          Pending{std::min(Clock::now() + options_.recheck, pending.deadline), pending.deadline};
    } else if (!judge && !drop) {
      // Uploaded again while its samples were checked: keep the earlier deadline.
      auto& p = pending_[run];
      p.deadline = std::min(p.deadline, pending.deadline);
      p.due = std::min(p.due, p.deadline);
    }
    cv_.notify_all();
  }
}

Result<RunAlertScheduler::Readiness> RunAlertScheduler::CheckSamples(const std::string& run) {
  auto executions = store_.results().RunExecutions(run);
  if (!executions.ok()) return executions.status();
  bool any_failed = false;
  std::map<std::string, int64_t> last_end;  // node -> latest test end there, ns
  std::map<std::pair<std::string, std::string>, std::string> pod_nodes;
  for (const TestExecution& e : *executions) {
    if (e.final_attempt && IsFailure(e.outcome)) any_failed = true;
    if (!e.start_ns) continue;
    const int64_t end = *e.start_ns + static_cast<int64_t>(e.duration_s * 1e9);
    std::string node = e.node;
    if (node.empty() && !e.pod_name.empty()) {
      auto key = std::make_pair(e.pod_namespace, e.pod_name);
      auto it = pod_nodes.find(key);
      if (it == pod_nodes.end()) {
        auto found = store_.samples().NodeOfPod(e.pod_namespace, e.pod_name, end);
        if (!found.ok()) return found.status();
        it = pod_nodes.emplace(key, found->value_or("")).first;
      }
      node = it->second;
    }
    if (node.empty()) continue;
    int64_t& latest = last_end[node];
    latest = std::max(latest, end);
  }
  if (!any_failed) return Readiness::kNothingToJudge;
  auto latest = store_.samples().LatestSampleTimes();
  if (!latest.ok()) return latest.status();
  for (const auto& [node, end] : last_end) {
    auto it = latest->find(node);
    if (it == latest->end()) continue;  // no agent on that node: nothing to wait for
    if (it->second < end + margin_.count()) return Readiness::kWait;
  }
  return Readiness::kReady;
}

void RunAlertScheduler::Judge(const std::string& run, std::stop_token stop) {
  ReportSlots::Slot slot;
  if (options_.report_slots) {
    slot = options_.report_slots->Acquire(stop);
    if (!slot) return;  // stopping
  }
  auto report = BuildRunReport(store_.samples(), store_.results(), run, options_.config);
  if (!report.ok()) {
    spdlog::warn("alerts: judging run {}: {}", run, report.status().ToString());
    return;
  }
  if (options_.on_judged) options_.on_judged(*report);
  if (options_.targets.empty()) return;
  alerts::AlertFacts facts =
      FactsFromReport(*report, RunJob(*report), ReportUrl(options_.public_url, run));
  if (Status s = async_.Submit(std::move(facts)); !s.ok()) {
    spdlog::warn("alerts: run {}: {}", run, s.ToString());
  }
}

}  // namespace jostle::collector
