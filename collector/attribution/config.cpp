#include "collector/attribution/config.h"

#include <cerrno>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

namespace jostle::collector {
namespace {

using Json = nlohmann::json;
using Setter = std::function<Status(const Json&, const std::string& key_path)>;

Status ReadNumber(const Json& j, const std::string& key, double min, double max, double* out) {
  if (!j.is_number()) return Status::InvalidArgument(key + ": expected a number");
  double v = j.get<double>();
  if (!(v >= min && v <= max)) {
    std::ostringstream msg;
    msg << key << ": " << v << " is outside [" << min << ", " << max << "]";
    return Status::InvalidArgument(msg.str());
  }
  *out = v;
  return Status::Ok();
}

Setter Number(double* field, double min, double max) {
  return [=](const Json& j, const std::string& key) { return ReadNumber(j, key, min, max, field); };
}

template <typename Int>
Setter Integer(Int* field, double min, double max) {
  return [=](const Json& j, const std::string& key) {
    if (!j.is_number_integer()) return Status::InvalidArgument(key + ": expected an integer");
    double v = 0;
    JOSTLE_RETURN_IF_ERROR(ReadNumber(j, key, min, max, &v));
    *field = static_cast<Int>(j.get<int64_t>());
    return Status::Ok();
  };
}

constexpr double kFraction = 1.0;
constexpr double kHuge = 1e12;

Setter Section(std::map<std::string, Setter> keys) {
  return [keys = std::move(keys)](const Json& j, const std::string& path) -> Status {
    if (!j.is_object()) return Status::InvalidArgument(path + ": expected an object");
    for (const auto& [name, value] : j.items()) {
      std::string key = path.empty() ? name : path + "." + name;
      auto it = keys.find(name);
      if (it == keys.end()) return Status::InvalidArgument(key + ": unknown key");
      JOSTLE_RETURN_IF_ERROR(it->second(value, key));
    }
    return Status::Ok();
  };
}

const char* const kVerdictNames[] = {"contention", "contention-possible", "fails-regardless",
                                     "no-contention", "no-data"};

Setter VerdictList(std::vector<std::string>* field) {
  return [=](const Json& j, const std::string& key) {
    if (!j.is_array()) return Status::InvalidArgument(key + ": expected an array of verdicts");
    std::vector<std::string> out;
    for (size_t i = 0; i < j.size(); ++i) {
      std::string item_key = key + "[" + std::to_string(i) + "]";
      if (!j[i].is_string()) return Status::InvalidArgument(item_key + ": expected a string");
      std::string v = j[i].get<std::string>();
      bool known = false;
      for (const char* name : kVerdictNames) known = known || v == name;
      if (!known) return Status::InvalidArgument(item_key + ": unknown verdict \"" + v + "\"");
      out.push_back(v);
    }
    *field = std::move(out);
    return Status::Ok();
  };
}

Setter BaselineName(HistoryConfig::Baseline* field) {
  return [=](const Json& j, const std::string& key) {
    using Baseline = HistoryConfig::Baseline;
    static const std::pair<const char*, Baseline> kNames[] = {
        {"branch+default", Baseline::kBranchAndDefault},
        {"branch", Baseline::kBranch},
        {"all", Baseline::kAll}};
    if (j.is_string()) {
      for (const auto& [name, value] : kNames) {
        if (j.get<std::string>() == name) {
          *field = value;
          return Status::Ok();
        }
      }
    }
    return Status::InvalidArgument(key + ": expected \"branch+default\", \"branch\" or \"all\"");
  };
}

Setter Statistic(bool* use_mean) {
  return [=](const Json& j, const std::string& key) {
    if (j == "peak" || j == "mean") {
      *use_mean = j == "mean";
      return Status::Ok();
    }
    return Status::InvalidArgument(key + ": expected \"peak\" or \"mean\"");
  };
}

Setter RootSetter(AttributionConfig* c) {
  return Section({
      {"window", Section({
                     {"padding_intervals", Number(&c->window.padding_intervals, 0, 1000)},
                     {"default_interval_s", Number(&c->window.default_interval_s, 0.001, 3600)},
                     {"max_gap_intervals", Number(&c->window.max_gap_intervals, 1, 1e6)},
                     {"statistic", Statistic(&c->window.use_mean)},
                     {"reconstructed_slack_s", Number(&c->window.reconstructed_slack_s, 0, 3600)},
                 })},
      {"cpu", Section({
                  {"node_busy", Number(&c->cpu.node_busy, 0, kFraction)},
                  {"psi_some", Number(&c->cpu.psi_some, 0, kFraction)},
                  {"throttle_ratio", Number(&c->cpu.throttle_ratio, 0, kFraction)},
              })},
      {"memory", Section({
                     {"psi_some", Number(&c->memory.psi_some, 0, kFraction)},
                     {"psi_full", Number(&c->memory.psi_full, 0, kFraction)},
                     {"oom_kills", Number(&c->memory.oom_kills, 1, kHuge)},
                     {"working_set_ratio", Number(&c->memory.working_set_ratio, 0, 10)},
                 })},
      {"io", Section({
                 {"psi_some", Number(&c->io.psi_some, 0, kFraction)},
             })},
      {"network", Section({
                      {"utilisation", Number(&c->network.utilisation, 0, 10)},
                      {"drops", Number(&c->network.drops, 1, kHuge)},
                      {"retrans_ratio", Number(&c->network.retrans_ratio, 0, kFraction)},
                  })},
      {"felt", Section({
                   {"psi_some", Number(&c->felt.psi_some, 0, kFraction)},
               })},
      {"culprits", Section({
                       {"max", Integer(&c->culprits.max, 0, 1000)},
                       {"min_share", Number(&c->culprits.min_share, 0, kFraction)},
                   })},
      {"history", Section({
                      {"limit", Integer(&c->history.limit, 0, 1e6)},
                      {"max_age_days", Number(&c->history.max_age_days, 0, 36500)},
                      {"alpha", Number(&c->history.alpha, 0, kFraction)},
                      {"fisher_p", Number(&c->history.alpha, 0, kFraction)},
                      {"min_clear", Integer(&c->history.min_clear, 1, 1e6)},
                      {"min_rate_difference", Number(&c->history.min_rate_difference, 0, 1)},
                      {"baseline", BaselineName(&c->history.baseline)},
                  })},
      {"retention", Section({
                        {"samples_days", Number(&c->retention.samples_days, 0, 36500)},
                        {"results_days", Number(&c->retention.results_days, 0, 36500)},
                    })},
      {"alerts", Section({
                     {"on", VerdictList(&c->alerts.on)},
                     {"min_count", Integer(&c->alerts.min_count, 1, 1e9)},
                     {"cooldown_s", Integer(&c->alerts.cooldown_s, 0, 1e9)},
                 })},
  });
}

}  // namespace

Result<AttributionConfig> ParseAttributionConfig(std::string_view json, std::string_view origin) {
  Json doc;
  try {
    doc = Json::parse(json.begin(), json.end());
  } catch (const Json::parse_error& e) {
    return Status::InvalidArgument(std::string(origin) + ": not valid JSON at byte " +
                                   std::to_string(e.byte) + ": " + e.what());
  } catch (const Json::exception& e) {  // e.g. a number too large for a double
    return Status::InvalidArgument(std::string(origin) + ": not valid JSON: " + e.what());
  }
  AttributionConfig config;
  Status s = RootSetter(&config)(doc, "");
  if (!s.ok()) return s.WithContext(origin);
  return config;
}

Result<AttributionConfig> LoadAttributionConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::FromErrno(errno, path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IOError(path + ": read failed");
  return ParseAttributionConfig(text.str(), path);
}

}  // namespace jostle::collector
