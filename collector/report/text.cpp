#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <tuple>

#include "collector/report/report.h"

namespace jostle::collector {
namespace {

bool LooksLikeContention(Verdict v) {
  return v == Verdict::kContention || v == Verdict::kContentionPossible;
}

const Culprit* FirstNeighbour(const FailureReport& f) {
  for (const Culprit& c : f.assessment.culprits) {
    if (c.kind != CulpritKind::kOwnLimit) return &c;
  }
  return nullptr;
}

const Culprit* OwnLimit(const FailureReport& f) {
  for (const Culprit& c : f.assessment.culprits) {
    if (c.kind == CulpritKind::kOwnLimit) return &c;
  }
  return nullptr;
}

std::string NeighbourAdvice(const FailureReport& f, const Culprit& c) {
  std::string node = f.node.empty() ? "the node" : "node " + f.node;
  Resource r = f.assessment.resource.value_or(Resource::kCpu);
  std::string what = CulpritKindName(c.kind) + std::string(" ") + c.name;
  switch (r) {
    case Resource::kCpu:
      if (c.kind == CulpritKind::kCgroup) {
        return node + " was saturated by " + what + ": stop or limit it while CI runs";
      }
      return node + " was saturated by " + what + ": isolate CI pods or add CPU requests";
    case Resource::kMemory:
      return node + " was under memory pressure from " + what +
             ": isolate CI pods or add memory requests";
    case Resource::kIo:
      return node + " had io pressure while " + what +
             " was active: give CI its own disk or limit that workload's io";
    case Resource::kNetwork:
      return node + "'s network was saturated by " + what +
             ": isolate CI pods or limit that workload's bandwidth";
  }
  return "";
}

}  // namespace

ReportWriter::ReportWriter(std::function<bool(std::string_view)> emit, size_t piece_bytes)
    : emit_(std::move(emit)), piece_bytes_(piece_bytes) {}

void ReportWriter::Append(std::string_view text) {
  if (!ok_) return;
  buffer_.append(text);
  if (buffer_.size() >= piece_bytes_) Flush();
}

bool ReportWriter::Flush() {
  if (ok_ && !buffer_.empty()) ok_ = emit_(buffer_);
  buffer_.clear();
  return ok_;
}

FailureDigest DigestOf(const std::vector<FailureReport>& failures, size_t per_verdict) {
  constexpr size_t kVerdicts = static_cast<size_t>(Verdict::kNoData) + 1;
  std::vector<std::vector<const FailureReport*>> by_verdict(kVerdicts);
  FailureDigest digest;
  digest.omitted.assign(kVerdicts, 0);
  // More severe first; of equal severity, the earlier (rows of one vector: execution order).
  auto more_severe = [](const FailureReport* a, const FailureReport* b) {
    if (a->assessment.severity != b->assessment.severity) {
      return a->assessment.severity > b->assessment.severity;
    }
    return a < b;
  };
  for (const FailureReport& f : failures) {
    auto v = static_cast<size_t>(f.verdict);
    auto& top = by_verdict[v];
    // The per_verdict most severe so far, as a heap with the least of them on top.
    if (top.size() < per_verdict) {
      top.push_back(&f);
      std::push_heap(top.begin(), top.end(), more_severe);
      continue;
    }
    ++digest.omitted[v];
    ++digest.omitted_total;
    if (per_verdict > 0 && more_severe(&f, top.front())) {
      std::pop_heap(top.begin(), top.end(), more_severe);
      top.back() = &f;
      std::push_heap(top.begin(), top.end(), more_severe);
    }
  }
  for (auto& top : by_verdict) {
    std::sort(top.begin(), top.end(), more_severe);
    digest.shown.insert(digest.shown.end(), top.begin(), top.end());
  }
  return digest;
}

std::string CountsByVerdict(const std::vector<size_t>& per_verdict) {
  std::string out;
  for (size_t v = 0; v < per_verdict.size(); ++v) {
    if (per_verdict[v] == 0) continue;
    if (!out.empty()) out += ", ";
    out += std::to_string(per_verdict[v]) + " " + VerdictName(static_cast<Verdict>(v));
  }
  return out;
}

std::string FormatTime(int64_t ns) {
  int64_t secs = ns / 1000000000;
  int64_t ms = (ns % 1000000000) / 1000000;
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string TopCulprit(const FailureReport& f) {
  if (f.assessment.culprits.empty()) return "";
  const Culprit& c = f.assessment.culprits.front();
  return std::string(CulpritKindName(c.kind)) + " " + c.name;
}

std::string Advice(const FailureReport& f) {
  switch (f.verdict) {
    case Verdict::kNoData:
      if (f.reason.rfind("no agent", 0) == 0) {
        return "no samples: run jostle-agent on " + (f.node.empty() ? "that node" : f.node);
      }
      return "no samples (" + f.reason + ")";
    case Verdict::kNoContention:
      return "look at the code: the machine was quiet";
    case Verdict::kFailsRegardless:
      return "look at the code: it also fails when the machine is quiet";
    case Verdict::kContention:
    case Verdict::kContentionPossible: {
      std::string prefix = f.verdict == Verdict::kContentionPossible ? "probably: " : "";
      std::string advice;
      if (const Culprit* own = OwnLimit(f)) {
        bool memory = f.assessment.resource == Resource::kMemory;
        advice = std::string("raise the ") + (memory ? "memory" : "CPU") + " limit of " +
                 (f.pod.empty() ? own->name : "pod " + f.pod) + ": " + own->detail;
      } else if (const Culprit* n = FirstNeighbour(f)) {
        advice = NeighbourAdvice(f, *n);
      } else {
        advice = std::string(ResourceName(f.assessment.resource.value_or(Resource::kCpu))) +
                 " was contended on " + (f.node.empty() ? "the node" : "node " + f.node) +
                 " with no single neighbour to blame: isolate CI or add requests";
      }
      if (f.verdict == Verdict::kContentionPossible) advice += "; no clear-window history yet";
      return prefix + advice;
    }
  }
  return "";
}

std::string SummaryLine(const RunReport& r) {
  int total = static_cast<int>(r.failures.size());
  if (total == 0) {
    std::string line = "No failures in run " + r.run + " (" + std::to_string(r.tests) + " tests";
    if (r.flaky > 0) line += ", " + std::to_string(r.flaky) + " flaky";
    return line + ")";
  }
  int contention = 0;
  std::map<std::tuple<std::string, std::string, std::string>, int> causes;
  for (const FailureReport& f : r.failures) {
    if (!LooksLikeContention(f.verdict)) continue;
    ++contention;
    std::string culprit;
    if (const Culprit* own = OwnLimit(f)) {
      culprit = "own limit of " + own->name;
    } else if (const Culprit* n = FirstNeighbour(f)) {
      culprit = "neighbour " + n->name;
    }
    ++causes[{ResourceName(f.assessment.resource.value_or(Resource::kCpu)), f.node, culprit}];
  }
  std::string noun = total == 1 ? " failure" : " failures";
  if (contention == 0) {
    std::string line = "None of the " + std::to_string(total) + noun + " look like contention (";
    bool first = true;
    for (const auto& [verdict, count] : r.verdict_counts) {
      if (count == 0) continue;
      line += (first ? "" : ", ") + std::to_string(count) + " " + verdict;
      first = false;
    }
    return line + ")";
  }
  const std::tuple<std::string, std::string, std::string>* top = nullptr;
  int best = 0;
  for (const auto& [cause, count] : causes) {
    if (count > best) {
      best = count;
      top = &cause;
    }
  }
  std::string line = std::to_string(contention) + " of " + std::to_string(total) + noun +
                     (total == 1 ? " looks" : " look") + " like contention (" + std::get<0>(*top);
  if (!std::get<1>(*top).empty()) line += " on node " + std::get<1>(*top);
  if (!std::get<2>(*top).empty()) line += ", " + std::get<2>(*top);
  return line + ")";
}

}  // namespace jostle::collector
