#include "agent/procfs/node_reader.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/procfs/kept_file.h"
#include "agent/procfs/loadavg.h"
#include "agent/procfs/meminfo.h"
#include "agent/procfs/net_dev.h"
#include "agent/procfs/net_snmp.h"
#include "agent/procfs/open_file.h"
#include "agent/procfs/pressure.h"
#include "agent/procfs/proc_stat.h"
#include "agent/procfs/text_fields.h"

namespace jostle::agent {

namespace {

// One node file, kept open. `warned` makes every failure of this file log once.
struct Source {
  std::string path;
  OpenFile file;
  bool warned = false;
};

}  // namespace

struct NodeReader::State {
  HostPaths paths;
  long clk_tck = 100;
  Source stat, meminfo, loadavg, net_dev, net_snmp;
  Source psi_cpu, psi_memory, psi_io;
  bool psi_enabled = false;
  // Link speed files by interface name; a closed file means "unknown, do not retry".
  std::map<std::string, OpenFile> speed;
  std::map<std::string, std::string> facts;
  uint64_t read_errors = 0;
  // The agent's budget of kept files, when shared (NodeReader::Open with a budget): the
  // node's files are kept whatever it holds and charged to it first.
  std::shared_ptr<KeptFileBudget> budget;
  size_t charged = 0;  // files charged to budget

  ~State() {
    if (budget) Charge(0);
  }

  // Charges the budget with the files kept open now.
  void ChargeOpenFiles() {
    if (!budget) return;
    size_t open = 0;
    for (const Source* src :
         {&stat, &meminfo, &loadavg, &net_dev, &net_snmp, &psi_cpu, &psi_memory, &psi_io}) {
      open += src->file.is_open() ? 1 : 0;
    }
    for (const auto& [name, file] : speed) open += file.is_open() ? 1 : 0;
    Charge(open);
  }
  void Charge(size_t open) {
    for (; charged < open; ++charged) budget->Opened(ReadRate::kEveryTick);
    for (; charged > open; --charged) budget->Closed(ReadRate::kEveryTick);
    budget->AddEveryTickDemand(static_cast<ptrdiff_t>(open) - static_cast<ptrdiff_t>(demand));
    demand = open;
  }
  size_t demand = 0;  // every-tick demand added to budget

  void Warn(Source& src, const Status& status) {
    ++read_errors;
    if (src.warned) return;
    src.warned = true;
    spdlog::warn("node metric degraded, further failures of this file are not logged: {}",
                 status.ToString());
  }

  // Opens `path`; on failure warns once and leaves the file closed.
  void OpenSource(Source& src, std::string path) {
    src.path = std::move(path);
    auto f = OpenFile::Open(src.path);
    if (f.ok()) {
      src.file = std::move(*f);
    } else {
      Warn(src, f.status());
    }
  }

  // The current content of `src`, or nullopt (warned once) when it cannot be read.
  std::optional<std::string_view> ReadSource(Source& src) {
    if (!src.file.is_open()) return std::nullopt;
    auto content = src.file.Read();
    if (!content.ok()) {
      Warn(src, content.status());
      return std::nullopt;
    }
    return *content;
  }

  template <typename T>
  std::optional<T> Parsed(Source& src, Result<T> parsed) {
    if (!parsed.ok()) {
      Warn(src, parsed.status());
      return std::nullopt;
    }
    return std::move(*parsed);
  }

  std::optional<PsiTotals> ReadPressure(Source& src) {
    if (!psi_enabled) return std::nullopt;
    auto text = ReadSource(src);
    if (!text) return std::nullopt;
    return Parsed(src, ParsePressure(*text, src.path));
  }

  // Whether the kernel command line turns PSI off: its last psi= parameter reads false as
  // the kernel's kstrtobool reads it (0, n, N, off...).
  bool PsiOffOnCommandLine() const {
    auto line = OpenFile::ReadOnce(paths.proc + "/cmdline");
    if (!line.ok()) return false;
    std::optional<bool> off;
    std::string_view rest = *line;
    while (!rest.empty()) {
      size_t end = rest.find_first_of(" \t\n");
      std::string_view param = rest.substr(0, end);
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
      if (!param.starts_with("psi=") || param.size() < 5) continue;
      char c = param[4];
      if (c == '0' || c == 'n' || c == 'N') off = true;
      if (c == '1' || c == 'y' || c == 'Y') off = false;
      if ((c == 'o' || c == 'O') && param.size() > 5) off = param[5] == 'f' || param[5] == 'F';
    }
    return off.value_or(false);
  }

  void DetectPsi() {
    std::string dir = paths.proc + "/pressure/";
    int opened = 0;
    int unsupported = 0;
    for (auto [src, name] :
         {std::pair{&psi_cpu, "cpu"}, std::pair{&psi_memory, "memory"}, std::pair{&psi_io, "io"}}) {
      src->path = dir + name;
      auto f = OpenFile::Open(src->path);
      if (!f.ok()) continue;
      ++opened;
      // Probe once: PSI compiled in but disabled at boot (psi=0) opens, then refuses reads.
      if (!f->Read().ok() && f->last_errno() == EOPNOTSUPP) ++unsupported;
      src->file = std::move(*f);
    }
    if (opened == 0 && PsiOffOnCommandLine()) {
      // Recent kernels booted with psi=0 do not create /proc/pressure at all.
      facts["psi"] = "disabled";
      spdlog::warn(
          "PSI disabled at boot (psi=0 on the kernel command line, {}/cmdline); node "
          "pressure metrics are off; boot with psi=1 to get them",
          paths.proc);
    } else if (opened == 0) {
      facts["psi"] = "unavailable";
      spdlog::warn(
          "PSI unavailable: no {}{{cpu,memory,io}}; node pressure metrics are off "
          "(kernel without CONFIG_PSI, or PSI disabled at boot)",
          dir);
    } else if (unsupported > 0) {
      facts["psi"] = "disabled";
      spdlog::warn(
          "PSI is compiled in but disabled at boot (reading {}cpu gives EOPNOTSUPP); "
          "boot with psi=1 to get pressure metrics",
          dir);
      psi_cpu.file = OpenFile();
      psi_memory.file = OpenFile();
      psi_io.file = OpenFile();
    } else {
      facts["psi"] = "enabled";
      psi_enabled = true;
      for (Source* src : {&psi_cpu, &psi_memory, &psi_io}) {
        if (!src->file.is_open()) Warn(*src, Status::NotFound(src->path + ": missing"));
      }
    }
  }

  void OpenNetwork() {
    // The node's namespace is PID 1's; <proc>/net follows the reader's own namespace.
    std::string pid1 = paths.proc + "/1/net/";
    auto dev = OpenFile::Open(pid1 + "dev");
    Status why = dev.ok() ? Status::Ok() : dev.status();
    if (dev.ok()) {
      auto probe = dev->Read();
      if (!probe.ok()) why = probe.status();
    }
    std::string dir = pid1;
    if (why.ok()) {
      facts["node_net"] = "proc/1/net";
      net_dev.path = pid1 + "dev";
      net_dev.file = std::move(*dev);
    } else {
      dir = paths.proc + "/net/";
      facts["node_net"] = "proc/net";
      spdlog::warn(
          "{}; node network falls back to {} (the agent's own network namespace: "
          "inside a pod these are the pod's counters, not the node's)",
          why.ToString(), dir);
      OpenSource(net_dev, dir + "dev");
    }
    OpenSource(net_snmp, dir + "snmp");
  }

  void ReadNetwork(NodeSample& sample) {
    if (auto text = ReadSource(net_dev)) {
      if (auto ifs = Parsed(net_dev, ParseNetDev(*text, net_dev.path))) {
        std::map<std::string, OpenFile> still_present;
        for (NetCounters& c : *ifs) {
          if (c.interface == "lo") continue;
          auto it = speed.find(c.interface);
          OpenFile file;
          if (it != speed.end()) {
            file = std::move(it->second);
          } else {
            auto opened = OpenFile::Open(paths.sys + "/class/net/" + c.interface + "/speed");
            if (opened.ok()) file = std::move(*opened);
          }
          c.speed_mbps = ReadSpeed(file);
          still_present.emplace(c.interface, std::move(file));
          sample.net.push_back(std::move(c));
        }
        speed = std::move(still_present);
        ChargeOpenFiles();
      }
    }
    if (auto text = ReadSource(net_snmp)) {
      if (auto tcp = Parsed(net_snmp, ParseNetSnmpTcp(*text, net_snmp.path))) {
        sample.tcp_out_segs = tcp->out_segs;
        sample.tcp_retrans_segs = tcp->retrans_segs;
      }
    }
  }

  // Link speed in Mbit/s, nullopt when unknown. EINVAL (down or virtual interface) and a
  // missing file are the normal "unknown"; other failures close the file so it is not
  // retried.
  static std::optional<int64_t> ReadSpeed(OpenFile& file) {
    if (!file.is_open()) return std::nullopt;
    auto text = file.Read();
    if (!text.ok()) {
      if (file.last_errno() != EINVAL) {
        spdlog::warn("link speed unknown: {}", text.status().ToString());
        file = OpenFile();
      }
      return std::nullopt;
    }
    auto mbps = ParseLinkSpeed(*text, file.path());
    if (!mbps.ok()) {
      spdlog::warn("link speed unknown: {}", mbps.status().ToString());
      file = OpenFile();
      return std::nullopt;
    }
    return *mbps;
  }
};

Result<NodeReader> NodeReader::Open(const HostPaths& paths) { return Open(paths, nullptr); }

Result<NodeReader> NodeReader::Open(const HostPaths& paths,
                                    std::shared_ptr<KeptFileBudget> budget) {
  long clk_tck = ::sysconf(_SC_CLK_TCK);
  if (clk_tck <= 0) return Status::FromErrno(errno, "sysconf(_SC_CLK_TCK)");
  return Open(paths, clk_tck, std::move(budget));
}

Result<NodeReader> NodeReader::Open(const HostPaths& paths, long clk_tck) {
  return Open(paths, clk_tck, nullptr);
}

Result<NodeReader> NodeReader::Open(const HostPaths& paths, long clk_tck,
                                    std::shared_ptr<KeptFileBudget> budget) {
  if (clk_tck <= 0) {
    return Status::InvalidArgument("clock tick rate must be positive, got " +
                                   std::to_string(clk_tck));
  }
  auto state = std::make_unique<State>();
  state->paths = paths;
  state->clk_tck = clk_tck;
  state->stat.path = paths.proc + "/stat";
  auto stat = OpenFile::Open(state->stat.path);
  if (!stat.ok()) return stat.status().WithContext("proc root " + paths.proc);
  state->stat.file = std::move(*stat);
  state->OpenSource(state->meminfo, paths.proc + "/meminfo");
  state->OpenSource(state->loadavg, paths.proc + "/loadavg");
  state->DetectPsi();
  state->OpenNetwork();
  state->budget = std::move(budget);
  state->ChargeOpenFiles();
  return NodeReader(std::move(state));
}

NodeSample NodeReader::Read() {
  State& s = *state_;
  NodeSample sample;
  if (auto text = s.ReadSource(s.stat)) {
    if (auto cpu = s.Parsed(s.stat, ParseCpuStat(*text, s.clk_tck, s.stat.path))) {
      sample.cpu_busy_us = cpu->busy_us;
      sample.cpu_total_us = cpu->total_us;
      sample.cpus = cpu->cpus;
    }
  }
  if (auto text = s.ReadSource(s.meminfo)) {
    if (auto mem = s.Parsed(s.meminfo, ParseMemInfo(*text, s.meminfo.path))) {
      sample.mem_total_bytes = mem->total_bytes;
      sample.mem_available_bytes = mem->available_bytes;
    }
  }
  sample.psi_cpu = s.ReadPressure(s.psi_cpu);
  sample.psi_memory = s.ReadPressure(s.psi_memory);
  sample.psi_io = s.ReadPressure(s.psi_io);
  s.ReadNetwork(sample);
  if (auto text = s.ReadSource(s.loadavg)) {
    if (auto load = s.Parsed(s.loadavg, ParseLoadAvg(*text, s.loadavg.path))) {
      sample.load1 = load->load1;
      sample.load5 = load->load5;
      sample.load15 = load->load15;
    }
  }
  return sample;
}

const std::map<std::string, std::string>& NodeReader::host_facts() const { return state_->facts; }

uint64_t NodeReader::read_errors() const { return state_->read_errors; }

NodeReader::NodeReader(std::unique_ptr<State> state) : state_(std::move(state)) {}
NodeReader::NodeReader(NodeReader&&) noexcept = default;
NodeReader& NodeReader::operator=(NodeReader&&) noexcept = default;
NodeReader::~NodeReader() = default;

Result<std::string> ReadBootId(const HostPaths& paths) {
  std::string path = paths.proc + "/sys/kernel/random/boot_id";
  auto content = OpenFile::ReadOnce(path);
  if (!content.ok()) return content.status();
  std::string_view id = text::Trim(*content);
  if (id.empty()) return Status::InvalidArgument(path + ": empty boot id");
  return std::string(id);
}

}  // namespace jostle::agent
