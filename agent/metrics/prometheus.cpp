#include "agent/metrics/prometheus.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "jostle/sample_fields.h"

namespace jostle::agent {

namespace {

enum class Type { kCounter, kGauge };

struct Family {
  std::string_view name;
  Type type;
  std::string_view help;
};

using Labels = std::vector<std::pair<std::string, std::string>>;

// Replaces every invalid UTF-8 sequence by U+FFFD so the exposition stays valid UTF-8.
std::string ValidUtf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i]);
    size_t len = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      min = 0x10000;
    }
    bool ok = len > 0 && i + len <= in.size();
    uint32_t cp = ok ? (c & (0xFF >> (len + 1))) : 0;
    for (size_t k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(in[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
    if (ok) {
      out.append(in.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

// Label value escaping of the text format: backslash, double quote, line feed.
void AppendLabelValue(std::string& out, std::string_view value) {
  for (char c : ValidUtf8(value)) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

// HELP escaping: backslash and line feed.
void AppendHelp(std::string& out, std::string_view help) {
  for (char c : help) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

void AppendDouble(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, ec == std::errc() ? end : buf);
  }
}

void AppendUint(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// "# HELP name help\n# TYPE name counter|gauge\n".
void AppendHeader(std::string& out, const Family& family) {
  out += "# HELP ";
  out += family.name;
  out += ' ';
  AppendHelp(out, family.help);
  out += "\n# TYPE ";
  out += family.name;
  out += family.type == Type::kCounter ? " counter\n" : " gauge\n";
}

// A label name: [a-zA-Z_][a-zA-Z0-9_]*; other characters become '_'.
std::string SanitizedLabelName(std::string_view raw) {
  std::string name(raw);
  for (char& c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) c = '_';
  }
  return name;
}

// `{k="v",...} ` (with the space before the value); just the space when there are no labels.
void AppendLabels(std::string& out, const Labels& labels) {
  if (!labels.empty()) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out += ',';
      first = false;
      out += k;
      out += "=\"";
      AppendLabelValue(out, v);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
}

// Collects series per family in first-use order, then writes each family once with its
// HELP and TYPE lines.
class Exposition {
 public:
  void Add(const Family& family, const Labels& labels, double value) {
    std::string& body = Body(family);
    AppendName(body, family.name, labels);
    AppendDouble(body, value);
    body += '\n';
  }
  void Add(const Family& family, const Labels& labels, uint64_t value) {
    std::string& body = Body(family);
    AppendName(body, family.name, labels);
    AppendUint(body, value);
    body += '\n';
  }
  template <typename T>
  void Add(const Family& family, const Labels& labels, const std::optional<T>& value) {
    if (value) Add(family, labels, *value);
  }
  // Microseconds as seconds.
  void AddMicros(const Family& family, const Labels& labels, std::optional<uint64_t> us) {
    if (us) Add(family, labels, static_cast<double>(*us) / 1e6);
  }

  void RenderTo(std::string& out) const {
    for (const auto& [family, body] : families_) {
      AppendHeader(out, *family);
      out += body;
    }
  }

 private:
  // Families are the constants below, so their address identifies them.
  std::string& Body(const Family& family) {
    for (auto& [f, body] : families_) {
      if (f == &family) return body;
    }
    families_.emplace_back(&family, std::string());
    return families_.back().second;
  }
  static void AppendName(std::string& out, std::string_view name, const Labels& labels) {
    out += name;
    AppendLabels(out, labels);
  }

  std::vector<std::pair<const Family*, std::string>> families_;
};

// --- Node families ---
constexpr Family kNodeCpuBusy{"jostle_node_cpu_busy_seconds_total", Type::kCounter,
                              "CPU time spent busy (user+nice+system+irq+softirq+steal) summed "
                              "over all CPUs, from /proc/stat."};
constexpr Family kNodeCpuTotal{"jostle_node_cpu_seconds_total", Type::kCounter,
                               "CPU time busy, idle or in iowait summed over all CPUs, from "
                               "/proc/stat."};
constexpr Family kNodeCpus{"jostle_node_cpus", Type::kGauge,
                           "Online CPUs (cpuN lines of /proc/stat)."};
constexpr Family kNodeMemTotal{"jostle_node_memory_total_bytes", Type::kGauge,
                               "MemTotal from /proc/meminfo."};
constexpr Family kNodeMemAvailable{"jostle_node_memory_available_bytes", Type::kGauge,
                                   "MemAvailable from /proc/meminfo."};
constexpr Family kNodePsi[3][2] = {
    {{"jostle_node_pressure_cpu_some_seconds_total", Type::kCounter,
      "Time some tasks stalled waiting for CPU, from /proc/pressure/cpu."},
     {"jostle_node_pressure_cpu_full_seconds_total", Type::kCounter,
      "Time all non-idle tasks stalled waiting for CPU, from /proc/pressure/cpu."}},
    {{"jostle_node_pressure_memory_some_seconds_total", Type::kCounter,
      "Time some tasks stalled waiting for memory, from /proc/pressure/memory."},
     {"jostle_node_pressure_memory_full_seconds_total", Type::kCounter,
      "Time all non-idle tasks stalled waiting for memory, from /proc/pressure/memory."}},
    {{"jostle_node_pressure_io_some_seconds_total", Type::kCounter,
      "Time some tasks stalled waiting for I/O, from /proc/pressure/io."},
     {"jostle_node_pressure_io_full_seconds_total", Type::kCounter,
      "Time all non-idle tasks stalled waiting for I/O, from /proc/pressure/io."}},
};
constexpr Family kNodeNetSpeed{"jostle_node_network_speed_bytes", Type::kGauge,
                               "Link speed in bytes per second, from /sys/class/net/IF/speed; "
                               "absent when unknown."};
constexpr Family kNodeTcpOut{"jostle_node_tcp_out_segments_total", Type::kCounter,
                             "TCP segments sent (Tcp OutSegs of /proc/net/snmp)."};
constexpr Family kNodeTcpRetrans{"jostle_node_tcp_retransmitted_segments_total", Type::kCounter,
                                 "TCP segments retransmitted (Tcp RetransSegs of "
                                 "/proc/net/snmp)."};
constexpr Family kNodeLoad1{"jostle_node_load1", Type::kGauge, "1-minute load average."};
constexpr Family kNodeLoad5{"jostle_node_load5", Type::kGauge, "5-minute load average."};
constexpr Family kNodeLoad15{"jostle_node_load15", Type::kGauge, "15-minute load average."};

// Network counter families, [receive/transmit][bytes/packets/drops/errors], for the node
// (per interface) and for pods (sum over the pod's namespace).
struct NetFamilies {
  Family f[2][4];
};
constexpr NetFamilies kNodeNet{{
    {{"jostle_node_network_receive_bytes_total", Type::kCounter,
      "Bytes received per interface, from /proc/1/net/dev."},
     {"jostle_node_network_receive_packets_total", Type::kCounter,
      "Packets received per interface, from /proc/1/net/dev."},
     {"jostle_node_network_receive_drops_total", Type::kCounter,
      "Received packets dropped per interface, from /proc/1/net/dev."},
     {"jostle_node_network_receive_errors_total", Type::kCounter,
      "Receive errors per interface, from /proc/1/net/dev."}},
    {{"jostle_node_network_transmit_bytes_total", Type::kCounter,
      "Bytes sent per interface, from /proc/1/net/dev."},
     {"jostle_node_network_transmit_packets_total", Type::kCounter,
      "Packets sent per interface, from /proc/1/net/dev."},
     {"jostle_node_network_transmit_drops_total", Type::kCounter,
      "Outgoing packets dropped per interface, from /proc/1/net/dev."},
     {"jostle_node_network_transmit_errors_total", Type::kCounter,
      "Transmit errors per interface, from /proc/1/net/dev."}},
}};
constexpr NetFamilies kPodNet{{
    {{"jostle_pod_network_receive_bytes_total", Type::kCounter,
      "Bytes received in the pod's network namespace (lo excluded)."},
     {"jostle_pod_network_receive_packets_total", Type::kCounter,
      "Packets received in the pod's network namespace (lo excluded)."},
     {"jostle_pod_network_receive_drops_total", Type::kCounter,
      "Received packets dropped in the pod's network namespace (lo excluded)."},
     {"jostle_pod_network_receive_errors_total", Type::kCounter,
      "Receive errors in the pod's network namespace (lo excluded)."}},
    {{"jostle_pod_network_transmit_bytes_total", Type::kCounter,
      "Bytes sent from the pod's network namespace (lo excluded)."},
     {"jostle_pod_network_transmit_packets_total", Type::kCounter,
      "Packets sent from the pod's network namespace (lo excluded)."},
     {"jostle_pod_network_transmit_drops_total", Type::kCounter,
      "Outgoing packets dropped in the pod's network namespace (lo excluded)."},
     {"jostle_pod_network_transmit_errors_total", Type::kCounter,
      "Transmit errors in the pod's network namespace (lo excluded)."}},
}};

// --- Cgroup families: the rows of jostle/sample_fields.h, then the pod network and info ---
constexpr Family kPodInfo{"jostle_pod_info", Type::kGauge,
                          "Always 1: the pod's QoS class and selected labels."};

// --- Agent families ---
constexpr Family kSamples{"jostle_agent_samples_total", Type::kCounter,
                          "Sampling ticks completed since the agent started."};
constexpr Family kSampleDuration{"jostle_agent_sample_duration_seconds", Type::kGauge,
                                 "Duration of the last sampling tick."};
constexpr Family kReadErrors{"jostle_agent_read_errors_total", Type::kCounter,
                             "Failed reads or parses of host files, by kind."};
constexpr Family kSpoolBytes{"jostle_agent_spool_bytes", Type::kGauge,
                             "Bytes of batches waiting in the disk spool."};
constexpr Family kShipped{"jostle_agent_batches_shipped_total", Type::kCounter,
                          "Sample batches acknowledged by the collector."};
constexpr Family kDropped{"jostle_agent_batches_dropped_total", Type::kCounter,
                          "Sample batches discarded without being shipped."};
constexpr Family kUnauthorized{"jostle_agent_batches_unauthorized_total", Type::kCounter,
                               "Sample batches the collector refused with 401 or 403; they "
                               "stay in the spool and are retried."};
constexpr Family kRecovered{"jostle_agent_batches_recovered_total", Type::kCounter,
                            "Sample batches rebuilt at start-up from the ticks an agent that "
                            "was killed had recorded."};
constexpr Family kLastSample{"jostle_agent_last_sample_timestamp_seconds", Type::kGauge,
                             "Wall-clock time of the sample shown here, seconds since the "
                             "Unix epoch."};

void AddNet(Exposition& x, const NetFamilies& families, const Labels& labels,
            const NetCounters& c) {
  const uint64_t values[2][4] = {{c.rx_bytes, c.rx_packets, c.rx_drops, c.rx_errors},
                                 {c.tx_bytes, c.tx_packets, c.tx_drops, c.tx_errors}};
  for (int dir = 0; dir < 2; ++dir) {
    for (int k = 0; k < 4; ++k) x.Add(families.f[dir][k], labels, values[dir][k]);
  }
}

void AddPsi(Exposition& x, const Family (&families)[3][2], const Labels& labels,
            const std::optional<PsiTotals>* psi) {
  for (int r = 0; r < 3; ++r) {
    if (!psi[r]) continue;
    x.AddMicros(families[r][0], labels, psi[r]->some_us);
    x.AddMicros(families[r][1], labels, psi[r]->full_us);
  }
}

void AddNode(Exposition& x, const NodeSample& n, const std::string& node) {
  const Labels labels = {{"node", node}};
  x.AddMicros(kNodeCpuBusy, labels, n.cpu_busy_us);
  x.AddMicros(kNodeCpuTotal, labels, n.cpu_total_us);
  if (n.cpus) x.Add(kNodeCpus, labels, static_cast<uint64_t>(*n.cpus));
  x.Add(kNodeMemTotal, labels, n.mem_total_bytes);
  x.Add(kNodeMemAvailable, labels, n.mem_available_bytes);
  const std::optional<PsiTotals> psi[3] = {n.psi_cpu, n.psi_memory, n.psi_io};
  AddPsi(x, kNodePsi, labels, psi);
  for (const NetCounters& c : n.net) {
    AddNet(x, kNodeNet, {{"node", node}, {"interface", c.interface}}, c);
  }
  for (const NetCounters& c : n.net) {
    if (c.speed_mbps && *c.speed_mbps > 0) {
      x.Add(kNodeNetSpeed, {{"node", node}, {"interface", c.interface}},
            static_cast<uint64_t>(*c.speed_mbps) * 125000);  // Mbit/s -> bytes/s
    }
  }
  x.Add(kNodeTcpOut, labels, n.tcp_out_segs);
  x.Add(kNodeTcpRetrans, labels, n.tcp_retrans_segs);
  x.Add(kNodeLoad1, labels, n.load1);
  x.Add(kNodeLoad5, labels, n.load5);
  x.Add(kNodeLoad15, labels, n.load15);
}

Labels CgroupLabels(const CgroupSample& c, const std::string& node) {
  return {{"node", node},      {"scope", ScopeName(c.scope)},
          {"id", c.id},        {"namespace", c.namespace_name},
          {"pod", c.pod_name}, {"container", c.container_name}};
}

// jostle_pod_info's labels: the series labels, qos, then label_<sanitised key> per pod
// label (the first of two keys that sanitise alike wins).
Labels PodInfoLabels(const CgroupSample& c, const std::string& node) {
  Labels info = CgroupLabels(c, node);
  info.emplace_back("qos", c.qos);
  std::set<std::string> used;
  for (const auto& [k, v] : info) used.insert(k);
  for (const auto& [k, v] : c.labels) {
    std::string name = "label_" + SanitizedLabelName(k);
    if (!used.insert(name).second) continue;
    info.emplace_back(std::move(name), v);
  }
  return info;
}

// The cgroup families in the order a cgroup's series are added; a family's place in the
// output is the first cgroup (in sample order) that has it, then this order: the scalars
// of jostle/sample_fields.h, its PSI files [some, full], the pod network [receive,
// transmit] x [bytes, packets, drops, errors], jostle_pod_info.
constexpr int kFieldPsiFirst = static_cast<int>(fields::kCgroupScalarCount);
constexpr int kFieldNetFirst = kFieldPsiFirst + 2 * static_cast<int>(fields::kCgroupPsiCount);
constexpr int kFieldPodInfo = kFieldNetFirst + 8;
constexpr int kCgroupFields = kFieldPodInfo + 1;

constexpr Type TypeOf(fields::Kind kind) {
  return kind == fields::Kind::kCounter ? Type::kCounter : Type::kGauge;
}

constexpr std::array<Family, kCgroupFields> MakeCgroupFamilies() {
  std::array<Family, kCgroupFields> out{};
  size_t i = 0;
  for (const fields::Scalar& f : fields::kCgroupScalars) {
    out[i++] = {f.family, TypeOf(f.kind), f.help};
  }
  for (const fields::Psi& p : fields::kCgroupPsi) {
    out[i++] = {p.some_family, Type::kCounter, p.some_help};
    out[i++] = {p.full_family, Type::kCounter, p.full_help};
  }
  for (const auto& direction : kPodNet.f) {
    for (const Family& f : direction) out[i++] = f;
  }
  out[i++] = kPodInfo;
  return out;
}
constexpr std::array<Family, kCgroupFields> kCgroupFamilies = MakeCgroupFamilies();

const Family& CgroupFamily(int field) { return kCgroupFamilies[static_cast<size_t>(field)]; }

// One series value: absent, an integer, or a float (seconds from microseconds, cores).
struct Value {
  enum class Kind : uint8_t { kAbsent, kUint, kDouble } kind = Kind::kAbsent;
  uint64_t u = 0;
  double d = 0;
};

Value Uint(const std::optional<uint64_t>& v) {
  return v ? Value{Value::Kind::kUint, *v, 0} : Value{};
}
Value Micros(const std::optional<uint64_t>& us) {
  return us ? Value{Value::Kind::kDouble, 0, static_cast<double>(*us) / 1e6} : Value{};
}

Value CgroupValue(const CgroupSample& c, int field) {
  if (field < kFieldPsiFirst) {
    const fields::Scalar& f = fields::kCgroupScalars[field];
    if (f.f64 != nullptr) {
      const std::optional<double>& v = c.*f.f64;
      return v ? Value{Value::Kind::kDouble, 0, *v} : Value{};
    }
    const std::optional<uint64_t>& v = c.*f.u64;
    return f.unit == fields::Unit::kMicroseconds ? Micros(v) : Uint(v);
  }
  if (field == kFieldPodInfo) {
    return c.scope == Scope::kPod ? Value{Value::Kind::kUint, 1, 0} : Value{};
  }
  if (field < kFieldNetFirst) {
    const std::optional<PsiTotals>& psi =
        c.*fields::kCgroupPsi[(field - kFieldPsiFirst) / 2].member;
    if (!psi) return {};
    return Micros((field - kFieldPsiFirst) % 2 == 0 ? psi->some_us : psi->full_us);
  }
  if (!c.net) return {};
  const NetCounters& n = *c.net;
  const uint64_t values[8] = {n.rx_bytes, n.rx_packets, n.rx_drops, n.rx_errors,
                              n.tx_bytes, n.tx_packets, n.tx_drops, n.tx_errors};
  return {Value::Kind::kUint, values[field - kFieldNetFirst], 0};
}

void AddSelf(Exposition& x, const AgentSelfStats& self, const std::string& node, int64_t wall_ns) {
  const Labels labels = {{"node", node}};
  x.Add(kSamples, labels, self.samples_total);
  x.Add(kSampleDuration, labels, self.sample_duration_seconds);
  for (const auto& [kind, count] : self.read_errors) {
    x.Add(kReadErrors, {{"node", node}, {"kind", kind}}, count);
  }
  x.Add(kSpoolBytes, labels, self.spool_bytes);
  x.Add(kShipped, labels, self.batches_shipped_total);
  x.Add(kDropped, labels, self.batches_dropped_total);
  x.Add(kUnauthorized, labels, self.batches_unauthorized_total);
  x.Add(kRecovered, labels, self.batches_recovered_total);
  if (wall_ns > 0) x.Add(kLastSample, labels, static_cast<double>(wall_ns) / 1e9);
}

}  // namespace

std::string RenderPrometheus(const jostle::Sample& latest, const std::string& node,
                             const AgentSelfStats& self) {
  std::string out;
  PrometheusRenderer(node).Render(latest, self, out);
  return out;
}

PrometheusRenderer::PrometheusRenderer(std::string node) : node_(std::move(node)) {}

void PrometheusRenderer::Build(const CgroupSample& c, SeriesLabels& e) const {
  e.scope = c.scope;
  e.namespace_name = c.namespace_name;
  e.pod_name = c.pod_name;
  e.container_name = c.container_name;
  e.block.clear();
  AppendLabels(e.block, CgroupLabels(c, node_));
  e.info_block.clear();
  e.qos.clear();
  e.labels.clear();
  if (c.scope == Scope::kPod) {
    e.qos = c.qos;
    e.labels = c.labels;
    AppendLabels(e.info_block, PodInfoLabels(c, node_));
  }
}

const PrometheusRenderer::SeriesLabels& PrometheusRenderer::LabelsOf(const CgroupSample& c) {
  auto [it, inserted] = cache_.try_emplace(c.id);
  SeriesLabels& e = it->second;
  bool same = !inserted && e.scope == c.scope && e.namespace_name == c.namespace_name &&
              e.pod_name == c.pod_name && e.container_name == c.container_name &&
              (c.scope != Scope::kPod || (e.qos == c.qos && e.labels == c.labels));
  if (!same && !inserted && e.render == render_) {
    // Another series of this render has this id (ids are unique per sample in practice):
    // build this one's labels apart, for this render only.
    SeriesLabels& spilled = spill_.emplace_back();
    Build(c, spilled);
    return spilled;
  }
  if (!same) Build(c, e);
  e.render = render_;
  return e;
}

void PrometheusRenderer::RenderSeries(const jostle::Sample& latest, std::string& out) {
  ++render_;
  Exposition node;
  AddNode(node, latest.node, node_);
  node.RenderTo(out);

  const std::vector<CgroupSample>& cgroups = latest.cgroups;
  spill_.clear();
  // spill_ must not reallocate while series_ points into it.
  spill_.reserve(cgroups.size());
  series_.clear();
  series_.reserve(cgroups.size());
  for (const CgroupSample& c : cgroups) series_.push_back(&LabelsOf(c));
  std::erase_if(cache_, [this](const auto& entry) { return entry.second.render != render_; });

  // Families in order of first use, as Exposition would collect them.
  int order[kCgroupFields];
  int families = 0;
  bool seen[kCgroupFields] = {};
  for (size_t i = 0; i < cgroups.size() && families < kCgroupFields; ++i) {
    for (int f = 0; f < kCgroupFields; ++f) {
      if (seen[f] || CgroupValue(cgroups[i], f).kind == Value::Kind::kAbsent) continue;
      seen[f] = true;
      order[families++] = f;
    }
  }
  for (int k = 0; k < families; ++k) {
    const int f = order[k];
    const Family& family = CgroupFamily(f);
    AppendHeader(out, family);
    for (size_t i = 0; i < cgroups.size(); ++i) {
      Value v = CgroupValue(cgroups[i], f);
      if (v.kind == Value::Kind::kAbsent) continue;
      out += family.name;
      out += f == kFieldPodInfo ? series_[i]->info_block : series_[i]->block;
      if (v.kind == Value::Kind::kUint) {
        AppendUint(out, v.u);
      } else {
        AppendDouble(out, v.d);
      }
      out += '\n';
    }
  }
}

void PrometheusRenderer::RenderSelf(const AgentSelfStats& self, int64_t wall_ns,
                                    std::string& out) const {
  Exposition x;
  AddSelf(x, self, node_, wall_ns);
  x.RenderTo(out);
}

void PrometheusRenderer::Render(const jostle::Sample& latest, const AgentSelfStats& self,
                                std::string& out) {
  RenderSeries(latest, out);
  RenderSelf(self, latest.wall_ns, out);
}

}  // namespace jostle::agent
