// Fuzzes the collector's HTTP API as a whole: one request (method, target, headers, body)
// through CollectorApi::Handle with every route installed, over an in-memory store that keeps
// what earlier inputs stored. Checks the API's contracts on every answer: a status in
// 100..599; an error answer (but to HEAD) is a JSON object with "error"; a POST that is refused
// stores nothing (run list and latest sample times unchanged).
//
// Input: "METHOD TARGET\n", then "Name: value\n" header lines up to an empty line, then the
// body. Seeds in corpus/api_request.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "collector/api/collector_api.h"
#include "collector/api/read_routes.h"
#include "collector/attribution/config.h"
#include "collector/store/stores.h"
#include "http_server/http_server.h"

namespace {

using jostle::collector::CollectorApi;
using jostle::collector::RunFilter;
using jostle::collector::Stores;

struct World {
  std::unique_ptr<Stores> store;
  jostle::collector::ReportSlots report_slots{1};
  std::unique_ptr<CollectorApi> api;
};

World& TheWorld() {
  static World* world = [] {
    auto* w = new World;
    auto store = jostle::collector::OpenSqliteStores(":memory:");
    if (!store.ok()) std::abort();
    w->store = std::move(store).value();
    jostle::collector::ApiOptions options;
    options.max_body_bytes = 1u << 20;
    auto api = CollectorApi::Create(*w->store, options);
    if (!api.ok()) std::abort();
    w->api = std::move(api).value();
    jostle::collector::AddReadRoutes(*w->api, jostle::collector::AttributionConfig{},
                                     w->report_slots);
    return w;
  }();
  return *world;
}

std::string_view NextLine(std::string_view& in) {
  size_t eol = in.find('\n');
  std::string_view line = in.substr(0, eol);
  in.remove_prefix(eol == std::string_view::npos ? in.size() : eol + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// What a refused request must leave as it was.
std::string StoredState(Stores& store) {
  std::string state;
  if (auto runs = store.analytics().ListRuns(RunFilter::Latest(1000)); runs.ok()) {
    for (const auto& r : *runs) {
      state += r.run + ":" + std::to_string(r.uploads) + ":" + std::to_string(r.tests) + ";";
    }
  }
  if (auto latest = store.samples().LatestSampleTimes(); latest.ok()) {
    for (const auto& [node, ns] : *latest) state += node + "@" + std::to_string(ns) + ";";
  }
  return state;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& world = TheWorld();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view request_line = NextLine(in);
  size_t space = request_line.find(' ');
  if (space == std::string_view::npos) return 0;

  jostle::HttpServerRequest request;
  request.method = std::string(request_line.substr(0, space));
  request.target = std::string(request_line.substr(space + 1));
  // The server answers 400 itself to a target it cannot split; the API never sees it.
  if (!jostle::SplitTarget(request.target, &request.path, &request.query).ok()) return 0;
  for (std::string_view line = NextLine(in); !line.empty(); line = NextLine(in)) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    request.headers[std::string(line.substr(0, colon))] = std::string(value);
  }
  request.body = std::string(in);
  request.remote = "127.0.0.1:1";

  const bool post = request.method == "POST";
  const std::string before = post ? StoredState(*world.store) : std::string();
  jostle::HttpServerResponse response = world.api->Handle(request);

  if (response.status < 100 || response.status > 599) std::abort();
  if (response.status >= 400) {
    // HEAD answers carry the GET answer's headers without its body.
    if (request.method != "HEAD" && response.content_type.rfind("application/json", 0) == 0) {
      nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
      if (!body.is_object() || !body.contains("error")) std::abort();
    }
    if (post && StoredState(*world.store) != before) std::abort();
  }
  return 0;
}
