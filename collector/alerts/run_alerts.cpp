#include "collector/alerts/run_alerts.h"

#include <set>

#include "collector/attribution/verdict.h"

namespace jostle::collector {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

bool Alertable(Verdict v) { return v == Verdict::kContention || v == Verdict::kContentionPossible; }

std::string Plural(int n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

alerts::AlertFacts FactsFromReport(const RunReport& report, std::string_view job,
                                   std::string_view report_url) {
  alerts::AlertFacts facts;
  facts.run = report.run;
  facts.job = std::string(job);
  facts.report_url = std::string(report_url);
  facts.failures_total = report.failed;
  for (const auto& [verdict, count] : report.verdict_counts) {
    if (count > 0) facts.verdict_counts[verdict] = count;
  }
  for (const FailureReport& f : report.failures) {
    if (!Alertable(f.verdict)) continue;
    alerts::AlertFacts::Failure out;
    out.test = f.test_id;
    out.verdict = VerdictName(f.verdict);
    if (f.assessment.resource) out.resource = ResourceName(*f.assessment.resource);
    if (!f.assessment.culprits.empty()) {
      const Culprit& c = f.assessment.culprits.front();
      out.culprit = c.kind == CulpritKind::kOwnLimit ? "own-limit" : c.name;
    }
    out.node = f.node;
    out.pod = f.pod;
    facts.failures.push_back(std::move(out));
  }
  return facts;
}

std::string RunJob(const RunReport& report) {
  std::set<std::string> jobs;
  for (const FailureReport& f : report.failures) jobs.insert(f.job);
  return jobs.size() == 1 ? *jobs.begin() : std::string();
}

std::vector<std::string> SendRunAlerts(const RunReport& report,
                                       const std::vector<alerts::WebhookTarget>& targets,
                                       const AlertRules& rules, alerts::AlertStateStore& state,
                                       const RunAlertOptions& options) {
  std::vector<std::string> lines;
  if (targets.empty()) return lines;
  const std::string job = options.job.empty() ? RunJob(report) : options.job;
  alerts::HttpWebhookSender sender(options.policy);
  alerts::AlertDispatcher dispatcher(targets, rules, sender, state);
  alerts::DispatchOutcome outcome =
      dispatcher.Dispatch(FactsFromReport(report, job, options.report_url));
  for (const alerts::DeliveryResult& d : outcome.deliveries) {
    std::string line = d.delivered ? "alert delivered to " : "alert not delivered to ";
    line += d.target + " (";
    line += d.status > 0 ? "HTTP " + std::to_string(d.status) : std::string("no answer");
    line += ", " + Plural(d.attempts, "attempt") + ", " + std::to_string(d.duration_ms) + " ms)";
    if (!d.delivered) line += ": " + d.error;
    lines.push_back(std::move(line));
  }
  for (const std::string& skipped : outcome.skipped) {
    lines.push_back("alert skipped for " + skipped);
  }
  return lines;
}

Result<bool> StoreAlertState::WasRunAlerted(const std::string& run, const std::string& target_key) {
  return store_.WasRunAlerted(run, target_key);
}

Result<std::optional<int64_t>> StoreAlertState::LastAlertAt(const std::string& cooldown_key,
                                                            const std::string& target_key) {
  auto at_ns = store_.LastAlertAt(cooldown_key, target_key);
  if (!at_ns.ok()) return at_ns.status();
  if (!at_ns->has_value()) return std::optional<int64_t>();
  // Floor division: an alert at x.9 s is at second x, so the cooldown never ends early.
  int64_t ns = **at_ns;
  int64_t s = ns / kNsPerSecond - (ns % kNsPerSecond < 0 ? 1 : 0);
  return std::optional<int64_t>(s);
}

Status StoreAlertState::RecordDelivery(const alerts::DeliveryResult& result,
                                       const std::string& cooldown_key, int64_t at_s) {
  AlertRecord record;
  record.run = result.run;
  record.job = result.job;
  record.cooldown_key = cooldown_key;
  record.target = result.target;
  record.target_key = result.target_key;
  record.delivered = result.delivered;
  record.status = result.status;
  record.attempts = result.attempts;
  record.error = result.error;
  record.at_ns = at_s * kNsPerSecond;
  return store_.RecordAlert(record);
}

}  // namespace jostle::collector
