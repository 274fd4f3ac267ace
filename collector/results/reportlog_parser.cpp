// pytest report-log (JSON lines, one event per line, "$report_type" names the event).
// TestReport events of one nodeid arrive as setup, call, teardown; these fold into one
// attempt. pytest-rerunfailures marks a failed phase that will be rerun with outcome
// "rerun": that attempt failed, and the next setup of the nodeid starts the next attempt.
// A failed CollectReport becomes a test (id = its nodeid) with outcome error, as pytest's
// junitxml does. Unknown event types and keys are ignored, as the format asks.
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "collector/results/parsers.h"
#include "collector/results/text_scan.h"

namespace jostle::collector {
namespace {

using nlohmann::json;

struct OpenAttempt {
  size_t test_index = 0;
  TestAttempt attempt;
  std::optional<double> start_s;  // earliest phase start, seconds since the epoch
  std::optional<double> stop_s;   // latest phase stop
  bool has_call = false;
  bool seen_start = false;
};

// A readable message and details from a longrepr: null, a string, a skip triple
// [path, lineno, reason], or pytest's serialized exception repr.
void DescribeLongrepr(const json& longrepr, TestAttempt& a) {
  if (longrepr.is_string()) {
    const std::string& s = longrepr.get_ref<const std::string&>();
    a.message = FirstLine(s);
    a.details = Truncate(s, kMaxDetailsBytes);
  } else if (longrepr.is_array() && longrepr.size() == 3 && longrepr[2].is_string()) {
    a.message = FirstLine(longrepr[2].get_ref<const std::string&>());
  } else if (longrepr.is_object()) {
    auto crash = longrepr.find("reprcrash");
    if (crash != longrepr.end() && crash->is_object()) {
      auto msg = crash->find("message");
      if (msg != crash->end() && msg->is_string()) {
        a.message = FirstLine(msg->get_ref<const std::string&>());
      }
    }
    std::string details;
    auto tb = longrepr.find("reprtraceback");
    if (tb != longrepr.end() && tb->is_object()) {
      auto entries = tb->find("reprentries");
      if (entries != tb->end() && entries->is_array()) {
        for (const json& e : *entries) {
          if (!e.is_object() || !e.contains("data") || !e["data"].is_object()) continue;
          const json& data = e["data"];
          auto lines = data.find("lines");
          if (lines == data.end() || !lines->is_array()) continue;
          for (const json& l : *lines) {
            if (l.is_string()) details += l.get_ref<const std::string&>() + "\n";
            if (details.size() > kMaxDetailsBytes) break;
          }
        }
      }
    }
    a.details = Truncate(details, kMaxDetailsBytes);
  }
}

}  // namespace

Result<ResultSet> ParseReportLog(std::string_view jsonl, const ParseOptions& options) {
  ResultSet set;
  set.format = "pytest-reportlog";
  set.producer = "pytest";
  std::map<std::string, size_t> index;
  std::map<std::string, OpenAttempt> open;
  int without_start = 0;
  int unterminated = 0;

  auto test_for = [&](const std::string& nodeid, const json& event) -> size_t {
    auto [it, inserted] = index.try_emplace(nodeid, set.tests.size());
    if (inserted) {
      TestCase t;
      t.id = nodeid;
      size_t sep = nodeid.rfind("::");
      t.name = sep == std::string::npos ? nodeid : nodeid.substr(sep + 2);
      t.classname = sep == std::string::npos ? "" : nodeid.substr(0, sep);
      t.file = nodeid.substr(0, nodeid.find("::"));
      auto loc = event.find("location");
      if (loc != event.end() && loc->is_array() && loc->size() == 3) {
        if ((*loc)[0].is_string()) t.file = Truncate((*loc)[0].get<std::string>(), kMaxNameBytes);
        if ((*loc)[1].is_number_integer()) {
          int64_t line = (*loc)[1].get<int64_t>();
          if (line >= 0 && line < (1 << 30)) t.line = static_cast<int>(line);
        }
      }
      set.tests.push_back(std::move(t));
    }
    return it->second;
  };
  auto close = [&](OpenAttempt& o) {
    TestAttempt a = std::move(o.attempt);
    if (o.start_s) {
      a.start_ns = static_cast<int64_t>(*o.start_s * 1e9);
      if (o.stop_s && *o.stop_s >= *o.start_s) a.duration_s = *o.stop_s - *o.start_s;
    } else {
      ++without_start;
    }
    set.tests[o.test_index].attempts.push_back(std::move(a));
  };

  size_t pos = 0;
  int line_no = 0;
  while (pos < jsonl.size()) {
    size_t nl = jsonl.find('\n', pos);
    std::string_view line = jsonl.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? jsonl.size() : nl + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto fail = [&](const std::string& what) {
      return Status::InvalidArgument(Where(options, line_no) + what);
    };
    if (line_no == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    if (FindJsonTooDeep(line, options.max_depth)) {
      return fail("JSON nesting deeper than " + std::to_string(options.max_depth));
    }
    json event = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (event.is_discarded()) return fail("not a JSON object (malformed JSON)");
    if (!event.is_object()) return fail("not a JSON object");
    auto type_it = event.find("$report_type");
    if (type_it == event.end() || !type_it->is_string()) {
      return fail("event has no \"$report_type\" string");
    }
    const std::string& type = type_it->get_ref<const std::string&>();
    if (type != "TestReport" && type != "CollectReport") continue;

    auto str_field = [&](const char* key, std::string& out) -> Status {
      auto f = event.find(key);
      if (f == event.end() || !f->is_string()) {
        return fail(type + " has no \"" + key + "\" string");
      }
      if (f->get_ref<const std::string&>().size() > kMaxNameBytes) {
        return fail(type + " \"" + key + "\" is longer than " + std::to_string(kMaxNameBytes) +
                    " bytes");
      }
      out = f->get<std::string>();
      return Status::Ok();
    };
    std::string nodeid, outcome;
    JOSTLE_RETURN_IF_ERROR(str_field("nodeid", nodeid));
    JOSTLE_RETURN_IF_ERROR(str_field("outcome", outcome));

    if (type == "CollectReport") {
      if (outcome != "failed") continue;
      if (nodeid.empty()) nodeid = "<session>";
      size_t ti = test_for(nodeid, event);
      TestAttempt a;
      a.outcome = Outcome::kError;
      DescribeLongrepr(event.value("longrepr", json()), a);
      if (a.message.empty()) a.message = "collection failed";
      set.tests[ti].attempts.push_back(std::move(a));
      continue;
    }

    std::string when;
    JOSTLE_RETURN_IF_ERROR(str_field("when", when));
    if (nodeid.empty()) return fail("TestReport has an empty \"nodeid\"");
    if (when != "setup" && when != "call" && when != "teardown") {
      return fail("TestReport \"when\" is \"" + Truncate(when, 40) +
                  "\", expected setup, call or teardown");
    }
    if (outcome != "passed" && outcome != "failed" && outcome != "skipped" && outcome != "rerun") {
      return fail("TestReport \"outcome\" is \"" + Truncate(outcome, 40) +
                  "\", expected passed, failed, skipped or rerun");
    }
    auto number = [&](const char* key, std::optional<double>& out, double max) -> Status {
      auto f = event.find(key);
      if (f == event.end() || f->is_null()) return Status::Ok();
      if (!f->is_number()) return fail(std::string("TestReport \"") + key + "\" is not a number");
      double v = f->get<double>();
      if (!std::isfinite(v) || v < 0 || v > max) {
        return fail(std::string("TestReport \"") + key + "\" is out of range");
      }
      out = v;
      return Status::Ok();
    };
    std::optional<double> duration, start, stop;
    JOSTLE_RETURN_IF_ERROR(number("duration", duration, kMaxDurationS));
    // Epoch seconds before 2200 (kLatestStartNs).
    const double latest_s = static_cast<double>(kLatestStartNs / 1000000000);
    JOSTLE_RETURN_IF_ERROR(number("start", start, latest_s));
    JOSTLE_RETURN_IF_ERROR(number("stop", stop, latest_s));

    auto it = open.find(nodeid);
    if (when == "setup" && it != open.end()) {
      // A new setup while the previous attempt had no teardown (e.g. xdist worker crash).
      close(it->second);
      open.erase(it);
      it = open.end();
      ++unterminated;
    }
    if (it == open.end()) {
      OpenAttempt o;
      o.test_index = test_for(nodeid, event);
      if (set.tests[o.test_index].attempts.size() >= 1000) {
        return fail("more than 1000 attempts of \"" + Truncate(nodeid, 200) + "\"");
      }
      it = open.emplace(nodeid, std::move(o)).first;
    }
    OpenAttempt& o = it->second;
    TestAttempt& a = o.attempt;
    if (duration) a.duration_s += *duration;
    if (start && (!o.start_s || *start < *o.start_s)) o.start_s = start;
    if (stop && (!o.stop_s || *stop > *o.stop_s)) o.stop_s = stop;

    const bool bad = outcome == "failed" || outcome == "rerun";
    if (when == "call") o.has_call = true;
    if (bad) {
      Outcome now = when == "call" ? Outcome::kFailed : Outcome::kError;
      if (!IsFailure(a.outcome)) {
        a.outcome = now;
        DescribeLongrepr(event.value("longrepr", json()), a);
        if (when != "call" && a.message.empty()) a.message = "error in " + when;
      }
    } else if (outcome == "skipped" && !IsFailure(a.outcome)) {
      a.outcome = Outcome::kSkipped;
      DescribeLongrepr(event.value("longrepr", json()), a);
    }
    if (when == "teardown") {
      close(o);
      open.erase(it);
    }
  }
  for (auto& [nodeid, o] : open) {
    close(o);
    ++unterminated;
  }
  if (unterminated > 0) {
    set.warnings.push_back(std::to_string(unterminated) + " test executions without teardown");
  }
  if (without_start > 0) {
    set.warnings.push_back(std::to_string(without_start) +
                           " test executions without \"start\" (written by an older pytest): "
                           "start times unknown");
  }
  for (const TestCase& t : set.tests) {
    if (t.attempts.empty()) {
      return Status::Internal(Where(options, 0) + "test \"" + t.id + "\" has no attempt");
    }
  }
  return set;
}

}  // namespace jostle::collector
