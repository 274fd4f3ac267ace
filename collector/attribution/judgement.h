// Verdicts as of their run (DESIGN.md "Verdicts"): a run's verdicts and evidence are decided
// once its results and samples are in, on the writer path (the collector's alert scheduler
// judges a run once its nodes' samples cover its tests), and stored with the run as one row
// per judged failure (ResultStore::PutJudgement). Reads render the stored judgement; a read
// of a run not judged yet (or uploaded again since) computes the verdicts as of the run
// without storing anything; a rejudge computes them with today's history and says so.
#pragma once

#include <string_view>
#include <vector>

#include "collector/attribution/config.h"
#include "collector/attribution/run_report.h"
#include "collector/store/result_store.h"
#include "collector/store/sample_source.h"
#include "jostle/status.h"

namespace jostle::collector {

// The stored form of `report`'s verdicts and evidence: its failures, then its flaky tests.
std::vector<JudgedFailureRow> JudgementRows(const RunReport& report);

// Stores `report` as its run's judgement (replacing an earlier one). Writer path only.
Status StoreJudgement(ResultStore& results, const RunReport& report);

// Which verdicts a read renders.
enum class JudgementRead {
  kAsJudged,  // the stored judgement; without one, as of the run, computed and not stored
  kRejudge,   // recomputed with today's history (not stored); the report says so
};

// The run's report for a read (GET of a report, `jostle report`): never writes to the store.
// Signals, culprits and timelines come from the samples as they are; verdicts and evidence
// as `how` says. NotFound when the run has no results.
Result<RunReport> ReadRunReport(SampleSource& samples, ResultStore& results, std::string_view run,
                                const AttributionConfig& config, JudgementRead how,
                                ReportOptions options = {});

}  // namespace jostle::collector
