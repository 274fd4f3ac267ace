// NodeReader over fixture trees (tests/fixtures/procfs/<case>/proc/...) and over the real
// /proc of this machine.
#include "agent/procfs/node_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "jostle_test/test_paths.h"

namespace jostle::agent {
namespace {

using ::testing::HasSubstr;

HostPaths Fixture(const std::string& name) {
  return HostPaths::UnderRoot(std::string(jostle::testing::kFixtureDir) + "/procfs/" + name);
}

// Captures spdlog output for the life of the object and restores the previous logger.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%l %v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }
  int CountLines(const std::string& prefix) const {
    std::istringstream in(out_.str());
    int n = 0;
    for (std::string line; std::getline(in, line);) n += line.starts_with(prefix) ? 1 : 0;
    return n;
  }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream out_;
};

NetCounters Net(std::string name, uint64_t rxb, uint64_t rxp, uint64_t rxe, uint64_t rxd,
                uint64_t txb, uint64_t txp, uint64_t txe, uint64_t txd,
                std::optional<int64_t> speed) {
  NetCounters c;
  c.interface = std::move(name);
  c.rx_bytes = rxb;
  c.rx_packets = rxp;
  c.rx_errors = rxe;
  c.rx_drops = rxd;
  c.tx_bytes = txb;
  c.tx_packets = txp;
  c.tx_errors = txe;
  c.tx_drops = txd;
  c.speed_mbps = speed;
  return c;
}

TEST(NodeReader, NormalHostFixture) {
  CapturedLog log;
  auto reader = NodeReader::Open(Fixture("normal_host"), 100);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  NodeSample want;
  want.cpu_busy_us = (4705 + 356 + 5845 + 0 + 209 + 12) * 10000ULL;
  want.cpu_total_us = (4705 + 356 + 5845 + 209 + 12 + 1016582 + 4352) * 10000ULL;
  want.cpus = 2;
  want.mem_total_bytes = 8029288ULL * 1024;
  want.mem_available_bytes = 5741236ULL * 1024;
  want.psi_cpu = PsiTotals{83451000, 0};
  want.psi_memory = PsiTotals{1234567, 765432};
  want.psi_io = PsiTotals{99887766, 55443322};
  // From proc/1/net/dev (the node's namespace), not proc/net/dev; lo left out.
  want.net = {Net("eth0", 9876543210, 7654321, 3, 17, 1234567890, 3456789, 1, 2, 10000),
              Net("eth1", 5000, 50, 0, 0, 6000, 60, 0, 0, std::nullopt)};
  want.tcp_out_segs = 3456000;
  want.tcp_retrans_segs = 4321;
  want.load1 = 1.52;
  want.load5 = 0.87;
  want.load15 = 0.33;
  EXPECT_EQ(reader->Read(), want);
  // Re-reading the same open files gives the same sample.
  EXPECT_EQ(reader->Read(), want);
  EXPECT_EQ(reader->host_facts().at("psi"), "enabled");
  EXPECT_EQ(reader->host_facts().at("node_net"), "proc/1/net");
  EXPECT_EQ(reader->read_errors(), 0u);
  EXPECT_EQ(log.CountLines("warning"), 0) << log.text();
}

TEST(NodeReader, OldKernelWithoutPsiFallsBackToProcNetWithOneWarning) {
  CapturedLog log;
  auto reader = NodeReader::Open(Fixture("old_kernel_host"), 100);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  NodeSample got = reader->Read();
  NodeSample again = reader->Read();
  EXPECT_EQ(got, again);
  EXPECT_EQ(got.cpu_busy_us, (10000 + 200 + 3000 + 10 + 20) * 10000ULL);
  EXPECT_EQ(got.cpu_total_us, (13230 + 500000 + 700) * 10000ULL);
  EXPECT_EQ(got.cpus, 2u);
  EXPECT_EQ(got.mem_total_bytes, 2048000ULL * 1024);
  EXPECT_EQ(got.mem_available_bytes, std::nullopt);
  EXPECT_EQ(got.psi_cpu, std::nullopt);
  EXPECT_EQ(got.psi_memory, std::nullopt);
  EXPECT_EQ(got.psi_io, std::nullopt);
  ASSERT_EQ(got.net.size(), 1u);
  EXPECT_EQ(got.net[0],
            Net("eth0", 4294967296, 3000000, 0, 5, 2000000000, 1500000, 0, 0, std::nullopt));
  EXPECT_EQ(got.tcp_out_segs, 150000u);
  EXPECT_EQ(got.tcp_retrans_segs, 75u);
  EXPECT_EQ(reader->host_facts().at("psi"), "unavailable");
  EXPECT_EQ(reader->host_facts().at("node_net"), "proc/net");
  // One warning for PSI, one for the network fallback, none per tick.
  EXPECT_EQ(log.CountLines("warning"), 2) << log.text();
  EXPECT_THAT(log.text(), HasSubstr("PSI unavailable"));
  EXPECT_THAT(log.text(), HasSubstr("node network falls back to"));
}

TEST(NodeReader, TruncatedFilesDegradeTheirMetricsAndWarnOncePerFile) {
  CapturedLog log;
  auto reader = NodeReader::Open(Fixture("truncated_host"), 100);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  NodeSample got;
  for (int tick = 0; tick < 5; ++tick) got = reader->Read();
  EXPECT_EQ(got.cpu_busy_us, std::nullopt);
  EXPECT_EQ(got.cpu_total_us, std::nullopt);
  EXPECT_EQ(got.cpus, std::nullopt);
  EXPECT_EQ(got.mem_total_bytes, std::nullopt);
  EXPECT_EQ(got.mem_available_bytes, std::nullopt);
  EXPECT_EQ(got.psi_cpu, std::nullopt);                           // truncated
  EXPECT_EQ(got.psi_memory, (PsiTotals{1234567, std::nullopt}));  // fine, no full line
  EXPECT_EQ(got.psi_io, (PsiTotals{42, 7}));
  EXPECT_TRUE(got.net.empty());
  EXPECT_EQ(got.tcp_out_segs, std::nullopt);
  EXPECT_EQ(got.tcp_retrans_segs, std::nullopt);
  EXPECT_EQ(got.load1, std::nullopt);
  // stat, meminfo, pressure/cpu, 1/net/dev, 1/net/snmp, loadavg: each fails every tick,
  // each is logged once.
  EXPECT_EQ(reader->read_errors(), 6u * 5);
  EXPECT_EQ(log.CountLines("warning"), 6) << log.text();
  EXPECT_THAT(log.text(), HasSubstr("truncated_host/proc/stat:1: 'cpu' line has 1 columns"));
  EXPECT_THAT(log.text(), HasSubstr("truncated_host/proc/1/net/dev:3: interface eth0 has 2"));
}

TEST(NodeReader, WrongProcRootFailsToOpen) {
  HostPaths paths = HostPaths::UnderRoot("/nonexistent/jostle-root");
  auto reader = NodeReader::Open(paths);
  ASSERT_FALSE(reader.ok());
  EXPECT_TRUE(reader.status().IsNotFound());
  EXPECT_THAT(reader.status().message(), HasSubstr("/nonexistent/jostle-root/proc/stat"));
}

TEST(ReadBootId, FixtureAndMissing) {
  auto id = ReadBootId(Fixture("normal_host"));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, "b3c1a2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d");
  auto missing = ReadBootId(Fixture("truncated_host"));
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsNotFound());
}

TEST(ReadBootId, ThisMachine) {
  auto id = ReadBootId(HostPaths{});
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->size(), 36u) << *id;  // a UUID, newline trimmed
  EXPECT_EQ(id->find('\n'), std::string::npos);
}

// Copies a fixture tree to a scratch directory that the test may change between reads.
class ScratchTree {
 public:
  explicit ScratchTree(const std::string& fixture) {
    std::string tmpl = ::testing::TempDir() + "node_reader_test.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) return;
    root_ = tmpl;
    std::string src = std::string(jostle::testing::kFixtureDir) + "/procfs/" + fixture;
    if (std::system(("cp -r '" + src + "/.' '" + root_ + "'").c_str()) != 0) root_.clear();
  }
  ~ScratchTree() {
    if (!root_.empty()) (void)std::system(("rm -rf '" + root_ + "'").c_str());
  }
  const std::string& root() const { return root_; }
  void Write(const std::string& rel, const std::string& content) const {
    std::ofstream(root_ + "/" + rel, std::ios::trunc) << content;
  }

 private:
  std::string root_;
};

// Recent kernels booted with psi=0 have no /proc/pressure: the command line tells that
// apart from a kernel without PSI. The last psi= wins, read as the kernel reads booleans.
TEST(NodeReader, NoPressureDirectoryIsDisabledPsiWhenTheCommandLineSaysPsiOff) {
  const std::pair<const char*, const char*> cases[] = {
      {"BOOT_IMAGE=/vmlinuz root=/dev/sda1 psi=0 quiet\n", "disabled"},
      {"root=/dev/sda1 psi=off\n", "disabled"},
      {"psi=n", "disabled"},
      {"psi=1 psi=0", "disabled"},
      {"psi=0 psi=1", "unavailable"},
      {"root=/dev/sda1 quiet", "unavailable"},
      {"nopsi=0 xpsi=0", "unavailable"},
      {"psi=on", "unavailable"},
  };
  for (const auto& [cmdline, want] : cases) {
    ScratchTree tree("old_kernel_host");
    ASSERT_FALSE(tree.root().empty());
    tree.Write("proc/cmdline", cmdline);
    CapturedLog log;
    auto reader = NodeReader::Open(HostPaths::UnderRoot(tree.root()), 100);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    EXPECT_EQ(reader->host_facts().at("psi"), want) << cmdline;
    EXPECT_EQ(reader->Read().psi_cpu, std::nullopt);
    EXPECT_THAT(log.text(),
                HasSubstr(std::string(want) == "disabled" ? "psi=0" : "PSI unavailable"))
        << cmdline;
  }
}

TEST(NodeReader, FollowsInterfacesThatComeAndGoAndCountersThatMove) {
  ScratchTree tree("normal_host");
  ASSERT_FALSE(tree.root().empty());
  auto reader = NodeReader::Open(HostPaths::UnderRoot(tree.root()), 100);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  NodeSample before = reader->Read();
  ASSERT_EQ(before.net.size(), 2u);

  // eth1 goes away, veth9 appears, eth0 counts on and renegotiates to 25G; the open files
  // are rewritten in place and re-read through the same descriptors.
  tree.Write("proc/1/net/dev",
             "Inter-|   Receive                                                |  Transmit\n"
             " face |bytes    packets errs drop fifo frame compressed multicast|bytes    "
             "packets errs drop fifo colls carrier compressed\n"
             "    lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n"
             "  eth0: 9876543999 7654400 3 17 0 0 0 1200 1234568000 3456800 1 2 0 0 0 0\n"
             " veth9: 10 1 0 0 0 0 0 0 20 2 0 0 0 0 0 0\n");
  tree.Write("sys/class/net/eth0/speed", "25000\n");
  tree.Write("proc/stat", "cpu  5000 356 5845 1016600 4352 0 209 12 0 0\ncpu0 1 0 0 1\n");
  NodeSample after = reader->Read();
  ASSERT_EQ(after.net.size(), 2u);
  EXPECT_EQ(after.net[0],
            Net("eth0", 9876543999, 7654400, 3, 17, 1234568000, 3456800, 1, 2, 25000));
  EXPECT_EQ(after.net[1], Net("veth9", 10, 1, 0, 0, 20, 2, 0, 0, std::nullopt));
  EXPECT_EQ(after.cpu_busy_us, (5000 + 356 + 5845 + 209 + 12) * 10000ULL);
  EXPECT_EQ(after.cpus, 1u);
  EXPECT_EQ(reader->read_errors(), 0u);
}

TEST(NodeReader, ThisMachineGivesPlausibleValues) {
  CapturedLog log;
  auto reader = NodeReader::Open(HostPaths{});
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  NodeSample first = reader->Read();
  volatile uint64_t spin = 0;
  for (int i = 0; i < 20'000'000; ++i) spin = spin + static_cast<uint64_t>(i);
  NodeSample second = reader->Read();

  for (const NodeSample* s : {&first, &second}) {
    ASSERT_TRUE(s->cpu_busy_us && s->cpu_total_us && s->cpus);
    EXPECT_GE(*s->cpu_total_us, *s->cpu_busy_us);
    EXPECT_GT(*s->cpu_busy_us, 0u);
    EXPECT_EQ(*s->cpus, static_cast<uint32_t>(::sysconf(_SC_NPROCESSORS_ONLN)));
    ASSERT_TRUE(s->mem_total_bytes && s->mem_available_bytes);
    EXPECT_LE(*s->mem_available_bytes, *s->mem_total_bytes);
    EXPECT_GT(*s->mem_total_bytes, 64ULL << 20);
    ASSERT_TRUE(s->load1 && s->load5 && s->load15);
    EXPECT_GE(*s->load1, 0.0);
    ASSERT_TRUE(s->tcp_out_segs && s->tcp_retrans_segs);
    EXPECT_LE(*s->tcp_retrans_segs, *s->tcp_out_segs);
    for (const NetCounters& c : s->net) {
      EXPECT_NE(c.interface, "lo");
      if (c.speed_mbps) {
        EXPECT_GT(*c.speed_mbps, 0);
      }
    }
    const std::string& psi = reader->host_facts().at("psi");
    if (psi == "enabled") {
      ASSERT_TRUE(s->psi_cpu && s->psi_memory && s->psi_io);
      EXPECT_TRUE(s->psi_cpu->some_us.has_value());
      EXPECT_TRUE(s->psi_memory->full_us.has_value());
    } else {
      EXPECT_EQ(s->psi_cpu, std::nullopt) << "psi is " << psi;
    }
  }
  EXPECT_GE(*second.cpu_busy_us, *first.cpu_busy_us);
  EXPECT_GE(*second.cpu_total_us, *first.cpu_total_us);
  EXPECT_GE(*second.tcp_out_segs, *first.tcp_out_segs);
  EXPECT_EQ(reader->read_errors(), 0u);
  // Link speeds that read EINVAL (virtual or down interfaces) are "unknown", not warnings.
  if (reader->host_facts().at("psi") == "enabled" &&
      reader->host_facts().at("node_net") == "proc/1/net") {
    EXPECT_EQ(log.CountLines("warning"), 0) << log.text();
  }
}

}  // namespace
}  // namespace jostle::agent
