// RenderPrometheus: exact lines for a few series, and the whole output checked by the real
// `promtool check metrics` (Debian package prometheus).
#include "agent/metrics/prometheus.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "jostle/sample_fields.h"
#include "support/real_parts.h"

namespace jostle::agent {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct PromtoolResult {
  int exit_code = -1;
  std::string output;
};

// Pipes `text` into `promtool check metrics` and returns its exit code and output.
PromtoolResult Promtool(const std::string& text) {
  std::string out_path = ::testing::TempDir() + "promtool_out_" + std::to_string(::getpid());
  std::string cmd = "promtool check metrics > '" + out_path + "' 2>&1";
  PromtoolResult result;
  FILE* pipe = ::popen(cmd.c_str(), "w");
  if (pipe == nullptr) return result;
  std::fwrite(text.data(), 1, text.size(), pipe);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(out_path);
  result.output.assign(std::istreambuf_iterator<char>(in), {});
  std::remove(out_path.c_str());
  return result;
}

bool HavePromtool() { return ::access("/usr/bin/promtool", X_OK) == 0; }

NetCounters Net(std::string name, uint64_t base, std::optional<int64_t> speed) {
  NetCounters c;
  c.interface = std::move(name);
  c.rx_bytes = base + 1;
  c.rx_packets = base + 2;
  c.rx_errors = base + 3;
  c.rx_drops = base + 4;
  c.tx_bytes = base + 5;
  c.tx_packets = base + 6;
  c.tx_errors = base + 7;
  c.tx_drops = base + 8;
  c.speed_mbps = speed;
  return c;
}

// A tick with every kind of series, and label values that try to break the format.
Sample RichSample() {
  Sample s;
  s.wall_ns = 1715000000123456789;
  s.mono_ns = 123456789;
  NodeSample& n = s.node;
  n.cpu_busy_us = 111270000;
  n.cpu_total_us = 10320610000;
  n.cpus = 2;
  n.mem_total_bytes = 8221990912;
  n.mem_available_bytes = 5879025664;
  n.psi_cpu = PsiTotals{83451000, std::nullopt};  // old kernel: no cpu full line
  n.psi_memory = PsiTotals{1234567, 765432};
  n.psi_io = PsiTotals{99887766, 55443322};
  n.net = {Net("eth0", 1000, 10000), Net("veth\"x\\y", 2000, std::nullopt)};
  n.tcp_out_segs = 3456000;
  n.tcp_retrans_segs = 4321;
  n.load1 = 1.52;
  n.load5 = 0.87;
  n.load15 = 0.33;

  CgroupSample pod;
  pod.scope = Scope::kPod;
  pod.id = "0b7f3c9e-1111-2222-3333-444455556666";
  pod.pod_uid = pod.id;
  pod.path = "/kubepods/burstable/pod0b7f3c9e-1111-2222-3333-444455556666";
  pod.namespace_name = "ci-\"quoted\"";
  pod.pod_name = "back\\slash\nnew-line";
  pod.qos = "burstable";
  pod.labels = {{"app.kubernetes.io/name", "ünïcödé ✓ 測試"},
                {"app_kubernetes_io_name", "collides after sanitising"},
                {"team", "a\"b\\c\nd"}};
  pod.cpu_usage_us = 12500000;
  pod.cpu_periods = 1000;
  pod.cpu_throttled_periods = 250;
  pod.cpu_throttled_us = 3000001;
  pod.cpu_limit_cores = 1.5;
  pod.mem_usage_bytes = 104857600;
  pod.mem_working_set_bytes = 94371840;
  pod.mem_limit_bytes = 268435456;
  pod.oom_kills = 1;
  pod.mem_high_events = 12;
  pod.mem_max_events = 2;
  pod.mem_pgscan = 4096;
  pod.mem_workingset_refaults = 77;
  pod.psi_cpu = PsiTotals{500, 200};
  pod.psi_memory = PsiTotals{0, 0};
  pod.psi_io = PsiTotals{7, 3};
  pod.net = Net("*", 5000, std::nullopt);

  CgroupSample container = pod;
  container.scope = Scope::kContainer;
  container.container_id = "3f2a1b";
  container.id = pod.id + "/3f2a1b";
  container.container_name = "build";
  container.labels.clear();
  container.net.reset();
  container.cpu_limit_cores.reset();  // unlimited
  container.mem_limit_bytes.reset();

  CgroupSample plain;
  plain.scope = Scope::kCgroup;
  plain.id = "/system.slice/docker-\xff\xfe.scope";  // not UTF-8
  plain.path = plain.id;
  plain.cpu_usage_us = 42;

  s.cgroups = {pod, container, plain};
  return s;
}

AgentSelfStats RichSelf() {
  AgentSelfStats self;
  self.samples_total = 3600;
  self.sample_duration_seconds = 0.00125;
  self.read_errors = {{"node", 2}, {"cgroup", 17}};
  self.spool_bytes = 4096;
  self.batches_shipped_total = 59;
  self.batches_dropped_total = 1;
  return self;
}

TEST(RenderPrometheus, ExactLinesForNodeSeries) {
  auto lines = Lines(RenderPrometheus(RichSample(), "node-a", RichSelf()));
  EXPECT_THAT(lines, Contains("jostle_node_cpu_busy_seconds_total{node=\"node-a\"} 111.27"));
  EXPECT_THAT(lines, Contains("jostle_node_cpu_seconds_total{node=\"node-a\"} 10320.61"));
  EXPECT_THAT(lines, Contains("jostle_node_cpus{node=\"node-a\"} 2"));
  EXPECT_THAT(lines, Contains("jostle_node_memory_total_bytes{node=\"node-a\"} 8221990912"));
  EXPECT_THAT(lines,
              Contains("jostle_node_pressure_memory_full_seconds_total{node=\"node-a\"} 0.765432"));
  EXPECT_THAT(lines, Contains("jostle_node_network_receive_drops_total{node=\"node-a\","
                              "interface=\"eth0\"} 1004"));
  EXPECT_THAT(lines, Contains("jostle_node_network_transmit_errors_total{node=\"node-a\","
                              "interface=\"veth\\\"x\\\\y\"} 2007"));
  EXPECT_THAT(lines, Contains("jostle_node_network_speed_bytes{node=\"node-a\","
                              "interface=\"eth0\"} 1250000000"));
  EXPECT_THAT(lines,
              Contains("jostle_node_tcp_retransmitted_segments_total{node=\"node-a\"} 4321"));
  EXPECT_THAT(lines, Contains("jostle_node_load15{node=\"node-a\"} 0.33"));
  EXPECT_THAT(lines, Contains("# TYPE jostle_node_cpu_seconds_total counter"));
  EXPECT_THAT(lines, Contains("# TYPE jostle_node_memory_available_bytes gauge"));
}

TEST(RenderPrometheus, ExactLinesForCgroupSeriesWithHostileLabels) {
  std::string text = RenderPrometheus(RichSample(), "node-a", RichSelf());
  auto lines = Lines(text);
  const std::string pod_labels =
      "node=\"node-a\",scope=\"pod\",id=\"0b7f3c9e-1111-2222-3333-444455556666\","
      "namespace=\"ci-\\\"quoted\\\"\",pod=\"back\\\\slash\\nnew-line\",container=\"\"";
  EXPECT_THAT(lines, Contains("jostle_container_cpu_usage_seconds_total{" + pod_labels + "} 12.5"));
  EXPECT_THAT(lines, Contains("jostle_container_cpu_cfs_throttled_seconds_total{" + pod_labels +
                              "} 3.000001"));
  EXPECT_THAT(lines, Contains("jostle_container_cpu_limit_cores{" + pod_labels + "} 1.5"));
  EXPECT_THAT(lines, Contains("jostle_pod_network_receive_bytes_total{" + pod_labels + "} 5001"));
  EXPECT_THAT(lines, Contains("jostle_pod_info{" + pod_labels +
                              ",qos=\"burstable\",label_app_kubernetes_io_name=\"ünïcödé ✓ "
                              "測試\",label_team=\"a\\\"b\\\\c\\nd\"} 1"));
  const std::string container_labels =
      "node=\"node-a\",scope=\"container\",id=\"0b7f3c9e-1111-2222-3333-444455556666/3f2a1b\","
      "namespace=\"ci-\\\"quoted\\\"\",pod=\"back\\\\slash\\nnew-line\",container=\"build\"";
  EXPECT_THAT(lines, Contains("jostle_container_memory_working_set_bytes{" + container_labels +
                              "} 94371840"));
  // Invalid UTF-8 in a cgroup path becomes U+FFFD.
  EXPECT_THAT(lines, Contains("jostle_container_cpu_usage_seconds_total{node=\"node-a\","
                              "scope=\"cgroup\",id=\"/system.slice/docker-\xEF\xBF\xBD\xEF\xBF\xBD"
                              ".scope\",namespace=\"\",pod=\"\",container=\"\"} 4.2e-05"));
  // The container is unlimited and has no own network: those series are absent, not 0.
  EXPECT_THAT(text, Not(HasSubstr("jostle_container_cpu_limit_cores{" + container_labels)));
  EXPECT_THAT(text, Not(HasSubstr("jostle_pod_network_receive_bytes_total{" + container_labels)));
  EXPECT_THAT(text, Not(HasSubstr("jostle_node_pressure_cpu_full_seconds_total")));
}

TEST(RenderPrometheus, MemoryEventAndReclaimCounters) {
  auto lines = Lines(RenderPrometheus(RichSample(), "node-a", RichSelf()));
  const std::string pod_labels =
      "node=\"node-a\",scope=\"pod\",id=\"0b7f3c9e-1111-2222-3333-444455556666\","
      "namespace=\"ci-\\\"quoted\\\"\",pod=\"back\\\\slash\\nnew-line\",container=\"\"";
  EXPECT_THAT(lines, Contains("# TYPE jostle_container_memory_high_events_total counter"));
  EXPECT_THAT(lines, Contains("jostle_container_memory_high_events_total{" + pod_labels + "} 12"));
  EXPECT_THAT(lines, Contains("jostle_container_memory_max_events_total{" + pod_labels + "} 2"));
  EXPECT_THAT(lines,
              Contains("jostle_container_memory_pages_scanned_total{" + pod_labels + "} 4096"));
  EXPECT_THAT(lines,
              Contains("jostle_container_memory_workingset_refaults_total{" + pod_labels + "} 77"));
}

// Every row of jostle/sample_fields.h is rendered, once, with its HELP and TYPE (RichSample
// sets every reading: a new row shows up here until its test data does too).
TEST(RenderPrometheus, EveryFieldTableRowHasItsFamily) {
  const std::string text = RenderPrometheus(RichSample(), "node-a", RichSelf());
  auto once = [&](const std::string& line) {
    size_t at = text.find(line + "\n");
    ASSERT_NE(at, std::string::npos) << line;
    EXPECT_EQ(text.find(line + "\n", at + 1), std::string::npos) << line;
  };
  for (const fields::Scalar& f : fields::kCgroupScalars) {
    once("# TYPE " + std::string(f.family) +
         (f.kind == fields::Kind::kCounter ? " counter" : " gauge"));
    once("# HELP " + std::string(f.family) + " " + std::string(f.help));
  }
  for (const fields::Psi& p : fields::kCgroupPsi) {
    once("# TYPE " + std::string(p.some_family) + " counter");
    once("# TYPE " + std::string(p.full_family) + " counter");
  }
}

TEST(RenderPrometheus, AgentSelfSeries) {
  auto lines = Lines(RenderPrometheus(RichSample(), "node-a", RichSelf()));
  EXPECT_THAT(lines, Contains("jostle_agent_samples_total{node=\"node-a\"} 3600"));
  EXPECT_THAT(lines, Contains("jostle_agent_sample_duration_seconds{node=\"node-a\"} 0.00125"));
  EXPECT_THAT(lines,
              Contains("jostle_agent_read_errors_total{node=\"node-a\",kind=\"cgroup\"} 17"));
  EXPECT_THAT(lines, Contains("jostle_agent_spool_bytes{node=\"node-a\"} 4096"));
  EXPECT_THAT(lines, Contains("jostle_agent_batches_dropped_total{node=\"node-a\"} 1"));
  EXPECT_THAT(lines, Contains("jostle_agent_last_sample_timestamp_seconds{node=\"node-a\"} "
                              "1715000000.1234567"));
}

TEST(RenderPrometheus, OneHelpAndTypePerFamilyBeforeItsSeries) {
  auto lines = Lines(RenderPrometheus(RichSample(), "node-a", RichSelf()));
  std::map<std::string, int> types;
  std::map<std::string, int> helps;
  std::string current;
  for (const std::string& line : lines) {
    if (line.starts_with("# TYPE ")) {
      current = line.substr(7, line.find(' ', 7) - 7);
      ++types[current];
    } else if (line.starts_with("# HELP ")) {
      ++helps[line.substr(7, line.find(' ', 7) - 7)];
    } else {
      std::string name = line.substr(0, line.find_first_of("{ "));
      EXPECT_EQ(name, current) << "series outside its family block: " << line;
    }
  }
  EXPECT_GT(types.size(), 50u);
  for (const auto& [name, count] : types) {
    EXPECT_EQ(count, 1) << name;
    EXPECT_EQ(helps[name], 1) << name;
  }
}

TEST(RenderPrometheus, EmptySampleHasOnlyAgentSeries) {
  std::string text = RenderPrometheus(Sample{}, "node-a", AgentSelfStats{});
  EXPECT_THAT(text, Not(HasSubstr("jostle_node_")));
  EXPECT_THAT(text, Not(HasSubstr("jostle_container_")));
  EXPECT_THAT(text, HasSubstr("jostle_agent_samples_total{node=\"node-a\"} 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("jostle_agent_sample_duration_seconds{")));
  EXPECT_THAT(text, Not(HasSubstr("jostle_agent_last_sample_timestamp_seconds{")));
}

// PrometheusRenderer keeps label sets between renders: every render must still be the text
// of a fresh render of the same sample, as series come, go and change their names.
TEST(PrometheusRenderer, SameTextAsAFreshRenderAsSeriesComeGoAndChange) {
  PrometheusRenderer renderer("node-a");
  const AgentSelfStats self = RichSelf();
  auto expect_fresh = [&](const Sample& s, const char* step) {
    SCOPED_TRACE(step);
    std::string out;
    renderer.Render(s, self, out);
    EXPECT_EQ(out, RenderPrometheus(s, "node-a", self));
    return out;
  };
  Sample s = RichSample();
  expect_fresh(s, "first");
  EXPECT_EQ(renderer.cached_series(), 3u);

  s.cgroups[0].cpu_usage_us = 99000000;
  s.cgroups[1].psi_io.reset();
  std::string text = expect_fresh(s, "values changed");
  EXPECT_THAT(Lines(text), Contains(::testing::AllOf(
                               ::testing::StartsWith("jostle_container_cpu_usage_seconds_total{"),
                               ::testing::EndsWith("container=\"\"} 99"))));

  s.cgroups.erase(s.cgroups.begin() + 1);  // the container goes away
  text = expect_fresh(s, "container gone");
  EXPECT_THAT(text, Not(HasSubstr("/3f2a1b")));
  EXPECT_EQ(renderer.cached_series(), 2u);

  CgroupSample added = s.cgroups[1];
  added.id = "/system.slice/new.service";
  added.cpu_limit_cores = 0.5;  // a family no earlier cgroup has: it comes after theirs
  s.cgroups.insert(s.cgroups.begin() + 1, added);
  text = expect_fresh(s, "cgroup added");
  EXPECT_THAT(text, HasSubstr("id=\"/system.slice/new.service\""));
  EXPECT_EQ(renderer.cached_series(), 3u);

  s.cgroups[0].pod_name = "renamed";
  text = expect_fresh(s, "pod renamed");
  EXPECT_THAT(text, HasSubstr("pod=\"renamed\""));
  EXPECT_THAT(text, Not(HasSubstr("new-line")));

  s.cgroups[0].namespace_name = "ci";
  text = expect_fresh(s, "pod in another namespace");
  EXPECT_THAT(text, HasSubstr("namespace=\"ci\",pod=\"renamed\""));

  s.cgroups[0].labels["team"] = "other";
  s.cgroups[0].qos = "guaranteed";
  text = expect_fresh(s, "pod labels changed");
  EXPECT_THAT(text, HasSubstr("qos=\"guaranteed\""));
  EXPECT_THAT(text, HasSubstr("label_team=\"other\""));

  s.cgroups[0].scope = Scope::kCgroup;
  text = expect_fresh(s, "same id, other scope");

  expect_fresh(Sample{}, "empty");
  EXPECT_EQ(renderer.cached_series(), 0u);
  expect_fresh(RichSample(), "back again");
}

TEST(PrometheusRenderer, RepeatedIdsInOneSample) {
  Sample s = RichSample();
  CgroupSample twin = s.cgroups[0];
  twin.scope = Scope::kCgroup;  // same id, other scope and names
  twin.pod_name = "twin";
  s.cgroups.push_back(twin);
  PrometheusRenderer renderer("node-a");
  for (int round = 0; round < 2; ++round) {
    std::string out;
    renderer.Render(s, RichSelf(), out);
    EXPECT_EQ(out, RenderPrometheus(s, "node-a", RichSelf()));
    EXPECT_THAT(out, HasSubstr("scope=\"cgroup\",id=\"0b7f3c9e-1111-2222-3333-444455556666\","
                               "namespace=\"ci-\\\"quoted\\\"\",pod=\"twin\""));
  }
}

TEST(PrometheusRenderer, SeriesThenSelfIsTheWholeTextAndAppends) {
  PrometheusRenderer renderer("node-a");
  std::string out = "previous\n";
  renderer.RenderSeries(RichSample(), out);
  renderer.RenderSelf(RichSelf(), RichSample().wall_ns, out);
  EXPECT_EQ(out, "previous\n" + RenderPrometheus(RichSample(), "node-a", RichSelf()));
  std::string series;
  renderer.RenderSeries(RichSample(), series);
  EXPECT_THAT(series, HasSubstr("jostle_pod_info{"));
  EXPECT_THAT(series, Not(HasSubstr("jostle_agent_")));
}

TEST(RenderPrometheus, PassesPromtoolCheckMetrics) {
  if (!HavePromtool()) {
    JOSTLE_SKIP_MISSING_REAL("/usr/bin/promtool not installed (Debian package prometheus)");
  }
  for (const auto& [name, text] :
       {std::pair{"rich", RenderPrometheus(RichSample(), "node-\"a\"\n", RichSelf())},
        std::pair{"empty", RenderPrometheus(Sample{}, "node-a", AgentSelfStats{})}}) {
    SCOPED_TRACE(name);
    PromtoolResult r = Promtool(text);
    EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- input ---\n" << text;
    EXPECT_EQ(r.output, "") << r.output;
  }
}

TEST(RenderPrometheus, PromtoolRejectsBrokenText) {
  if (!HavePromtool()) {
    JOSTLE_SKIP_MISSING_REAL("/usr/bin/promtool not installed (Debian package prometheus)");
  }
  // The check above can fail: promtool does reject a label value with a raw newline.
  std::string text = RenderPrometheus(RichSample(), "node-a", RichSelf());
  text += "jostle_broken{pod=\"a\nb\"} 1\n";
  EXPECT_NE(Promtool(text).exit_code, 0);
}

}  // namespace
}  // namespace jostle::agent
