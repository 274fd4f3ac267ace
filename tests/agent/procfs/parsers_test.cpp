// Table-driven tests of the pure /proc parsers: good input, kernels with more or fewer
// columns, and malformed, truncated and empty files. Every failure must name the file and,
// where there is one, the line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/procfs/loadavg.h"
#include "agent/procfs/meminfo.h"
#include "agent/procfs/net_dev.h"
#include "agent/procfs/net_snmp.h"
#include "agent/procfs/pressure.h"
#include "agent/procfs/proc_stat.h"
#include "agent/procfs/text_fields.h"

namespace jostle::agent {
namespace {

using ::testing::HasSubstr;

// One case: input text and either the expected value or a substring of the error.
template <typename T>
struct Case {
  std::string name;
  std::string text;
  std::optional<T> want;
  std::string error;  // substring of the message when `want` is nullopt
};

template <typename T>
void Check(const Case<T>& c, const Result<T>& got) {
  SCOPED_TRACE(c.name);
  if (c.want) {
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, *c.want);
  } else {
    ASSERT_FALSE(got.ok()) << "expected an error containing '" << c.error << "'";
    EXPECT_EQ(got.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(got.status().message(), HasSubstr(c.error));
  }
}

TEST(ParseCpuStat, Table) {
  const std::string kRest = "intr 1 2 3\nctxt 99\nbtime 1700000000\n";
  std::vector<Case<CpuStat>> cases = {
      // user nice system idle iowait irq softirq steal guest guest_nice, 100 Hz -> x10000 us
      {"linux5 ten columns",
       "cpu  100 20 30 1000 50 6 7 8 40 0\ncpu0 50 10 15 500 25 3 3 4 20 0\n"
       "cpu1 50 10 15 500 25 3 4 4 20 0\n" +
           kRest,
       CpuStat{(100 + 20 + 30 + 6 + 7 + 8) * 10000ULL, (171 + 1000 + 50) * 10000ULL, 2}, ""},
      {"guest columns are not added again",
       "cpu  100 0 0 0 0 0 0 0 99999 99999\ncpu0 100 0 0 0 0 0 0 0 99999 99999\n",
       CpuStat{1000000, 1000000, 1}, ""},
      {"future kernel with extra columns", "cpu  1 1 1 1 1 1 1 1 1 1 7 7 7\ncpu0 1 1 1 1\n",
       CpuStat{60000, 80000, 1}, ""},
      {"2.6.10 kernel without steal", "cpu  10 0 10 100 5 1 1\ncpu0 10 0 10 100 5 1 1\n",
       CpuStat{220000, 1270000, 1}, ""},
      {"2.4 kernel with four columns", "cpu  10 0 10 100\ncpu0 10 0 10 100\n",
       CpuStat{200000, 1200000, 1}, ""},
      {"cpu line need not be first", "intr 5\ncpu  1 0 0 1\ncpu0 1 0 0 1\ncpu1 0 0 0 0\n",
       CpuStat{10000, 20000, 2}, ""},
      {"cpuN lines with gaps (offline cpu)", "cpu  1 0 0 1\ncpu0 1 0 0 1\ncpu3 0 0 0 0\n",
       CpuStat{10000, 20000, 2}, ""},
      {"huge counters do not overflow", "cpu  18446744073709 0 0 0\n",
       CpuStat{184467440737090000, 184467440737090000, 0}, ""},
      {"empty", "", std::nullopt, "/proc/stat: file is empty"},
      {"only whitespace", "\n\n", std::nullopt, "file is empty"},
      {"no cpu line", "intr 1\nctxt 2\n", std::nullopt, "/proc/stat: no aggregate 'cpu' line"},
      {"truncated cpu line", "cpu  201", std::nullopt,
       "/proc/stat:1: 'cpu' line has 1 columns, need at least 4"},
      {"non-numeric column", "intr 1\ncpu  1 2 x 4 5\n", std::nullopt,
       "/proc/stat:2: column 3 of 'cpu' line is 'x'"},
      {"negative column", "cpu  1 2 -3 4\n", std::nullopt, "column 3"},
      {"two aggregate lines", "cpu  1 1 1 1\ncpu  1 1 1 1\n", std::nullopt,
       "/proc/stat:2: second aggregate 'cpu' line"},
  };
  for (const auto& c : cases) Check(c, ParseCpuStat(c.text, 100));
}

TEST(ParseCpuStat, ConvertsWithTheGivenTickRate) {
  auto at_250 = ParseCpuStat("cpu  250 0 0 250\n", 250);
  ASSERT_TRUE(at_250.ok());
  EXPECT_EQ(at_250->busy_us, 1000000u);
  EXPECT_EQ(at_250->total_us, 2000000u);
  // 1 tick at 300 Hz = 3333.33 us: sub-microsecond remainders are dropped, not rounded up.
  auto at_300 = ParseCpuStat("cpu  1 0 0 2\n", 300);
  ASSERT_TRUE(at_300.ok());
  EXPECT_EQ(at_300->busy_us, 3333u);
  EXPECT_EQ(at_300->total_us, 10000u);
  auto zero = ParseCpuStat("cpu  1 0 0 2\n", 0, "/host/proc/stat");
  ASSERT_FALSE(zero.ok());
  EXPECT_THAT(zero.status().message(), HasSubstr("/host/proc/stat"));
}

TEST(ParseMemInfo, Table) {
  std::vector<Case<MemInfo>> cases = {
      {"normal", "MemTotal:  8 kB\nMemFree: 1 kB\nMemAvailable:  4 kB\nHugePages_Total: 0\n",
       MemInfo{8192, 4096}, ""},
      {"kernel before 3.14 has no MemAvailable", "MemTotal:  8 kB\nMemFree: 1 kB\n",
       MemInfo{8192, std::nullopt}, ""},
      {"order does not matter", "MemAvailable: 1 kB\nMemTotal: 2 kB\n", MemInfo{2048, 1024}, ""},
      {"empty", "", std::nullopt, "/proc/meminfo: file is empty"},
      {"no MemTotal", "MemFree: 1 kB\n", std::nullopt, "/proc/meminfo: no MemTotal line"},
      {"truncated value", "MemTotal:        80292", std::nullopt,
       "/proc/meminfo:1: MemTotal should be '<number> kB'"},
      {"wrong unit", "MemTotal: 8 MB\n", std::nullopt, "MemTotal should be '<number> kB'"},
      {"extra column", "MemTotal: 8 kB extra\n", std::nullopt, "should be '<number> kB'"},
      {"not a number", "MemTotal: 8 kB\nMemAvailable: x kB\n", std::nullopt,
       "/proc/meminfo:2: MemAvailable value 'x' is not a kB count"},
      {"overflow when scaled", "MemTotal: 18446744073709551615 kB\n", std::nullopt,
       "is not a kB count"},
  };
  for (const auto& c : cases) Check(c, ParseMemInfo(c.text));
}

TEST(FieldCursor, FieldsBetweenRunsOfSpacesTabsAndCarriageReturns) {
  struct Case {
    std::string_view line;
    std::vector<std::string_view> fields;
  };
  const Case cases[] = {
      {"", {}},
      {" \t\r ", {}},
      {"a", {"a"}},
      {"  some avg10=0.00\ttotal=5\r", {"some", "avg10=0.00", "total=5"}},
      {"eth0:  1 2\t\t3 ", {"eth0:", "1", "2", "3"}},
  };
  for (const Case& c : cases) {
    std::vector<std::string_view> got;
    text::FieldCursor cursor(c.line);
    for (std::string_view f; cursor.Next(f);) got.push_back(f);
    EXPECT_EQ(got, c.fields) << "'" << c.line << "'";
    EXPECT_EQ(text::SplitFields(c.line), c.fields) << "'" << c.line << "'";
  }
}

TEST(ParsePressure, Table) {
  std::vector<Case<PsiTotals>> cases = {
      {"some and full",
       "some avg10=0.74 avg60=14.65 avg300=8.44 total=48206029\n"
       "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
       PsiTotals{48206029, 0}, ""},
      {"cpu before 5.13 has no full line", "some avg10=0.00 avg60=0.00 avg300=0.00 total=12\n",
       PsiTotals{12, std::nullopt}, ""},
      {"no trailing newline", "some avg10=0.00 avg60=0.00 avg300=0.00 total=12",
       PsiTotals{12, std::nullopt}, ""},
      {"extra keys and unknown lines", "some avg10=0 total=5 avg3600=1\nsomething else\n",
       PsiTotals{5, std::nullopt}, ""},
      {"empty", "", std::nullopt, "/proc/pressure/cpu: file is empty"},
      {"only full", "full avg10=0.00 total=3\n", std::nullopt,
       "/proc/pressure/cpu: no 'some' line"},
      {"truncated some line", "some avg10=0.00 avg60=", std::nullopt,
       "/proc/pressure/cpu:1: 'some' line has no total="},
      {"truncated full total", "some avg10=0.00 total=4\nfull avg10=0.00 total=", std::nullopt,
       "/proc/pressure/cpu:2: 'full' total 'total=' is not a microsecond count"},
      {"negative total", "some total=-4\n", std::nullopt, "is not a microsecond count"},
      {"repeated some", "some total=1\nsome total=2\n", std::nullopt,
       "/proc/pressure/cpu:2: second 'some' line"},
  };
  for (const auto& c : cases) Check(c, ParsePressure(c.text, "/proc/pressure/cpu"));
}

NetCounters Net(std::string name, uint64_t rxb, uint64_t rxp, uint64_t rxe, uint64_t rxd,
                uint64_t txb, uint64_t txp, uint64_t txe, uint64_t txd) {
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
  return c;
}

const char kNetDevHeader[] =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
    "errs drop fifo colls carrier compressed\n";

TEST(ParseNetDev, Table) {
  using List = std::vector<NetCounters>;
  const std::string h = kNetDevHeader;
  std::vector<Case<List>> cases = {
      {"lo and eth0",
       h + "    lo:    3267      29    0    0    0     0          0         0     3267      29"
           "    0    0    0     0       0          0\n"
           "  eth0: 195064917    3490    1    2    0     0          0         0   147615    1847"
           "    3    4    0     0       0          0\n",
       List{Net("lo", 3267, 29, 0, 0, 3267, 29, 0, 0),
            Net("eth0", 195064917, 3490, 1, 2, 147615, 1847, 3, 4)},
       ""},
      {"name glued to a wide counter (2.6 kernels)",
       h + "  eth0:4294967296 3 0 5 0 0 0 0 20 1 0 0 0 0 0 0\n",
       List{Net("eth0", 4294967296, 3, 0, 5, 20, 1, 0, 0)}, ""},
      {"extra columns are ignored", h + "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\n",
       List{Net("eth0", 1, 2, 3, 4, 9, 10, 11, 12)}, ""},
      {"no interfaces", h, List{}, ""},
      {"empty", "", std::nullopt, "/proc/1/net/dev: file is empty"},
      {"no header", "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", std::nullopt,
       "/proc/1/net/dev: no header line"},
      {"truncated interface line", h + "  eth0: 9876543210 76543", std::nullopt,
       "/proc/1/net/dev:3: interface eth0 has 2 counters, need 16"},
      {"missing colon", h + "  eth0 1 2 3\n", std::nullopt,
       "/proc/1/net/dev:3: interface line has no ':'"},
      {"non-numeric counter", h + "  eth0: 1 2 3 4 5 6 7 8 9 10 11 x 13 14 15 16\n", std::nullopt,
       "/proc/1/net/dev:3: interface eth0 column 12 is 'x'"},
      {"empty name", h + "  : 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", std::nullopt,
       "empty interface name"},
  };
  for (const auto& c : cases) Check(c, ParseNetDev(c.text, "/proc/1/net/dev"));
}

TEST(SumExceptLoopback, SumsEveryInterfaceButLo) {
  std::vector<NetCounters> ifs = {Net("lo", 100, 100, 100, 100, 100, 100, 100, 100),
                                  Net("eth0", 1, 2, 3, 4, 5, 6, 7, 8),
                                  Net("eth1", 10, 20, 30, 40, 50, 60, 70, 80)};
  ifs[1].speed_mbps = 1000;
  NetCounters want = Net("*", 11, 22, 33, 44, 55, 66, 77, 88);
  EXPECT_EQ(SumExceptLoopback(ifs), want);
  EXPECT_EQ(SumExceptLoopback({}), Net("*", 0, 0, 0, 0, 0, 0, 0, 0));
}

TEST(ParseLinkSpeed, Table) {
  using Speed = std::optional<int64_t>;
  std::vector<Case<Speed>> cases = {
      {"10G", "10000\n", Speed(10000), ""},
      {"unknown", "-1\n", Speed(), ""},
      {"zero is unknown", "0\n", Speed(), ""},
      {"empty", "", std::nullopt, "/sys/class/net/eth0/speed: file is empty"},
      {"garbage", "fast\n", std::nullopt, "/sys/class/net/eth0/speed:1: speed 'fast'"},
  };
  for (const auto& c : cases) Check(c, ParseLinkSpeed(c.text, "/sys/class/net/eth0/speed"));
}

TEST(ParseNetSnmpTcp, Table) {
  const std::string ip = "Ip: Forwarding DefaultTTL InReceives\nIp: 1 64 7690321\n";
  const std::string tcp_header =
      "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails "
      "EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n";
  const std::string udp = "Udp: InDatagrams NoPorts\nUdp: 1 2\n";
  std::vector<Case<TcpCounters>> cases = {
      {"modern kernel",
       ip + tcp_header + "Tcp: 1 200 120000 -1 13 2 0 0 0 3490 1841 7 0 2 0\n" + udp,
       TcpCounters{1841, 7}, ""},
      {"old kernel without InCsumErrors",
       "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails "
       "EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts\n"
       "Tcp: 1 200 120000 -1 100 50 0 0 3 200000 150000 75 0 9\n",
       TcpCounters{150000, 75}, ""},
      {"columns in another order", "Tcp: RetransSegs Foo OutSegs\nTcp: 3 -9 4\n", TcpCounters{4, 3},
       ""},
      {"empty", "", std::nullopt, "/proc/net/snmp: file is empty"},
      {"no tcp section", ip + udp, std::nullopt, "/proc/net/snmp: no Tcp section"},
      {"truncated after header", ip + tcp_header, std::nullopt,
       "/proc/net/snmp:3: Tcp header has no value line"},
      {"value line cut short", ip + tcp_header + "Tcp: 1 200 120000 -1 13", std::nullopt,
       "/proc/net/snmp:4: Tcp value line has 5 columns, header on line 3 has 15"},
      {"no RetransSegs column", "Tcp: InSegs OutSegs\nTcp: 1 2\n", std::nullopt,
       "/proc/net/snmp:1: Tcp header lacks OutSegs or RetransSegs"},
      {"negative OutSegs", "Tcp: OutSegs RetransSegs\nTcp: -1 2\n", std::nullopt,
       "/proc/net/snmp:2: Tcp OutSegs is '-1', not a counter"},
  };
  for (const auto& c : cases) Check(c, ParseNetSnmpTcp(c.text));
}

TEST(ParseLoadAvg, Table) {
  std::vector<Case<LoadAvg>> cases = {
      {"normal", "1.23 0.75 0.35 2/99 9453\n", LoadAvg{1.23, 0.75, 0.35}, ""},
      {"no newline", "0.00 0.01 12.50 1/1 1", LoadAvg{0.0, 0.01, 12.5}, ""},
      {"only three fields", "1 2 3\n", LoadAvg{1, 2, 3}, ""},
      {"empty", "", std::nullopt, "/proc/loadavg: file is empty"},
      {"truncated", "1.23 0.7", std::nullopt, "/proc/loadavg:1: has 2 fields, need 3"},
      {"not a number", "1.23 abc 0.35 2/99 9453\n", std::nullopt,
       "/proc/loadavg:1: field 2 is 'abc'"},
      {"negative", "1.23 -1 0.35\n", std::nullopt, "field 2"},
      {"nan", "nan 1 1\n", std::nullopt, "field 1"},
  };
  for (const auto& c : cases) Check(c, ParseLoadAvg(c.text));
}

}  // namespace
}  // namespace jostle::agent
