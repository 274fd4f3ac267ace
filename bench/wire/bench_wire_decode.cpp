// Sample batch codec: DecodeBatch (one pass, no DOM) against the nlohmann_json DOM decoder
// it replaced, and EncodeBatch against the DOM encoder, on an agent-sized batch: 10 ticks of
// one node with 50 pods x 5 containers (per tick 1 node row + 50 pod rows + 250 container
// rows = 3010 sample rows per batch, the batch of bench/collector/bench_store_ingest.cpp).
//
//   build/bin/bench_wire_decode [--benchmark_filter=...]
//
// Counter "rows" is sample rows per second (one thread); bytes_per_second is JSON text.
// The DOM codec lives only here, as the baseline: it is the code wire/ shipped before.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "bench/support/agent_batch.h"
#include "jostle/version.h"
#include "jostle/wire.h"

namespace jostle {
namespace {

using bench::kRowsPerBatch;
using bench::MakeAgentBatch;

// ---- The DOM codec (nlohmann_json), as wire/wire.cpp had it: the baseline. ----

using Json = nlohmann::json;

template <typename T>
void PutOpt(Json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

Json EncodePsi(const PsiTotals& p) {
  Json j = Json::object();
  PutOpt(j, "some_us", p.some_us);
  PutOpt(j, "full_us", p.full_us);
  return j;
}

Json EncodeNet(const NetCounters& n) {
  Json j = {{"if", n.interface},          {"rx_bytes", n.rx_bytes},   {"rx_packets", n.rx_packets},
            {"rx_errors", n.rx_errors},   {"rx_drops", n.rx_drops},   {"tx_bytes", n.tx_bytes},
            {"tx_packets", n.tx_packets}, {"tx_errors", n.tx_errors}, {"tx_drops", n.tx_drops}};
  PutOpt(j, "speed_mbps", n.speed_mbps);
  return j;
}

Json EncodeNode(const NodeSample& n) {
  Json j = Json::object();
  PutOpt(j, "cpu_busy_us", n.cpu_busy_us);
  PutOpt(j, "cpu_total_us", n.cpu_total_us);
  PutOpt(j, "cpus", n.cpus);
  PutOpt(j, "mem_total_bytes", n.mem_total_bytes);
  PutOpt(j, "mem_available_bytes", n.mem_available_bytes);
  if (n.psi_cpu) j["psi_cpu"] = EncodePsi(*n.psi_cpu);
  if (n.psi_memory) j["psi_memory"] = EncodePsi(*n.psi_memory);
  if (n.psi_io) j["psi_io"] = EncodePsi(*n.psi_io);
  Json net = Json::array();
  for (const auto& i : n.net) net.push_back(EncodeNet(i));
  j["net"] = std::move(net);
  PutOpt(j, "tcp_out_segs", n.tcp_out_segs);
  PutOpt(j, "tcp_retrans_segs", n.tcp_retrans_segs);
  PutOpt(j, "load1", n.load1);
  PutOpt(j, "load5", n.load5);
  PutOpt(j, "load15", n.load15);
  return j;
}

Json EncodeCgroup(const CgroupSample& c) {
  Json j = {{"scope", ScopeName(c.scope)}, {"id", c.id}, {"path", c.path}};
  auto put_str = [&j](const char* key, const std::string& v) {
    if (!v.empty()) j[key] = v;
  };
  put_str("pod_uid", c.pod_uid);
  put_str("container_id", c.container_id);
  put_str("namespace", c.namespace_name);
  put_str("pod", c.pod_name);
  put_str("container", c.container_name);
  put_str("qos", c.qos);
  if (!c.labels.empty()) j["labels"] = c.labels;
  PutOpt(j, "cpu_usage_us", c.cpu_usage_us);
  PutOpt(j, "cpu_periods", c.cpu_periods);
  PutOpt(j, "cpu_throttled_periods", c.cpu_throttled_periods);
  PutOpt(j, "cpu_throttled_us", c.cpu_throttled_us);
  PutOpt(j, "cpu_limit_cores", c.cpu_limit_cores);
  PutOpt(j, "mem_usage_bytes", c.mem_usage_bytes);
  PutOpt(j, "mem_working_set_bytes", c.mem_working_set_bytes);
  PutOpt(j, "mem_limit_bytes", c.mem_limit_bytes);
  PutOpt(j, "oom_kills", c.oom_kills);
  if (c.psi_cpu) j["psi_cpu"] = EncodePsi(*c.psi_cpu);
  if (c.psi_memory) j["psi_memory"] = EncodePsi(*c.psi_memory);
  if (c.psi_io) j["psi_io"] = EncodePsi(*c.psi_io);
  if (c.net) j["net"] = EncodeNet(*c.net);
  if (c.host_network) j["host_network"] = true;
  return j;
}

// Decoding: every accessor names the JSON path of what it reads, so an error says
// `samples[3].cgroups[7].cpu_usage_us: expected unsigned integer`.
class Reader {
 public:
  Status status;

  void Fail(const std::string& path, const char* what) {
    if (status.ok()) status = Status::InvalidArgument(path + ": " + what);
  }

  template <typename T>
  std::optional<T> Opt(const Json& obj, const char* key, const std::string& path) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::nullopt;
    if constexpr (std::is_same_v<T, double>) {
      if (!it->is_number()) return Fail(path + "." + key, "expected a number"), std::nullopt;
      return it->template get<double>();
    } else if constexpr (std::is_unsigned_v<T>) {
      if (!it->is_number_unsigned()) {
        return Fail(path + "." + key, "expected an unsigned integer"), std::nullopt;
      }
      uint64_t v = it->template get<uint64_t>();
      if (v > std::numeric_limits<T>::max()) {
        return Fail(path + "." + key, "out of range"), std::nullopt;
      }
      return static_cast<T>(v);
    } else {
      if (!it->is_number_integer()) {
        return Fail(path + "." + key, "expected an integer"), std::nullopt;
      }
      return it->template get<T>();
    }
  }

  template <typename T>
  T Req(const Json& obj, const char* key, const std::string& path) {
    auto v = Opt<T>(obj, key, path);
    if (!v) {
      if (status.ok()) Fail(path + "." + key, "missing");
      return T{};
    }
    return *v;
  }

  std::string Str(const Json& obj, const char* key, const std::string& path, bool required) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
      if (required) Fail(path + "." + key, "missing");
      return {};
    }
    if (!it->is_string()) return Fail(path + "." + key, "expected a string"), std::string();
    return it->get<std::string>();
  }

  const Json* Obj(const Json& obj, const char* key, const std::string& path) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    if (!it->is_object()) return Fail(path + "." + key, "expected an object"), nullptr;
    return &*it;
  }

  const Json* Arr(const Json& obj, const char* key, const std::string& path) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    if (!it->is_array()) return Fail(path + "." + key, "expected an array"), nullptr;
    return &*it;
  }

  std::optional<PsiTotals> Psi(const Json& obj, const char* key, const std::string& path) {
    const Json* p = Obj(obj, key, path);
    if (!p) return std::nullopt;
    std::string sub = path + "." + key;
    return PsiTotals{Opt<uint64_t>(*p, "some_us", sub), Opt<uint64_t>(*p, "full_us", sub)};
  }

  NetCounters Net(const Json& j, const std::string& path) {
    NetCounters n;
    if (!j.is_object()) return Fail(path, "expected an object"), n;
    n.interface = Str(j, "if", path, true);
    n.rx_bytes = Req<uint64_t>(j, "rx_bytes", path);
    n.rx_packets = Req<uint64_t>(j, "rx_packets", path);
    n.rx_errors = Req<uint64_t>(j, "rx_errors", path);
    n.rx_drops = Req<uint64_t>(j, "rx_drops", path);
    n.tx_bytes = Req<uint64_t>(j, "tx_bytes", path);
    n.tx_packets = Req<uint64_t>(j, "tx_packets", path);
    n.tx_errors = Req<uint64_t>(j, "tx_errors", path);
    n.tx_drops = Req<uint64_t>(j, "tx_drops", path);
    n.speed_mbps = Opt<int64_t>(j, "speed_mbps", path);
    return n;
  }

  NodeSample Node(const Json& j, const std::string& path) {
    NodeSample n;
    n.cpu_busy_us = Opt<uint64_t>(j, "cpu_busy_us", path);
    n.cpu_total_us = Opt<uint64_t>(j, "cpu_total_us", path);
    n.cpus = Opt<uint32_t>(j, "cpus", path);
    n.mem_total_bytes = Opt<uint64_t>(j, "mem_total_bytes", path);
    n.mem_available_bytes = Opt<uint64_t>(j, "mem_available_bytes", path);
    n.psi_cpu = Psi(j, "psi_cpu", path);
    n.psi_memory = Psi(j, "psi_memory", path);
    n.psi_io = Psi(j, "psi_io", path);
    if (const Json* net = Arr(j, "net", path)) {
      for (size_t i = 0; i < net->size() && status.ok(); ++i) {
        n.net.push_back(Net((*net)[i], path + ".net[" + std::to_string(i) + "]"));
      }
    }
    n.tcp_out_segs = Opt<uint64_t>(j, "tcp_out_segs", path);
    n.tcp_retrans_segs = Opt<uint64_t>(j, "tcp_retrans_segs", path);
    n.load1 = Opt<double>(j, "load1", path);
    n.load5 = Opt<double>(j, "load5", path);
    n.load15 = Opt<double>(j, "load15", path);
    return n;
  }

  CgroupSample Cgroup(const Json& j, const std::string& path) {
    CgroupSample c;
    if (!j.is_object()) return Fail(path, "expected an object"), c;
    std::string scope = Str(j, "scope", path, true);
    if (scope == "pod") {
      c.scope = Scope::kPod;
    } else if (scope == "container") {
      c.scope = Scope::kContainer;
    } else if (scope == "cgroup") {
      c.scope = Scope::kCgroup;
    } else if (status.ok()) {
      Fail(path + ".scope", "expected pod, container or cgroup");
    }
    c.id = Str(j, "id", path, true);
    if (status.ok() && c.id.empty()) Fail(path + ".id", "empty");
    c.path = Str(j, "path", path, false);
    c.pod_uid = Str(j, "pod_uid", path, false);
    c.container_id = Str(j, "container_id", path, false);
    c.namespace_name = Str(j, "namespace", path, false);
    c.pod_name = Str(j, "pod", path, false);
    c.container_name = Str(j, "container", path, false);
    c.qos = Str(j, "qos", path, false);
    if (const Json* labels = Obj(j, "labels", path)) {
      for (const auto& [k, v] : labels->items()) {
        if (!v.is_string()) {
          Fail(path + ".labels." + k, "expected a string");
          break;
        }
        c.labels.emplace(k, v.get<std::string>());
      }
    }
    c.cpu_usage_us = Opt<uint64_t>(j, "cpu_usage_us", path);
    c.cpu_periods = Opt<uint64_t>(j, "cpu_periods", path);
    c.cpu_throttled_periods = Opt<uint64_t>(j, "cpu_throttled_periods", path);
    c.cpu_throttled_us = Opt<uint64_t>(j, "cpu_throttled_us", path);
    c.cpu_limit_cores = Opt<double>(j, "cpu_limit_cores", path);
    c.mem_usage_bytes = Opt<uint64_t>(j, "mem_usage_bytes", path);
    c.mem_working_set_bytes = Opt<uint64_t>(j, "mem_working_set_bytes", path);
    c.mem_limit_bytes = Opt<uint64_t>(j, "mem_limit_bytes", path);
    c.oom_kills = Opt<uint64_t>(j, "oom_kills", path);
    c.psi_cpu = Psi(j, "psi_cpu", path);
    c.psi_memory = Psi(j, "psi_memory", path);
    c.psi_io = Psi(j, "psi_io", path);
    if (const Json* net = Obj(j, "net", path)) c.net = Net(*net, path + ".net");
    auto hn = j.find("host_network");
    if (hn != j.end() && !hn->is_null()) {
      if (!hn->is_boolean()) {
        Fail(path + ".host_network", "expected true or false");
      } else {
        c.host_network = hn->get<bool>();
      }
    }
    return c;
  }
};

std::string DomEncodeBatch(const SampleBatch& batch) {
  Json samples = Json::array();
  for (const auto& s : batch.samples) {
    Json cgroups = Json::array();
    for (const auto& c : s.cgroups) cgroups.push_back(EncodeCgroup(c));
    samples.push_back({{"wall_ns", s.wall_ns},
                       {"mono_ns", s.mono_ns},
                       {"node", EncodeNode(s.node)},
                       {"cgroups", std::move(cgroups)}});
  }
  Json j = {{"wire_version", batch.wire_version},
            {"node", batch.node},
            {"boot_id", batch.boot_id},
            {"agent_start_ns", batch.agent_start_ns},
            {"seq", batch.seq},
            {"agent_version", batch.agent_version},
            {"interval_ns", batch.interval_ns},
            {"host", batch.host},
            {"samples", std::move(samples)}};
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<SampleBatch> DomDecodeBatch(std::string_view json) {
  Json j;
  try {
    j = Json::parse(json.begin(), json.end());
  } catch (const Json::parse_error& e) {
    return Status::InvalidArgument(std::string("sample batch is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) return Status::InvalidArgument("sample batch: expected a JSON object");
  Reader r;
  SampleBatch b;
  const std::string root = "batch";
  b.wire_version = r.Req<int>(j, "wire_version", root);
  if (r.status.ok() && b.wire_version != kWireVersion) {
    return Status::Unsupported("batch.wire_version: " + std::to_string(b.wire_version) +
                               " is not supported (this collector speaks " +
                               std::to_string(kWireVersion) + ")");
  }
  b.node = r.Str(j, "node", root, true);
  if (r.status.ok() && b.node.empty()) r.Fail("batch.node", "empty");
  b.boot_id = r.Str(j, "boot_id", root, true);
  b.agent_start_ns = r.Req<int64_t>(j, "agent_start_ns", root);
  b.seq = r.Req<uint64_t>(j, "seq", root);
  b.agent_version = r.Str(j, "agent_version", root, false);
  b.interval_ns = r.Opt<int64_t>(j, "interval_ns", root).value_or(0);
  if (const Json* host = r.Obj(j, "host", root)) {
    for (const auto& [k, v] : host->items()) {
      if (v.is_string()) b.host.emplace(k, v.get<std::string>());
    }
  }
  const Json* samples = r.Arr(j, "samples", root);
  if (r.status.ok() && !samples) r.Fail("batch.samples", "missing");
  for (size_t i = 0; r.status.ok() && i < samples->size(); ++i) {
    const Json& sj = (*samples)[i];
    std::string path = "batch.samples[" + std::to_string(i) + "]";
    if (!sj.is_object()) {
      r.Fail(path, "expected an object");
      break;
    }
    Sample s;
    s.wall_ns = r.Req<int64_t>(sj, "wall_ns", path);
    s.mono_ns = r.Opt<int64_t>(sj, "mono_ns", path).value_or(0);
    if (const Json* node = r.Obj(sj, "node", path)) s.node = r.Node(*node, path + ".node");
    if (const Json* cg = r.Arr(sj, "cgroups", path)) {
      s.cgroups.reserve(cg->size());
      for (size_t k = 0; k < cg->size() && r.status.ok(); ++k) {
        s.cgroups.push_back(r.Cgroup((*cg)[k], path + ".cgroups[" + std::to_string(k) + "]"));
      }
    }
    b.samples.push_back(std::move(s));
  }
  if (!r.status.ok()) return r.status;
  return b;
}

// ---- Benchmarks ----

const SampleBatch& Batch() {
  static const SampleBatch batch = MakeAgentBatch(7);
  return batch;
}

void SetRates(benchmark::State& state, size_t bytes) {
  state.counters["rows"] = benchmark::Counter(
      static_cast<double>(kRowsPerBatch) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
}

// Both decoders must give back the batch they were given, or the figures mean nothing.
bool CheckDecoded(benchmark::State& state, const Result<SampleBatch>& r) {
  if (!r.ok()) {
    state.SkipWithError(r.status().ToString().c_str());
    return false;
  }
  if (!(*r == Batch())) {
    state.SkipWithError("decoded batch differs from the encoded one");
    return false;
  }
  return true;
}

// arg 0: text written by EncodeBatch (members in the order DecodeBatch expects);
// arg 1: text written by the DOM encoder (members sorted by name).
std::string Text(int64_t which) {
  return which == 0 ? EncodeBatch(Batch()) : DomEncodeBatch(Batch());
}

void BM_DecodeBatch(benchmark::State& state) {
  const std::string json = Text(state.range(0));
  if (!CheckDecoded(state, DecodeBatch(json))) return;
  for (auto _ : state) {
    auto r = DecodeBatch(json);
    benchmark::DoNotOptimize(r);
  }
  SetRates(state, json.size());
}
BENCHMARK(BM_DecodeBatch)->ArgName("dom_key_order")->Arg(0)->Arg(1);

void BM_DomDecodeBatch(benchmark::State& state) {
  const std::string json = Text(state.range(0));
  if (!CheckDecoded(state, DomDecodeBatch(json))) return;
  for (auto _ : state) {
    auto r = DomDecodeBatch(json);
    benchmark::DoNotOptimize(r);
  }
  SetRates(state, json.size());
}
BENCHMARK(BM_DomDecodeBatch)->ArgName("dom_key_order")->Arg(0)->Arg(1);

// What the collector does per POST /api/v1/samples before storing: gunzip, then decode.
void BM_GunzipAndDecodeBatch(benchmark::State& state) {
  const std::string json = Text(0);
  const std::string gz = Gzip(json);
  for (auto _ : state) {
    auto plain = Gunzip(gz, 64 << 20);
    if (!plain.ok()) {
      state.SkipWithError(plain.status().ToString().c_str());
      break;
    }
    auto r = DecodeBatch(*plain);
    benchmark::DoNotOptimize(r);
  }
  SetRates(state, json.size());
  state.counters["gzip_bytes"] = static_cast<double>(gz.size());
}
BENCHMARK(BM_GunzipAndDecodeBatch);

// The collector's path since DecodeBatchInto: one gunzip buffer and one batch per thread,
// reused by the next POST. Batches from two agents (other pods, values and labels)
// alternate, as agents' POSTs do on one HTTP thread. arg 0: fresh Gunzip + DecodeBatch per
// batch (the earlier path, for the ratio); arg 1: GunzipInto + DecodeBatchInto.
void BM_GunzipAndDecodeAlternating(benchmark::State& state) {
  const SampleBatch other = MakeAgentBatch(11);
  const std::string gz[2] = {Gzip(EncodeBatch(Batch())), Gzip(EncodeBatch(other))};
  const bool reuse = state.range(0) == 1;
  std::string inflated;
  SampleBatch batch;
  size_t bytes = 0;
  size_t i = 0;
  for (auto _ : state) {
    const std::string& in = gz[i++ % 2];
    if (reuse) {
      Status s = GunzipInto(in, 64 << 20, &inflated);
      if (s.ok()) s = DecodeBatchInto(inflated, &batch);
      if (!s.ok()) {
        state.SkipWithError(s.ToString().c_str());
        break;
      }
      bytes += inflated.size();
      benchmark::DoNotOptimize(batch);
    } else {
      auto plain = Gunzip(in, 64 << 20);
      if (!plain.ok()) {
        state.SkipWithError(plain.status().ToString().c_str());
        break;
      }
      auto r = DecodeBatch(*plain);
      bytes += plain->size();
      benchmark::DoNotOptimize(r);
    }
  }
  if (reuse && !(batch == (i % 2 ? Batch() : other))) {
    state.SkipWithError("decoded batch differs from the encoded one");
  }
  state.counters["rows"] = benchmark::Counter(
      static_cast<double>(kRowsPerBatch) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_GunzipAndDecodeAlternating)->ArgName("reuse")->Arg(0)->Arg(1);

void BM_EncodeBatch(benchmark::State& state) {
  size_t bytes = 0;
  for (auto _ : state) {
    std::string json = EncodeBatch(Batch());
    bytes = json.size();
    benchmark::DoNotOptimize(json);
  }
  SetRates(state, bytes);
}
BENCHMARK(BM_EncodeBatch);

void BM_DomEncodeBatch(benchmark::State& state) {
  size_t bytes = 0;
  for (auto _ : state) {
    std::string json = DomEncodeBatch(Batch());
    bytes = json.size();
    benchmark::DoNotOptimize(json);
  }
  SetRates(state, bytes);
}
BENCHMARK(BM_DomEncodeBatch);

}  // namespace
}  // namespace jostle

BENCHMARK_MAIN();
