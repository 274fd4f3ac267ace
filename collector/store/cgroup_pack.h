// The cgroup readings of one node's tick packed into one blob (cgroup_ticks.packed): one
// B-tree entry per tick instead of one per cgroup, so storing a tick costs one insert.
//
// Format (version 1), integers as unsigned LEB128 varints unless noted:
//   byte   version (1)
//   varint rows
//   head:  per row, in the agent's order: series id, field mask, cpu_usage_us (when in mask)
//   tail:  per row, in the same order, the other fields the mask names: the scalars and
//          then the PSI totals in the order of jostle/sample_fields.h (which gives each its
//          mask bit), then net; cpu_limit_cores as 8 bytes (IEEE 754 bits, little endian);
//          net: interface (varint length + bytes), the 8 counters, speed_mbps zigzag.
// The head alone gives series and CPU usage (report timelines read only that).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "collector/samples/sample_frame.h"
#include "jostle/sample.h"
#include "jostle/sample_fields.h"
#include "jostle/status.h"

namespace jostle::collector::pack {

inline constexpr uint8_t kPackVersion = 1;

// Field mask bits: which optional values a row carries. The scalars' and PSI's bits are
// their rows' in jostle/sample_fields.h; the pack owns the network bits.
enum FieldBit : uint32_t {
  kCpuUsage = fields::kCgroupScalars[0].pack_bit,
  kNet = 1u << 18,
  kNetSpeed = 1u << 19,
};
static_assert((fields::TablePackBits() & (kNet | kNetSpeed)) == 0,
              "sample_fields.h: a row takes a pack bit of the network counters");

// Bytes of the longest varint (a uint64_t).
inline constexpr size_t kMaxVarint = 10;

// Writes `v` as an unsigned LEB128 varint at `p`, which has room for kMaxVarint bytes;
// returns the end of what was written.
inline char* WriteVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

inline void PutVarint(std::string& out, uint64_t v) {
  char buf[kMaxVarint];
  out.append(buf, static_cast<size_t>(WriteVarint(buf, v) - buf));
}

// Reads packed values from a blob; every read checks bounds and sets ok() false on overrun.
class Cursor {
 public:
  explicit Cursor(std::string_view in) : p_(in.data()), end_(in.data() + in.size()) {}
  bool ok() const { return ok_; }
  bool at_end() const { return p_ == end_; }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return Fail();
      const auto b = static_cast<uint8_t>(*p_++);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return Fail();
  }
  uint8_t Byte() {
    if (p_ == end_) return static_cast<uint8_t>(Fail());
    return static_cast<uint8_t>(*p_++);
  }
  double Double() {
    if (end_ - p_ < 8) return static_cast<double>(Fail());
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i)
      bits |= static_cast<uint64_t>(static_cast<uint8_t>(p_[i])) << (8 * i);
    p_ += 8;
    return std::bit_cast<double>(bits);
  }
  std::string_view Bytes(uint64_t n) {
    if (static_cast<uint64_t>(end_ - p_) < n) {
      Fail();
      return {};
    }
    std::string_view s(p_, static_cast<size_t>(n));
    p_ += n;
    return s;
  }

 private:
  uint64_t Fail() {
    ok_ = false;
    p_ = end_;
    return 0;
  }
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

// Packs one tick's rows. Counters is CgroupSample or CgroupCounters (same field names).
// Each row is encoded into a stack buffer and appended to head_ and tail_ in one piece (the
// net interface name, which has no bound, in a piece of its own).
class TickPacker {
 public:
  static constexpr size_t kMaxRowBytes =
      (fields::kCgroupScalarCount + 2 * fields::kCgroupPsiCount + 1) * kMaxVarint;
  static_assert(kMaxRowBytes >= 9 * kMaxVarint);

  template <typename Counters>
  void Add(int64_t series_id, const Counters& c) {
    // Tail first (it decides the mask), head after. Before the interface name at most a
    // varint or 8 bytes per scalar, two varints per PSI file and the name's length; after it
    // at most 9 varints.
    char buf[kMaxRowBytes];
    char* p = buf;
    uint32_t mask = 0;
    auto opt = [&](const std::optional<uint64_t>& v, uint32_t bit) {
      if (v) {
        mask |= bit;
        p = WriteVarint(p, *v);
      }
    };
    auto scalar = [&]<typename T>(const fields::Scalar& f, const std::optional<T>& v) {
      if (f.pack_bit == kCpuUsage || !v) return;
      if constexpr (std::is_same_v<T, double>) {
        mask |= f.pack_bit;
        const auto bits = std::bit_cast<uint64_t>(*v);
        for (int i = 0; i < 8; ++i) *p++ = static_cast<char>((bits >> (8 * i)) & 0xff);
      } else {
        opt(v, f.pack_bit);
      }
    };
    fields::ForEachScalar(c, scalar);
    fields::ForEachPsi(c, [&](const fields::Psi& f, const std::optional<PsiTotals>& v) {
      if (!v) return;
      mask |= f.pack_bit;
      opt(v->some_us, f.some_bit);
      opt(v->full_us, f.full_bit);
    });
    if (c.net) {
      const NetCounters& n = *c.net;
      mask |= kNet;
      p = WriteVarint(p, n.interface.size());
      tail_.append(buf, static_cast<size_t>(p - buf));
      tail_.append(n.interface);
      p = buf;
      for (uint64_t v : {n.rx_bytes, n.rx_packets, n.rx_errors, n.rx_drops, n.tx_bytes,
                         n.tx_packets, n.tx_errors, n.tx_drops}) {
        p = WriteVarint(p, v);
      }
      if (n.speed_mbps) {
        mask |= kNetSpeed;
        const auto s = static_cast<uint64_t>(*n.speed_mbps);
        p = WriteVarint(p, (s << 1) ^ static_cast<uint64_t>(*n.speed_mbps >> 63));
      }
    }
    tail_.append(buf, static_cast<size_t>(p - buf));
    if (c.cpu_usage_us) mask |= kCpuUsage;
    p = WriteVarint(buf, static_cast<uint64_t>(series_id));
    p = WriteVarint(p, mask);
    if (c.cpu_usage_us) p = WriteVarint(p, *c.cpu_usage_us);
    head_.append(buf, static_cast<size_t>(p - buf));
    ++rows_;
  }
  size_t rows() const { return rows_; }
  // The blob of the rows added since the last Clear(), into `out` (replaced).
  void Finish(std::string& out) const {
    out.clear();
    out.reserve(head_.size() + tail_.size() + 1 + kMaxVarint);
    out.push_back(static_cast<char>(kPackVersion));
    PutVarint(out, rows_);
    out.append(head_);
    out.append(tail_);
  }
  void Clear() {
    head_.clear();
    tail_.clear();
    rows_ = 0;
  }

 private:
  std::string head_;
  std::string tail_;
  size_t rows_ = 0;
};

// Appends one packed tick's rows to `out`. series_index(int64_t series id) -> Result<uint32_t>
// maps a stored series id to SampleFrame::series. cpu_only: fill cpu_usage_us only.
// `masks` is scratch space reused across calls.
template <typename SeriesIndex>
Status UnpackTick(std::string_view blob, bool cpu_only, SeriesIndex&& series_index,
                  std::vector<CgroupCounters>& out, std::vector<uint32_t>& masks) {
  Cursor in(blob);
  const uint8_t version = in.Byte();
  if (in.ok() && version != kPackVersion) {
    return Status::Internal("cgroup_ticks.packed: unknown format version " +
                            std::to_string(version));
  }
  const uint64_t rows = in.Varint();
  if (!in.ok() || rows > blob.size()) {
    return Status::Internal("cgroup_ticks.packed: bad row count");
  }
  const size_t first = out.size();
  out.reserve(first + rows);
  masks.clear();
  for (uint64_t r = 0; r < rows; ++r) {
    const auto series_id = static_cast<int64_t>(in.Varint());
    const auto mask = static_cast<uint32_t>(in.Varint());
    if (!in.ok()) break;
    Result<uint32_t> index = series_index(series_id);
    if (!index.ok()) return index.status();
    CgroupCounters& c = out.emplace_back();
    c.series = *index;
    if ((mask & kCpuUsage) != 0) c.cpu_usage_us = in.Varint();
    masks.push_back(mask);
  }
  if (!in.ok()) return Status::Internal("cgroup_ticks.packed: truncated head");
  if (cpu_only) return Status::Ok();
  for (uint64_t r = 0; r < rows; ++r) {
    CgroupCounters& c = out[first + r];
    const uint32_t mask = masks[r];
    auto opt = [&](std::optional<uint64_t>& v, uint32_t bit) {
      if ((mask & bit) != 0) v = in.Varint();
    };
    auto scalar = [&]<typename T>(const fields::Scalar& f, std::optional<T>& v) {
      if (f.pack_bit == kCpuUsage || (mask & f.pack_bit) == 0) return;
      if constexpr (std::is_same_v<T, double>) {
        v = in.Double();
      } else {
        v = in.Varint();
      }
    };
    fields::ForEachScalar(c, scalar);
    fields::ForEachPsi(c, [&](const fields::Psi& f, std::optional<PsiTotals>& p) {
      if ((mask & f.pack_bit) == 0) return;
      p.emplace();
      opt(p->some_us, f.some_bit);
      opt(p->full_us, f.full_bit);
    });
    if ((mask & kNet) != 0) {
      NetCounters& n = c.net.emplace();
      n.interface = in.Bytes(in.Varint());
      for (uint64_t* v : {&n.rx_bytes, &n.rx_packets, &n.rx_errors, &n.rx_drops, &n.tx_bytes,
                          &n.tx_packets, &n.tx_errors, &n.tx_drops}) {
        *v = in.Varint();
      }
      if ((mask & kNetSpeed) != 0) {
        const uint64_t z = in.Varint();
        n.speed_mbps = static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
      }
    }
  }
  if (!in.ok()) return Status::Internal("cgroup_ticks.packed: truncated");
  if (!in.at_end()) return Status::Internal("cgroup_ticks.packed: trailing bytes");
  return Status::Ok();
}

}  // namespace jostle::collector::pack
