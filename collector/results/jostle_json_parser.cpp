// jostle's JSON results format, "jostle-results/v1" (FORMAT.md). Validation is strict:
// unknown keys, wrong types and out-of-range values are refused with the field's path.
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "collector/results/parsers.h"
#include "collector/results/text_scan.h"

namespace jostle::collector {
namespace {

using nlohmann::json;

constexpr std::string_view kFormatV1 = "jostle-results/v1";

class JsonReader {
 public:
  explicit JsonReader(const ParseOptions& options) : options_(options) {}

  Status Fail(const std::string& path, const std::string& what) const {
    return Status::InvalidArgument(Where(options_, 0) + path + ": " + what);
  }

  static std::string TypeName(const json& j) { return j.type_name(); }

  Status CheckKeys(const json& obj, const std::string& path,
                   std::initializer_list<std::string_view> allowed) const {
    for (const auto& [key, value] : obj.items()) {
      bool known = false;
      for (std::string_view a : allowed) known = known || key == a;
      if (!known) {
        return Fail(path.empty() ? Truncate(key, 100) : path + "." + Truncate(key, 100),
                    "unknown field");
      }
    }
    return Status::Ok();
  }

  // Reads an optional string field; `required` makes absence an error.
  Status String(const json& obj, const std::string& path, const char* key, bool required,
                size_t max_bytes, std::string& out) const {
    auto it = obj.find(key);
    const std::string field = path.empty() ? key : path + "." + key;
    if (it == obj.end() || it->is_null()) {
      return required ? Fail(field, "missing") : Status::Ok();
    }
    if (!it->is_string()) return Fail(field, "expected a string, got " + TypeName(*it));
    const std::string& s = it->get_ref<const std::string&>();
    if (s.size() > max_bytes) {
      if (max_bytes == kMaxNameBytes) {
        return Fail(field, "longer than " + std::to_string(max_bytes) + " bytes");
      }
      out = Truncate(s, max_bytes);
      return Status::Ok();
    }
    out = s;
    return Status::Ok();
  }

  Result<TestAttempt> Attempt(const json& j, const std::string& path) const {
    if (!j.is_object()) return Fail(path, "expected an object, got " + TypeName(j));
    JOSTLE_RETURN_IF_ERROR(CheckKeys(
        j, path, {"outcome", "start", "duration_s", "timing_approximate", "message", "details"}));
    TestAttempt a;
    std::string outcome;
    JOSTLE_RETURN_IF_ERROR(String(j, path, "outcome", true, 32, outcome));
    if (outcome == "passed") {
      a.outcome = Outcome::kPassed;
    } else if (outcome == "failed") {
      a.outcome = Outcome::kFailed;
    } else if (outcome == "error") {
      a.outcome = Outcome::kError;
    } else if (outcome == "skipped") {
      a.outcome = Outcome::kSkipped;
    } else {
      return Fail(path + ".outcome",
                  "\"" + outcome + "\" is not one of passed, failed, error, skipped");
    }
    auto d = j.find("duration_s");
    if (d == j.end()) return Fail(path + ".duration_s", "missing");
    if (!d->is_number())
      return Fail(path + ".duration_s", "expected a number, got " + TypeName(*d));
    double dur = d->get<double>();
    if (!std::isfinite(dur) || dur < 0 || dur > kMaxDurationS) {
      return Fail(path + ".duration_s", "out of range (0 to 30 days in seconds)");
    }
    a.duration_s = dur;
    std::string start;
    JOSTLE_RETURN_IF_ERROR(String(j, path, "start", false, 64, start));
    if (!start.empty()) {
      Result<int64_t> ns = ParseTimestamp(start, options_.default_tz_offset_s);
      if (!ns.ok()) return Fail(path + ".start", ns.status().message());
      a.start_ns = *ns;
    }
    if (auto ta = j.find("timing_approximate"); ta != j.end()) {
      if (!ta->is_boolean()) {
        return Fail(path + ".timing_approximate", "expected a boolean, got " + TypeName(*ta));
      }
      a.timing_approximate = ta->get<bool>();
    }
    std::string message;
    JOSTLE_RETURN_IF_ERROR(String(j, path, "message", false, kMaxMessageBytes, message));
    a.message = FirstLine(message);
    JOSTLE_RETURN_IF_ERROR(String(j, path, "details", false, kMaxDetailsBytes, a.details));
    return a;
  }

  Result<TestCase> Test(const json& j, const std::string& path) const {
    if (!j.is_object()) return Fail(path, "expected an object, got " + TypeName(j));
    JOSTLE_RETURN_IF_ERROR(
        CheckKeys(j, path, {"id", "suite", "classname", "name", "file", "line", "attempts"}));
    TestCase t;
    JOSTLE_RETURN_IF_ERROR(String(j, path, "id", true, kMaxNameBytes, t.id));
    if (t.id.empty()) return Fail(path + ".id", "empty");
    JOSTLE_RETURN_IF_ERROR(String(j, path, "suite", false, kMaxNameBytes, t.suite));
    JOSTLE_RETURN_IF_ERROR(String(j, path, "classname", false, kMaxNameBytes, t.classname));
    JOSTLE_RETURN_IF_ERROR(String(j, path, "name", false, kMaxNameBytes, t.name));
    JOSTLE_RETURN_IF_ERROR(String(j, path, "file", false, kMaxNameBytes, t.file));
    if (t.name.empty()) {
      size_t sep = t.id.rfind("::");
      t.name = sep == std::string::npos ? t.id : t.id.substr(sep + 2);
    }
    if (auto l = j.find("line"); l != j.end() && !l->is_null()) {
      if (!l->is_number_integer()) {
        return Fail(path + ".line", "expected an integer, got " + TypeName(*l));
      }
      int64_t v = l->get<int64_t>();
      if (v < 0 || v >= (1 << 30)) return Fail(path + ".line", "out of range");
      t.line = static_cast<int>(v);
    }
    auto attempts = j.find("attempts");
    if (attempts == j.end()) return Fail(path + ".attempts", "missing");
    if (!attempts->is_array()) {
      return Fail(path + ".attempts", "expected an array, got " + TypeName(*attempts));
    }
    if (attempts->empty()) return Fail(path + ".attempts", "empty (a test has at least one)");
    if (attempts->size() > 1000) return Fail(path + ".attempts", "more than 1000 attempts");
    for (size_t i = 0; i < attempts->size(); ++i) {
      Result<TestAttempt> a =
          Attempt((*attempts)[i], path + ".attempts[" + std::to_string(i) + "]");
      if (!a.ok()) return a.status();
      t.attempts.push_back(std::move(a).value());
    }
    return t;
  }

 private:
  const ParseOptions& options_;
};

}  // namespace

Result<ResultSet> ParseJostleJson(std::string_view text, const ParseOptions& options) {
  if (std::optional<size_t> at = FindJsonTooDeep(text, options.max_depth)) {
    return Status::InvalidArgument(Where(options, LineIndex(text.substr(0, *at)).LineOf(*at)) +
                                   "JSON nesting deeper than " + std::to_string(options.max_depth));
  }
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    size_t at = e.byte > 0 ? e.byte - 1 : 0;
    if (at > text.size()) at = text.size();
    return Status::InvalidArgument(Where(options, LineIndex(text.substr(0, at)).LineOf(at)) +
                                   "malformed JSON: " + e.what());
  } catch (const json::exception& e) {
    return Status::InvalidArgument(Where(options, 0) + "malformed JSON: " + e.what());
  }
  JsonReader reader(options);
  if (!doc.is_object()) {
    return reader.Fail("(document)", "expected an object, got " + std::string(doc.type_name()));
  }
  JOSTLE_RETURN_IF_ERROR(reader.CheckKeys(doc, "", {"format", "producer", "tests"}));
  std::string format;
  JOSTLE_RETURN_IF_ERROR(reader.String(doc, "", "format", true, 64, format));
  if (format != kFormatV1) {
    return Status::Unsupported(Where(options, 0) + "format: \"" + format +
                               "\" is not supported; this build reads \"" + std::string(kFormatV1) +
                               "\"");
  }
  ResultSet set;
  set.format = "jostle-json";
  JOSTLE_RETURN_IF_ERROR(reader.String(doc, "", "producer", false, 100, set.producer));
  auto tests = doc.find("tests");
  if (tests == doc.end()) return reader.Fail("tests", "missing");
  if (!tests->is_array()) {
    return reader.Fail("tests", "expected an array, got " + std::string(tests->type_name()));
  }
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < tests->size(); ++i) {
    const std::string path = "tests[" + std::to_string(i) + "]";
    Result<TestCase> t = reader.Test((*tests)[i], path);
    if (!t.ok()) return t.status();
    auto [it, inserted] = seen.emplace(t->id, i);
    if (!inserted) {
      return reader.Fail(path + ".id", "duplicate of tests[" + std::to_string(it->second) +
                                           "].id; put retries in one test's attempts");
    }
    set.tests.push_back(std::move(t).value());
  }
  return set;
}

}  // namespace jostle::collector
