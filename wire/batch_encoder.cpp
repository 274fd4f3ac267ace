// EncodeBatch: writes the JSON text of a batch directly, member by member.
//
// Members come in a fixed order (the order of the fields in jostle/sample.h; a cgroup's
// readings in the order of jostle/sample_fields.h), which is the order DecodeBatch looks for
// first. Optional fields that are absent are left out, never
// written as 0. Strings are escaped as JSON requires (quote, backslash and control
// characters) and otherwise written as UTF-8; a byte sequence that is not UTF-8 (a cgroup
// path can hold any bytes) becomes U+FFFD, one per maximal ill-formed subpart. A double
// that is not finite is written as null (absent). In wire_version 2 a cgroup entry starts
// with its series number "s"; only the entry that defines the series carries the identity.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "jostle/sample_fields.h"
#include "jostle/wire.h"
#include "wire/utf8.h"

namespace jostle {
namespace {

using wire_internal::Utf8SequenceLength;

// The inside of a JSON string literal; see AppendJsonEscaped in jostle/wire.h.
void AppendEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  const auto* run = p;  // start of bytes not yet copied
  while (p < end) {
    unsigned char c = *p;
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++p;
      continue;
    }
    if (c >= 0x80) {
      size_t prefix;
      size_t len = Utf8SequenceLength(p, end, &prefix);
      if (len != 0) {
        p += len;
        continue;
      }
      out.append(reinterpret_cast<const char*>(run), static_cast<size_t>(p - run));
      out.append("\xEF\xBF\xBD", 3);
      p += prefix;
      run = p;
      continue;
    }
    out.append(reinterpret_cast<const char*>(run), static_cast<size_t>(p - run));
    switch (c) {
      case '"':
        out.append("\\\"", 2);
        break;
      case '\\':
        out.append("\\\\", 2);
        break;
      case '\b':
        out.append("\\b", 2);
        break;
      case '\f':
        out.append("\\f", 2);
        break;
      case '\n':
        out.append("\\n", 2);
        break;
      case '\r':
        out.append("\\r", 2);
        break;
      case '\t':
        out.append("\\t", 2);
        break;
      default: {
        char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(u, sizeof(u));
      }
    }
    ++p;
    run = p;
  }
  out.append(reinterpret_cast<const char*>(run), static_cast<size_t>(p - run));
}

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(*out) {}

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }
  // Starts an array element.
  void Element() {
    if (need_comma_) out_ += ',';
    need_comma_ = false;
  }
  // Starts a member whose name is one of the schema's (plain ASCII, nothing to escape).
  void Key(std::string_view name) {
    if (need_comma_) out_ += ',';
    out_ += '"';
    out_.append(name);
    out_.append("\":", 2);
    need_comma_ = false;
  }
  // Starts a member whose name is data (a label or host fact name).
  void DataKey(std::string_view name) {
    if (need_comma_) out_ += ',';
    String(name);
    out_ += ':';
    need_comma_ = false;
  }

  void Unsigned(uint64_t v) { Number(v); }
  void Signed(int64_t v) { Number(v); }
  void Double(double v) {
    if (!std::isfinite(v)) {
      Raw("null");
      return;
    }
    Number(v);
  }
  void Bool(bool v) { Raw(v ? "true" : "false"); }
  void String(std::string_view s);

  template <typename T>
  void Member(std::string_view name, const std::optional<T>& v) {
    if (!v) return;
    Key(name);
    if constexpr (std::is_same_v<T, double>) {
      Double(*v);
    } else {
      Number(*v);
    }
  }
  void Member(std::string_view name, std::string_view v) {
    Key(name);
    String(v);
  }
  void NonEmptyMember(std::string_view name, std::string_view v) {
    if (!v.empty()) Member(name, v);
  }
  void Member(std::string_view name, uint64_t v) {
    Key(name);
    Unsigned(v);
  }

 private:
  void Open(char c) {
    out_ += c;
    need_comma_ = false;
  }
  void Close(char c) {
    out_ += c;
    need_comma_ = true;
  }
  void Raw(std::string_view text) {
    out_.append(text);
    need_comma_ = true;
  }
  template <typename T>
  void Number(T v) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    out_.append(buf, static_cast<size_t>(end - buf));
    need_comma_ = true;
  }

  std::string& out_;
  bool need_comma_ = false;
};

void JsonWriter::String(std::string_view s) {
  out_ += '"';
  AppendEscaped(out_, s);
  out_ += '"';
  need_comma_ = true;
}

void WritePsi(JsonWriter& w, std::string_view name, const std::optional<PsiTotals>& psi) {
  if (!psi) return;
  w.Key(name);
  w.BeginObject();
  w.Member("some_us", psi->some_us);
  w.Member("full_us", psi->full_us);
  w.EndObject();
}

void WriteNet(JsonWriter& w, const NetCounters& n) {
  w.BeginObject();
  w.Member("if", n.interface);
  w.Member("rx_bytes", n.rx_bytes);
  w.Member("rx_packets", n.rx_packets);
  w.Member("rx_errors", n.rx_errors);
  w.Member("rx_drops", n.rx_drops);
  w.Member("tx_bytes", n.tx_bytes);
  w.Member("tx_packets", n.tx_packets);
  w.Member("tx_errors", n.tx_errors);
  w.Member("tx_drops", n.tx_drops);
  w.Member("speed_mbps", n.speed_mbps);
  w.EndObject();
}

void WriteStringMap(JsonWriter& w, const std::map<std::string, std::string>& m) {
  w.BeginObject();
  for (const auto& [k, v] : m) {
    w.DataKey(k);
    w.String(v);
  }
  w.EndObject();
}

void WriteNode(JsonWriter& w, const NodeSample& n) {
  w.BeginObject();
  w.Member("cpu_busy_us", n.cpu_busy_us);
  w.Member("cpu_total_us", n.cpu_total_us);
  w.Member("cpus", n.cpus);
  w.Member("mem_total_bytes", n.mem_total_bytes);
  w.Member("mem_available_bytes", n.mem_available_bytes);
  WritePsi(w, "psi_cpu", n.psi_cpu);
  WritePsi(w, "psi_memory", n.psi_memory);
  WritePsi(w, "psi_io", n.psi_io);
  w.Key("net");
  w.BeginArray();
  for (const auto& i : n.net) {
    w.Element();
    WriteNet(w, i);
  }
  w.EndArray();
  w.Member("tcp_out_segs", n.tcp_out_segs);
  w.Member("tcp_retrans_segs", n.tcp_retrans_segs);
  w.Member("load1", n.load1);
  w.Member("load5", n.load5);
  w.Member("load15", n.load15);
  w.EndObject();
}

// Series reference of a cgroup entry (wire_version 2).
struct SeriesRef {
  enum class Kind { kNone, kDefine, kRefer } kind = Kind::kNone;
  uint32_t series = 0;
};

void WriteCgroup(JsonWriter& w, const CgroupSample& c, SeriesRef ref) {
  w.BeginObject();
  if (ref.kind != SeriesRef::Kind::kNone) w.Member("s", uint64_t{ref.series});
  if (ref.kind != SeriesRef::Kind::kRefer) {
    w.Member("scope", ScopeName(c.scope));
    w.Member("id", c.id);
    w.Member("path", c.path);
    w.NonEmptyMember("pod_uid", c.pod_uid);
    w.NonEmptyMember("container_id", c.container_id);
    w.NonEmptyMember("namespace", c.namespace_name);
    w.NonEmptyMember("pod", c.pod_name);
    w.NonEmptyMember("container", c.container_name);
    w.NonEmptyMember("qos", c.qos);
    if (!c.labels.empty()) {
      w.Key("labels");
      WriteStringMap(w, c.labels);
    }
  }
  fields::ForEachScalar(c, [&](const fields::Scalar& f, const auto& v) { w.Member(f.wire, v); });
  fields::ForEachPsi(c, [&](const fields::Psi& p, const auto& v) { WritePsi(w, p.wire, v); });
  if (c.net) {
    w.Key("net");
    WriteNet(w, *c.net);
  }
  if (c.host_network) {
    w.Key("host_network");
    w.Bool(true);
  }
  w.EndObject();
}

}  // namespace

void BatchEncoder::Head(const SampleBatch& batch, std::string* out) {
  refs_ = batch.wire_version >= 2;
  samples_ = 0;
  series_ = 0;
  by_id_.clear();
  JsonWriter w(out);
  w.BeginObject();
  w.Key("wire_version");
  w.Signed(batch.wire_version);
  w.Member("node", batch.node);
  w.Member("boot_id", batch.boot_id);
  w.Key("agent_start_ns");
  w.Signed(batch.agent_start_ns);
  w.Member("seq", batch.seq);
  w.Member("agent_version", batch.agent_version);
  w.Key("interval_ns");
  w.Signed(batch.interval_ns);
  w.Key("host");
  WriteStringMap(w, batch.host);
  w.Key("samples");
  w.BeginArray();
}

void BatchEncoder::Append(const Sample& sample, std::string* out) {
  if (samples_++ > 0) *out += ',';
  JsonWriter w(out);
  w.BeginObject();
  w.Key("wall_ns");
  w.Signed(sample.wall_ns);
  w.Key("mono_ns");
  w.Signed(sample.mono_ns);
  w.Key("node");
  WriteNode(w, sample.node);
  w.Key("cgroups");
  w.BeginArray();
  for (const auto& c : sample.cgroups) {
    w.Element();
    SeriesRef ref;
    if (refs_) {
      auto [it, added] = by_id_.try_emplace(c.id, 0);
      const CgroupIdentity& identity = c;
      if (!added && identities_[it->second] == identity) {
        ref = {SeriesRef::Kind::kRefer, it->second};
      } else {
        // A new cgroup, or one whose identity changed: the next series.
        if (series_ == identities_.size()) identities_.emplace_back();
        identities_[series_] = identity;
        it->second = static_cast<uint32_t>(series_);
        ref = {SeriesRef::Kind::kDefine, it->second};
        ++series_;
      }
    }
    WriteCgroup(w, c, ref);
  }
  w.EndArray();
  w.EndObject();
}

void BatchEncoder::Tail(std::string* out) { out->append("]}"); }

std::string EncodeBatch(const SampleBatch& batch) {
  size_t cgroups = 0;
  for (const auto& s : batch.samples) cgroups += s.cgroups.size();
  std::string out;
  out.reserve(256 + batch.samples.size() * 512 + cgroups * 256);
  BatchEncoder encoder;
  encoder.Head(batch, &out);
  for (const auto& s : batch.samples) encoder.Append(s, &out);
  BatchEncoder::Tail(&out);
  return out;
}

void AppendJsonEscaped(std::string& out, std::string_view s) { AppendEscaped(out, s); }

}  // namespace jostle
