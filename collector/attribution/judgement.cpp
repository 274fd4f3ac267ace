#include "collector/attribution/judgement.h"

#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

namespace jostle::collector {
namespace {

constexpr const char* kFailure = "failure";
constexpr const char* kFlaky = "flaky";

JudgedFailureRow RowOf(const char* kind, const FailureReport& f) {
  JudgedFailureRow r;
  r.kind = kind;
  r.job = f.job;
  r.test_id = f.test_id;
  r.attempt = f.attempt;
  r.verdict = VerdictName(f.verdict);
  r.reason = f.reason;
  const HistoryCounts& h = f.evidence.history;
  r.failed_contended = h.failed_contended;
  r.passed_contended = h.passed_contended;
  r.failed_clear = h.failed_clear;
  r.passed_clear = h.passed_clear;
  r.no_data = h.no_data;
  r.rerun_passed = f.evidence.rerun_passed;
  r.rate_contended = f.evidence.failure_rate_contended;
  r.rate_clear = f.evidence.failure_rate_clear;
  r.fisher_p = f.evidence.fisher_p;
  return r;
}

void ApplyRow(const JudgedFailureRow& r, FailureReport* f) {
  if (auto v = ParseVerdict(r.verdict)) f->verdict = *v;
  f->reason = r.reason;
  HistoryCounts& h = f->evidence.history;
  h.failed_contended = r.failed_contended;
  h.passed_contended = r.passed_contended;
  h.failed_clear = r.failed_clear;
  h.passed_clear = r.passed_clear;
  h.no_data = r.no_data;
  f->evidence.rerun_passed = r.rerun_passed;
  f->evidence.failure_rate_contended = r.rate_contended;
  f->evidence.failure_rate_clear = r.rate_clear;
  f->evidence.fisher_p = r.fisher_p;
}

// Reads the stored rows page by page and puts each over the live report's verdict of the
// same (kind, job, test, attempt), the first row of a key only. Only the page being applied
// is held: the report is indexed by views of its own strings (which ApplyRow leaves alone).
Status ApplyStoredJudgement(ResultStore& results, std::string_view run, RunReport* report) {
  constexpr int kPage = 500;
  using Key = std::tuple<std::string_view, std::string_view, std::string_view, int>;
  std::map<Key, std::pair<FailureReport*, bool>> index;  // -> (failure, a row was applied)
  for (auto [kind, failures] :
       {std::pair{kFailure, &report->failures}, std::pair{kFlaky, &report->flaky_tests}}) {
    for (FailureReport& f : *failures) {
      index.try_emplace(Key{kind, f.job, f.test_id, f.attempt}, &f, false);
    }
  }
  for (int offset = 0;; offset += kPage) {
    auto page = results.JudgedFailures(run, offset, kPage);
    if (!page.ok()) return page.status();
    for (const JudgedFailureRow& r : *page) {
      auto it = index.find(Key{r.kind, r.job, r.test_id, r.attempt});
      if (it == index.end() || it->second.second) continue;
      ApplyRow(r, it->second.first);
      it->second.second = true;
    }
    if (static_cast<int>(page->size()) < kPage) break;
  }
  for (auto& [name, count] : report->verdict_counts) count = 0;
  for (const FailureReport& f : report->failures) ++report->verdict_counts[VerdictName(f.verdict)];
  return Status::Ok();
}

}  // namespace

std::vector<JudgedFailureRow> JudgementRows(const RunReport& report) {
  std::vector<JudgedFailureRow> rows;
  rows.reserve(report.failures.size() + report.flaky_tests.size());
  for (const FailureReport& f : report.failures) rows.push_back(RowOf(kFailure, f));
  for (const FailureReport& f : report.flaky_tests) rows.push_back(RowOf(kFlaky, f));
  return rows;
}

Status StoreJudgement(ResultStore& results, const RunReport& report) {
  return results.PutJudgement(report.run, JudgementRows(report));
}

Result<RunReport> ReadRunReport(SampleSource& samples, ResultStore& results, std::string_view run,
                                const AttributionConfig& config, JudgementRead how,
                                ReportOptions options) {
  options.store_history_cache = false;
  if (how == JudgementRead::kRejudge) {
    options.as_of_run = false;
    auto report = BuildRunReport(samples, results, run, config, options);
    if (report.ok()) {
      report->warnings.push_back(
          "rejudged with today's history (later runs included); the verdicts stored with the "
          "run are not changed and may differ");
    }
    return report;
  }
  auto stored = results.GetJudgement(run);
  if (!stored.ok()) return stored.status().WithContext("judgement of run " + std::string(run));
  const bool use_stored = stored->has_value() && !(*stored)->stale;
  if (use_stored) options.read_history = false;
  auto report = BuildRunReport(samples, results, run, config, options);
  if (!report.ok()) return report;
  if (use_stored) {
    JOSTLE_RETURN_IF_ERROR(ApplyStoredJudgement(results, run, &*report));
  } else if (!report->failures.empty() || !report->flaky_tests.empty()) {
    report->warnings.push_back(
        std::string(stored->has_value() ? "the run had uploads after it was judged"
                                        : "the run is not judged yet") +
        ": these verdicts are computed now from the history as of the run and are not stored");
  }
  return report;
}

}  // namespace jostle::collector
