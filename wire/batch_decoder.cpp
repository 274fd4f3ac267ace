// DecodeBatch: one pass over the JSON text straight into a SampleBatch, with no DOM.
//
// The scanner knows the batch schema (batch -> samples[] -> node{} / cgroups[]{} -> psi and
// net objects) and skips unknown members of any shape, so a newer agent's extra fields are
// ignored. It accepts exactly the JSON that nlohmann_json accepts (RFC 8259, an optional
// UTF-8 BOM, strings checked for well-formed UTF-8 and escapes, numbers that overflow a
// double refused), which fuzz/wire_batch_fuzz.cpp checks.
//
// Semantics of the members, shared with the encoder in batch_encoder.cpp:
// - a member whose value is null is absent; an absent optional field stays std::nullopt;
// - a repeated member: the last one wins (an error in any of them is an error);
// - integers are checked against the field's type: unsigned fields refuse a minus sign,
//   signed fields refuse values beyond int64, fractions and exponents are not integers;
// - series references ("s", wire_version 2, described in jostle/sample.h) are resolved as
//   they come: a reference copies the identity of the entry that defined its series.
//
// Errors: the first problem in document order decides the message, which names the field
// by its path (`batch.samples[0].cgroups[3].cpu_usage_us: expected an unsigned integer`).
// Two kinds of problem outrank it, whatever their position: text that is not JSON at all
// ("sample batch is not valid JSON: <nlohmann_json's message>"), and a wire_version this
// collector does not speak (Unsupported). Both are settled by a second pass, made only for
// a batch that failed, with nlohmann_json's SAX parser.
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jostle/sample_fields.h"
#include "jostle/version.h"
#include "jostle/wire.h"
#include "wire/utf8.h"

namespace jostle {
namespace {

using wire_internal::Utf8SequenceLength;

// Where a value sits in the batch. A chain of stack objects, made text only for an error.
struct Path {
  const Path* parent = nullptr;
  std::string_view key;  // member name (may be empty) unless is_index
  size_t index = 0;
  bool is_index = false;

  static Path Member(const Path& parent, std::string_view key) { return {&parent, key, 0, false}; }
  static Path Element(const Path& parent, size_t index) { return {&parent, {}, index, true}; }

  std::string ToString() const {
    std::string s = parent ? parent->ToString() : std::string();
    if (is_index) {
      s += '[';
      s += std::to_string(index);
      s += ']';
    } else {
      if (parent) s += '.';
      s.append(key);
    }
    return s;
  }
};

// One JSON number, classified as nlohmann_json classifies it: an integer without a sign
// that fits uint64 is unsigned, a negative one that fits int64 is signed, anything else
// (fraction, exponent, too many digits) is a double.
struct Number {
  enum class Kind { kUnsigned, kSigned, kDouble };
  Kind kind = Kind::kUnsigned;
  uint64_t magnitude = 0;  // kUnsigned: the value; kSigned: minus the value (<= 2^63)
  double value = 0;        // kDouble

  int64_t Signed() const { return static_cast<int64_t>(0 - magnitude); }
  double AsDouble() const {
    switch (kind) {
      case Kind::kUnsigned:
        return static_cast<double>(magnitude);
      case Kind::kSigned:
        return static_cast<double>(Signed());
      case Kind::kDouble:
        return value;
    }
    return value;
  }
};

constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Eight bytes read as a little-endian word (first byte lowest); big-endian hosts scan digits
// one at a time (ScanNumber).
// True when all eight bytes are '0'..'9'.
constexpr bool AllDigits(uint64_t w) {
  return ((w & 0xF0F0F0F0F0F0F0F0ULL) |
          (((w + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) == 0x3333333333333333ULL;
}
// The value of eight digit bytes (all '0'..'9'), the first the most significant.
constexpr uint64_t EightDigits(uint64_t w) {
  w = ((w & 0x0F0F0F0F0F0F0F0FULL) * 2561) >> 8;                   // pairs of digits
  w = ((w & 0x00FF00FF00FF00FFULL) * 6553601) >> 16;               // groups of four
  return ((w & 0x0000FFFF0000FFFFULL) * 42949672960001ULL) >> 32;  // all eight
}
static_assert(EightDigits(0x3837363534333231ULL) == 12345678);  // "12345678"
static_assert(AllDigits(0x3939393939393930ULL) && !AllDigits(0x393939393939392FULL) &&
              !AllDigits(0x3A39393939393939ULL));

// Bytes that may appear in a string as they are, with no escape, check or copy.
constexpr std::array<bool, 256> MakePlainTable() {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[c] = c != '"' && c != '\\';
  return t;
}
constexpr std::array<bool, 256> kPlain = MakePlainTable();

// a[0..n) == b[0..n), inline: keys are short and a library call per compare shows up.
[[gnu::always_inline]] inline bool SameBytes(const char* a, const char* b, size_t n) {
  for (; n >= 8; a += 8, b += 8, n -= 8) {
    uint64_t x;
    uint64_t y;
    std::memcpy(&x, a, 8);
    std::memcpy(&y, b, 8);
    if (x != y) return false;
  }
  // The last 1..7 bytes as two loads that may overlap, not a byte loop.
  if (n >= 4) {
    uint32_t x[2];
    uint32_t y[2];
    std::memcpy(&x[0], a, 4);
    std::memcpy(&x[1], a + n - 4, 4);
    std::memcpy(&y[0], b, 4);
    std::memcpy(&y[1], b + n - 4, 4);
    return x[0] == y[0] && x[1] == y[1];
  }
  if (n >= 2) {
    uint16_t x[2];
    uint16_t y[2];
    std::memcpy(&x[0], a, 2);
    std::memcpy(&x[1], a + n - 2, 2);
    std::memcpy(&y[0], b, 2);
    std::memcpy(&y[1], b + n - 2, 2);
    return x[0] == y[0] && x[1] == y[1];
  }
  return n == 0 || *a == *b;
}

// The members of each object of the schema, in the order EncodeBatch writes them. Lookup
// tries the member after the previous match first, so a batch in that order costs one
// compare per key; any other order costs a probe of a small hash table.
template <size_t N>
class KeyTable {
 public:
  explicit constexpr KeyTable(std::array<std::string_view, N> names) : names_(names) {
    for (size_t i = 0; i < N; ++i) {
      size_t s = Hash(names_[i]);
      while (slots_[s] != 0) s = (s + 1) % kSlots;
      slots_[s] = static_cast<uint8_t>(i + 1);
    }
  }
  constexpr std::string_view Name(size_t i) const { return names_[i]; }

  // Index of key, or -1 for a member the schema does not know. *hint carries the guess.
  int Find(std::string_view key, size_t* hint) const {
    size_t i = *hint;
    if (!Same(names_[i], key)) {
      if (key.empty()) return -1;
      for (size_t s = Hash(key);; s = (s + 1) % kSlots) {
        if (slots_[s] == 0) return -1;
        i = slots_[s] - 1u;
        if (Same(names_[i], key)) break;
      }
    }
    *hint = i + 1 == N ? 0 : i + 1;
    return static_cast<int>(i);
  }

 private:
  static constexpr size_t kSlots = 64;
  static_assert(N < kSlots / 2);
  static bool Same(std::string_view a, std::string_view b) {
    return a.size() == b.size() && SameBytes(a.data(), b.data(), a.size());
  }
  static constexpr size_t Hash(std::string_view k) {
    return (k.size() * 31 + static_cast<unsigned char>(k.front()) * 7 +
            static_cast<unsigned char>(k.back())) %
           kSlots;
  }

  std::array<std::string_view, N> names_;
  std::array<uint8_t, kSlots> slots_{};  // index + 1 of the name hashed here; 0: empty
};

enum BatchKey {
  kBWireVersion,
  kBNode,
  kBBootId,
  kBAgentStartNs,
  kBSeq,
  kBAgentVersion,
  kBIntervalNs,
  kBHost,
  kBSamples,
  kBatchKeys
};
constexpr KeyTable<kBatchKeys> kBatchTable({"wire_version", "node", "boot_id", "agent_start_ns",
                                            "seq", "agent_version", "interval_ns", "host",
                                            "samples"});

enum SampleKey { kSWallNs, kSMonoNs, kSNode, kSCgroups, kSampleKeys };
constexpr KeyTable<kSampleKeys> kSampleTable({"wall_ns", "mono_ns", "node", "cgroups"});

enum NodeKey {
  kNCpuBusyUs,
  kNCpuTotalUs,
  kNCpus,
  kNMemTotalBytes,
  kNMemAvailableBytes,
  kNPsiCpu,
  kNPsiMemory,
  kNPsiIo,
  kNNet,
  kNTcpOutSegs,
  kNTcpRetransSegs,
  kNLoad1,
  kNLoad5,
  kNLoad15,
  kNodeKeys
};
constexpr KeyTable<kNodeKeys> kNodeTable({"cpu_busy_us", "cpu_total_us", "cpus", "mem_total_bytes",
                                          "mem_available_bytes", "psi_cpu", "psi_memory", "psi_io",
                                          "net", "tcp_out_segs", "tcp_retrans_segs", "load1",
                                          "load5", "load15"});

// A cgroup entry's members: "s", the identity, the readings of jostle/sample_fields.h in
// its order, "net", "host_network".
enum CgroupKey {
  kCSeries,
  kCScope,
  kCId,
  kCPath,
  kCPodUid,
  kCContainerId,
  kCNamespace,
  kCPod,
  kCContainer,
  kCQos,
  kCLabels,
  kCFirstScalar,
};
constexpr int kCFirstPsi = kCFirstScalar + static_cast<int>(fields::kCgroupScalarCount);
constexpr int kCNet = kCFirstPsi + static_cast<int>(fields::kCgroupPsiCount);
constexpr int kCHostNetwork = kCNet + 1;
constexpr size_t kCgroupKeys = kCHostNetwork + 1;

constexpr std::array<std::string_view, kCgroupKeys> CgroupKeyNames() {
  std::array<std::string_view, kCgroupKeys> names = {
      "s",         "scope", "id",        "path", "pod_uid", "container_id",
      "namespace", "pod",   "container", "qos",  "labels"};
  size_t i = kCFirstScalar;
  for (const fields::Scalar& f : fields::kCgroupScalars) names[i++] = f.wire;
  for (const fields::Psi& p : fields::kCgroupPsi) names[i++] = p.wire;
  names[i++] = "net";
  names[i++] = "host_network";
  return names;
}
constexpr KeyTable<kCgroupKeys> kCgroupTable(CgroupKeyNames());

enum PsiKey { kPSomeUs, kPFullUs, kPsiKeys };
constexpr KeyTable<kPsiKeys> kPsiTable({"some_us", "full_us"});

enum NetKey {
  kIIf,
  kIRxBytes,
  kIRxPackets,
  kIRxErrors,
  kIRxDrops,
  kITxBytes,
  kITxPackets,
  kITxErrors,
  kITxDrops,
  kISpeedMbps,
  kNetKeys
};
constexpr KeyTable<kNetKeys> kNetTable({"if", "rx_bytes", "rx_packets", "rx_errors", "rx_drops",
                                        "tx_bytes", "tx_packets", "tx_errors", "tx_drops",
                                        "speed_mbps"});

// Reuse of a batch decoded before (DecodeBatchInto). Each element is brought back to what a
// new one holds, except that its vectors keep their elements (refilled by the decode and cut
// to the new count) and its strings and label map keep their buffers and nodes. Fields are
// reset one by one (cheaper than assigning a new object, which shows in the ingest profile);
// the size checks below fail when a field is added to the model, so that it gets reset here.
#if defined(__GLIBCXX__) && defined(__x86_64__) && !defined(_GLIBCXX_DEBUG)
static_assert(sizeof(NetCounters) == 112, "NetCounters changed: update ResetKeepingBuffers");
static_assert(sizeof(NodeSample) == 296, "NodeSample changed: update ResetKeepingBuffers");
static_assert(sizeof(CgroupSample) == 768, "CgroupSample changed: update ResetKeepingBuffers");
static_assert(sizeof(Sample) == 336, "Sample changed: update ResetKeepingBuffers");
static_assert(sizeof(SampleBatch) == 200, "SampleBatch changed: update ResetKeepingBuffers");
#endif

void ResetKeepingBuffers(NetCounters* n) {
  n->interface.clear();
  n->rx_bytes = n->rx_packets = n->rx_errors = n->rx_drops = 0;
  n->tx_bytes = n->tx_packets = n->tx_errors = n->tx_drops = 0;
  n->speed_mbps.reset();
}

// net is left to the "net" member (refilled, or emptied when absent).
void ResetKeepingBuffers(NodeSample* n) {
  n->cpu_busy_us.reset();
  n->cpu_total_us.reset();
  n->cpus.reset();
  n->mem_total_bytes.reset();
  n->mem_available_bytes.reset();
  n->psi_cpu.reset();
  n->psi_memory.reset();
  n->psi_io.reset();
  n->tcp_out_segs.reset();
  n->tcp_retrans_segs.reset();
  n->load1.reset();
  n->load5.reset();
  n->load15.reset();
}

// labels are left to the "labels" member (refilled, or emptied when absent).
void ResetKeepingBuffers(CgroupSample* c) {
  c->scope = Scope::kCgroup;
  c->id.clear();
  c->path.clear();
  c->pod_uid.clear();
  c->container_id.clear();
  c->namespace_name.clear();
  c->pod_name.clear();
  c->container_name.clear();
  c->qos.clear();
  fields::ForEachScalar(*c, [](const fields::Scalar&, auto& v) { v.reset(); });
  fields::ForEachPsi(*c, [](const fields::Psi&, auto& v) { v.reset(); });
  c->net.reset();
  c->host_network = false;
}

// cgroups and node.net are left to their members (refilled, or emptied when absent).
void ResetKeepingBuffers(Sample* s) {
  s->wall_ns = 0;
  s->mono_ns = 0;
  ResetKeepingBuffers(&s->node);
}

// host and samples are left to their members (refilled, or emptied when absent).
void ResetKeepingBuffers(SampleBatch* b) {
  b->wire_version = kWireVersion;
  b->node.clear();
  b->boot_id.clear();
  b->agent_start_ns = 0;
  b->seq = 0;
  b->agent_version.clear();
  b->interval_ns = 0;
}

// Element i of an array being decoded into *v: the element a previous decode left there,
// reset, or a new one. Elements come in order (i == v->size() when a new one is needed);
// the caller cuts *v to the number decoded once the array ends.
template <typename T>
T& RefillElement(std::vector<T>* v, size_t i) {
  if (i < v->size()) {
    ResetKeepingBuffers(&(*v)[i]);
    return (*v)[i];
  }
  return v->emplace_back();
}

// Fills a string map from an object's members in document order with the result of
// clear() followed by insert_or_assign() per member, but keeps the nodes (and their
// strings' buffers) of the entries it held when the keys come in the map's order and match
// theirs, as the labels of the same pods do from one batch to the next.
class MapRefill {
 public:
  explicit MapRefill(std::map<std::string, std::string>* map) : map_(map), next_(map->begin()) {}

  void Set(std::string_view key, std::string_view value) {
    // [begin, next_) holds entries set by this fill, [next_, end) the old ones left over.
    while (next_ != map_->end() && std::string_view(next_->first) < key) {
      next_ = map_->erase(next_);
    }
    if (next_ != map_->end() && next_->first == key) {
      next_->second.assign(value);
      ++next_;
      return;
    }
    // key sorts before every leftover: either set before (repeated member) or new.
    map_->insert_or_assign(next_, std::string(key), std::string(value));
  }
  void Erase(std::string_view key) {
    auto it = map_->find(std::string(key));
    if (it == map_->end()) return;
    if (it == next_) {
      next_ = map_->erase(it);
    } else {
      map_->erase(it);
    }
  }
  // Drops the old entries no member matched.
  void Finish() { map_->erase(next_, map_->end()); }

 private:
  std::map<std::string, std::string>* map_;
  std::map<std::string, std::string>::iterator next_;
};

class BatchScanner {
 public:
  explicit BatchScanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  // True when the whole text was a well-formed batch, now in *batch. Otherwise either
  // syntax_error() (the text is not JSON) or schema_error() says why.
  bool Scan(SampleBatch* batch);

  bool syntax_error() const { return syntax_error_; }
  size_t syntax_offset(std::string_view text) const {
    return static_cast<size_t>(p_ - text.data());
  }
  const Status& schema_error() const { return schema_error_; }

 private:
  bool Syntax() {
    syntax_error_ = true;
    return false;
  }
  bool Schema(const Path& at, const char* what) {
    schema_error_ = Status::InvalidArgument(at.ToString() + ": " + what);
    return false;
  }

  // Scanning loops step a local copy of p_: a char read may alias the member, so stepping
  // p_ itself would store it to memory at every byte.
  void SkipWs() {
    const char* p = p_;
    while (p < end_ && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) ++p;
    p_ = p;
  }
  bool Literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0) {
      return Syntax();
    }
    p_ += word.size();
    return true;
  }
  bool IsNull() const { return *p_ == 'n'; }
  bool TakeNull() { return Literal("null"); }

  bool ScanString(std::string_view* out, std::string* scratch);
  bool ScanEscapedString(const char* start, std::string* scratch);
  bool ScanNumber(Number* n);
  bool SkipValue();

  template <typename OnMember>
  bool Members(OnMember&& on_member);
  template <size_t N, typename OnMember>
  bool SchemaMembers(const KeyTable<N>& table, OnMember&& on_member);
  template <typename OnElement>
  bool Elements(OnElement&& on_element);

  bool ReadU64(const Path& at, std::optional<uint64_t>* out);
  bool ReadU32(const Path& at, std::optional<uint32_t>* out);
  bool ReadI64(const Path& at, std::optional<int64_t>* out);
  bool ReadDouble(const Path& at, std::optional<double>* out);
  // The member of `c` that `field` describes.
  bool ReadScalar(const Path& at, const fields::Scalar& field, CgroupReadings* c) {
    return field.u64 != nullptr ? ReadU64(at, &(c->*field.u64)) : ReadDouble(at, &(c->*field.f64));
  }
  bool ReadString(const Path& at, std::string* out, bool* present);
  bool ReadStringMap(const Path& at, std::map<std::string, std::string>* out, bool strict);

  bool DecodeSample(const Path& at, Sample* s, uint32_t sample, size_t expected_cgroups);
  bool DecodeNode(const Path& at, NodeSample* n);
  bool DecodeCgroup(const Path& at, CgroupSample* c, uint32_t sample, uint32_t index);
  bool DecodePsi(const Path& at, std::optional<PsiTotals>* out);
  bool DecodeNet(const Path& at, NetCounters* n);

  const char* p_;
  const char* end_;
  bool syntax_error_ = false;
  Status schema_error_;
  std::string key_scratch_;    // a member name that had escapes or non-ASCII bytes
  std::string value_scratch_;  // the same for a string value
  std::string skip_scratch_;   // strings inside skipped values
  std::string skip_stack_;     // closing brackets of the containers SkipValue is inside
  // Series references (wire_version 2): where series n was defined, as (sample, cgroup)
  // indices into the batch being decoded.
  SampleBatch* batch_ = nullptr;
  std::vector<std::pair<uint32_t, uint32_t>> series_;
  std::string first_reference_;  // path of the first "s" member, for a version-1 batch
};

// Scans the string starting at the opening quote at p_. *out views the input when the string
// has no escapes and no bytes >= 0x80 (the common case), else *scratch.
bool BatchScanner::ScanString(std::string_view* out, std::string* scratch) {
  const char* const start = p_ + 1;
  const char* const end = end_;
  const char* p = start;
  // Eight bytes at a time while none is a quote, a backslash, a control or a non-ASCII byte.
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  while (end - p >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    uint64_t quote = w ^ (kOnes * '"');
    uint64_t backslash = w ^ (kOnes * '\\');
    uint64_t special = ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash) |
                       ((w - kOnes * 0x20) & ~w) | w;
    if (special & kHighs) break;
    p += 8;
  }
  while (p < end && kPlain[static_cast<unsigned char>(*p)]) ++p;
  p_ = p;
  if (p == end) return Syntax();
  if (*p == '"') {
    *out = std::string_view(start, static_cast<size_t>(p - start));
    p_ = p + 1;
    return true;
  }
  if (!ScanEscapedString(start, scratch)) return false;
  *out = *scratch;
  return true;
}

// The rest of a string that holds an escape, a control byte or a non-ASCII byte at p_:
// decoded into *scratch, checked as nlohmann_json checks it.
bool BatchScanner::ScanEscapedString(const char* start, std::string* scratch) {
  scratch->assign(start, static_cast<size_t>(p_ - start));
  auto hex4 = [this](uint32_t* v) {
    if (end_ - p_ < 4) return false;
    uint32_t r = 0;
    for (int i = 0; i < 4; ++i) {
      char c = p_[i];
      r <<= 4;
      if (c >= '0' && c <= '9') {
        r |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        r |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        r |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    p_ += 4;
    *v = r;
    return true;
  };
  while (p_ < end_) {
    auto c = static_cast<unsigned char>(*p_);
    if (kPlain[c]) {
      scratch->push_back(static_cast<char>(c));
      ++p_;
    } else if (c == '"') {
      ++p_;
      return true;
    } else if (c == '\\') {
      if (++p_ == end_) return Syntax();
      char e = *p_++;
      switch (e) {
        case '"':
          scratch->push_back('"');
          break;
        case '\\':
          scratch->push_back('\\');
          break;
        case '/':
          scratch->push_back('/');
          break;
        case 'b':
          scratch->push_back('\b');
          break;
        case 'f':
          scratch->push_back('\f');
          break;
        case 'n':
          scratch->push_back('\n');
          break;
        case 'r':
          scratch->push_back('\r');
          break;
        case 't':
          scratch->push_back('\t');
          break;
        case 'u': {
          uint32_t cp;
          if (!hex4(&cp)) return Syntax();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low;
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return Syntax();
            p_ += 2;
            if (!hex4(&low) || low < 0xDC00 || low > 0xDFFF) return Syntax();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Syntax();
          }
          if (cp < 0x80) {
            scratch->push_back(static_cast<char>(cp));
          } else if (cp < 0x800) {
            scratch->push_back(static_cast<char>(0xC0 | (cp >> 6)));
            scratch->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          } else if (cp < 0x10000) {
            scratch->push_back(static_cast<char>(0xE0 | (cp >> 12)));
            scratch->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            scratch->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          } else {
            scratch->push_back(static_cast<char>(0xF0 | (cp >> 18)));
            scratch->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
            scratch->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            scratch->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          }
          break;
        }
        default:
          return Syntax();
      }
    } else if (c < 0x20) {
      return Syntax();  // control characters must be escaped
    } else {
      size_t prefix;
      size_t len = Utf8SequenceLength(reinterpret_cast<const unsigned char*>(p_),
                                      reinterpret_cast<const unsigned char*>(end_), &prefix);
      if (len == 0) return Syntax();
      scratch->append(p_, len);
      p_ += len;
    }
  }
  return Syntax();
}

bool BatchScanner::ScanNumber(Number* n) {
  const char* start = p_;
  const char* p = p_;  // p_ is set from it before every return
  const char* const limit = end_;
  bool negative = *p == '-';
  if (negative) ++p;
  if (p == limit || !IsDigit(*p)) {
    p_ = p;
    return Syntax();
  }
  const char* digits = p;
  uint64_t v = 0;  // wraps when there are more than 19 digits; checked below
  if (*p == '0') {
    ++p;
  } else {
    // Eight digits at a time (counters are mostly 8 to 19 digits long), the rest one by one;
    // both wrap modulo 2^64 alike.
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (limit - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      if (!AllDigits(w)) break;
      v = v * 100000000 + EightDigits(w);
      p += 8;
    }
#endif
    for (; p < limit && IsDigit(*p); ++p) v = v * 10 + static_cast<uint64_t>(*p - '0');
  }
  size_t digit_count = static_cast<size_t>(p - digits);
  bool fraction_or_exponent = false;
  if (p < limit && *p == '.') {
    ++p;
    if (p == limit || !IsDigit(*p)) {
      p_ = p;
      return Syntax();
    }
    while (p < limit && IsDigit(*p)) ++p;
    fraction_or_exponent = true;
  }
  if (p < limit && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < limit && (*p == '+' || *p == '-')) ++p;
    if (p == limit || !IsDigit(*p)) {
      p_ = p;
      return Syntax();
    }
    while (p < limit && IsDigit(*p)) ++p;
    fraction_or_exponent = true;
  }
  p_ = p;
  if (!fraction_or_exponent && digit_count <= 20) {
    bool overflow = false;
    if (digit_count == 20) {
      v = 0;
      for (const char* d = digits; d < digits + digit_count; ++d) {
        overflow |= __builtin_mul_overflow(v, 10u, &v);
        overflow |= __builtin_add_overflow(v, static_cast<uint64_t>(*d - '0'), &v);
      }
    }
    if (!overflow && (!negative || v <= (uint64_t{1} << 63))) {
      n->kind = negative ? Number::Kind::kSigned : Number::Kind::kUnsigned;
      n->magnitude = v;
      return true;
    }
  }
  // A double. nlohmann_json refuses one that overflows (inf), so this does too.
  double d = 0;
  auto [end, ec] = std::from_chars(start, p_, d);
  if (ec == std::errc::result_out_of_range) {
    // Underflow is a (sub)normal or zero, as strtod gives it; overflow is refused below.
    d = std::strtod(std::string(start, p_).c_str(), nullptr);
  } else if (ec != std::errc() || end != p_) {
    return Syntax();
  }
  if (!std::isfinite(d)) return Syntax();
  n->kind = Number::Kind::kDouble;
  n->value = d;
  return true;
}

// Checks and steps over one value of any shape, without recursion (depth is unbounded).
bool BatchScanner::SkipValue() {
  skip_stack_.clear();
  std::string_view ignored;
  auto key = [&] {
    if (p_ == end_ || *p_ != '"' || !ScanString(&ignored, &skip_scratch_)) return Syntax();
    SkipWs();
    if (p_ == end_ || *p_ != ':') return Syntax();
    ++p_;
    SkipWs();
    return true;
  };
  while (true) {
    if (p_ == end_) return Syntax();
    switch (*p_) {
      case '{':
      case '[': {
        char close = *p_ == '{' ? '}' : ']';
        ++p_;
        SkipWs();
        if (p_ == end_) return Syntax();
        if (*p_ == close) {
          ++p_;
          break;
        }
        skip_stack_.push_back(close);
        if (close == '}' && !key()) return false;
        continue;  // the first member or element
      }
      case '"':
        if (!ScanString(&ignored, &skip_scratch_)) return false;
        break;
      case 't':
        if (!Literal("true")) return false;
        break;
      case 'f':
        if (!Literal("false")) return false;
        break;
      case 'n':
        if (!Literal("null")) return false;
        break;
      default: {
        if (*p_ != '-' && !IsDigit(*p_)) return Syntax();
        Number n;
        if (!ScanNumber(&n)) return false;
      }
    }
    // After a complete value: close containers until the next value starts.
    while (true) {
      if (skip_stack_.empty()) return true;
      SkipWs();
      if (p_ == end_) return Syntax();
      if (*p_ == ',') {
        ++p_;
        SkipWs();
        if (skip_stack_.back() == '}' && !key()) return false;
        break;
      }
      if (*p_ != skip_stack_.back()) return Syntax();
      ++p_;
      skip_stack_.pop_back();
    }
  }
}

// Calls on_member(name) with p_ at each member's value (the object's '{' at p_ on entry);
// on_member consumes the value.
template <typename OnMember>
bool BatchScanner::Members(OnMember&& on_member) {
  ++p_;
  SkipWs();
  if (p_ == end_) return Syntax();
  if (*p_ == '}') {
    ++p_;
    return true;
  }
  while (true) {
    std::string_view key;
    if (*p_ != '"' || !ScanString(&key, &key_scratch_)) return Syntax();
    SkipWs();
    if (p_ == end_ || *p_ != ':') return Syntax();
    ++p_;
    SkipWs();
    if (p_ == end_) return Syntax();
    if (!on_member(key)) return false;
    SkipWs();
    if (p_ == end_) return Syntax();
    if (*p_ == '}') {
      ++p_;
      return true;
    }
    if (*p_ != ',') return Syntax();
    ++p_;
    SkipWs();
    if (p_ == end_) return Syntax();
  }
}

// Members of an object of the schema: on_member(index in table or -1, name).
template <size_t N, typename OnMember>
bool BatchScanner::SchemaMembers(const KeyTable<N>& table, OnMember&& on_member) {
  ++p_;
  SkipWs();
  if (p_ == end_) return Syntax();
  if (*p_ == '}') {
    ++p_;
    return true;
  }
  size_t hint = 0;
  while (true) {
    std::string_view key;
    int k;
    // The expected name, compared in place: no escape can hide in bytes equal to it.
    std::string_view expected = table.Name(hint);
    size_t n = expected.size();
    if (*p_ == '"' && static_cast<size_t>(end_ - p_) > n + 1 && p_[n + 1] == '"' &&
        SameBytes(p_ + 1, expected.data(), n)) {
      key = expected;
      k = static_cast<int>(hint);
      hint = hint + 1 == N ? 0 : hint + 1;
      p_ += n + 2;
    } else {
      if (*p_ != '"' || !ScanString(&key, &key_scratch_)) return Syntax();
      k = table.Find(key, &hint);
    }
    SkipWs();
    if (p_ == end_ || *p_ != ':') return Syntax();
    ++p_;
    SkipWs();
    if (p_ == end_) return Syntax();
    if (!on_member(k, key)) return false;
    SkipWs();
    if (p_ == end_) return Syntax();
    if (*p_ == '}') {
      ++p_;
      return true;
    }
    if (*p_ != ',') return Syntax();
    ++p_;
    SkipWs();
    if (p_ == end_) return Syntax();
  }
}

// Calls on_element(index) with p_ at each element (the array's '[' at p_ on entry).
template <typename OnElement>
bool BatchScanner::Elements(OnElement&& on_element) {
  ++p_;
  SkipWs();
  if (p_ == end_) return Syntax();
  if (*p_ == ']') {
    ++p_;
    return true;
  }
  for (size_t i = 0;; ++i) {
    if (!on_element(i)) return false;
    SkipWs();
    if (p_ == end_) return Syntax();
    if (*p_ == ']') {
      ++p_;
      return true;
    }
    if (*p_ != ',') return Syntax();
    ++p_;
    SkipWs();
    if (p_ == end_) return Syntax();
  }
}

bool BatchScanner::ReadU64(const Path& at, std::optional<uint64_t>* out) {
  if (IsNull()) {
    out->reset();
    return TakeNull();
  }
  if (*p_ == '-' || IsDigit(*p_)) {
    Number n;
    if (!ScanNumber(&n)) return false;
    if (n.kind == Number::Kind::kUnsigned) {
      *out = n.magnitude;
      return true;
    }
  }
  return Schema(at, "expected an unsigned integer");
}

bool BatchScanner::ReadU32(const Path& at, std::optional<uint32_t>* out) {
  std::optional<uint64_t> v;
  if (!ReadU64(at, &v)) return false;
  if (v && *v > std::numeric_limits<uint32_t>::max()) return Schema(at, "out of range");
  *out = v;
  return true;
}

bool BatchScanner::ReadI64(const Path& at, std::optional<int64_t>* out) {
  if (IsNull()) {
    out->reset();
    return TakeNull();
  }
  if (*p_ == '-' || IsDigit(*p_)) {
    Number n;
    if (!ScanNumber(&n)) return false;
    if (n.kind == Number::Kind::kSigned) {
      *out = n.Signed();
      return true;
    }
    if (n.kind == Number::Kind::kUnsigned) {
      if (n.magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Schema(at, "out of range");
      }
      *out = static_cast<int64_t>(n.magnitude);
      return true;
    }
  }
  return Schema(at, "expected an integer");
}

bool BatchScanner::ReadDouble(const Path& at, std::optional<double>* out) {
  if (IsNull()) {
    out->reset();
    return TakeNull();
  }
  if (*p_ == '-' || IsDigit(*p_)) {
    Number n;
    if (!ScanNumber(&n)) return false;
    *out = n.AsDouble();
    return true;
  }
  return Schema(at, "expected a number");
}

bool BatchScanner::ReadString(const Path& at, std::string* out, bool* present) {
  if (*p_ == '"') {
    std::string_view v;
    if (!ScanString(&v, &value_scratch_)) return false;
    out->assign(v);
    *present = true;
    return true;
  }
  if (IsNull()) {
    out->clear();
    *present = false;
    return TakeNull();
  }
  return Schema(at, "expected a string");
}

// An object of strings (labels, host facts). strict: any other value is an error (labels);
// otherwise a member that is not a string is left out (host).
bool BatchScanner::ReadStringMap(const Path& at, std::map<std::string, std::string>* out,
                                 bool strict) {
  if (IsNull()) {
    out->clear();
    return TakeNull();
  }
  if (*p_ != '{') return Schema(at, "expected an object");
  MapRefill fill(out);
  bool ok = Members([&](std::string_view key) {
    if (*p_ == '"') {
      std::string_view v;
      if (!ScanString(&v, &value_scratch_)) return false;
      fill.Set(key, v);
      return true;
    }
    if (strict) return Schema(Path::Member(at, key), "expected a string");
    fill.Erase(key);
    return SkipValue();
  });
  if (ok) fill.Finish();
  return ok;
}

bool BatchScanner::DecodePsi(const Path& at, std::optional<PsiTotals>* out) {
  if (IsNull()) {
    out->reset();
    return TakeNull();
  }
  if (*p_ != '{') return Schema(at, "expected an object");
  PsiTotals& psi = out->emplace();
  return SchemaMembers(kPsiTable, [&](int k, std::string_view key) {
    switch (k) {
      case kPSomeUs:
        return ReadU64(Path::Member(at, key), &psi.some_us);
      case kPFullUs:
        return ReadU64(Path::Member(at, key), &psi.full_us);
      default:
        return SkipValue();
    }
  });
}

bool BatchScanner::DecodeNet(const Path& at, NetCounters* n) {
  if (*p_ != '{') return Schema(at, "expected an object");
  std::array<std::optional<uint64_t>, 8> counters;  // rx_bytes .. tx_drops, table order
  bool has_if = false;
  bool ok = SchemaMembers(kNetTable, [&](int k, std::string_view key) {
    Path field = Path::Member(at, key);
    if (k == kIIf) return ReadString(field, &n->interface, &has_if);
    if (k >= kIRxBytes && k <= kITxDrops) return ReadU64(field, &counters[k - kIRxBytes]);
    if (k == kISpeedMbps) return ReadI64(field, &n->speed_mbps);
    return SkipValue();
  });
  if (!ok) return false;
  if (!has_if) return Schema(Path::Member(at, "if"), "missing");
  uint64_t* fields[8] = {&n->rx_bytes, &n->rx_packets, &n->rx_errors, &n->rx_drops,
                         &n->tx_bytes, &n->tx_packets, &n->tx_errors, &n->tx_drops};
  for (size_t i = 0; i < counters.size(); ++i) {
    if (!counters[i]) return Schema(Path::Member(at, kNetTable.Name(kIRxBytes + i)), "missing");
    *fields[i] = *counters[i];
  }
  return true;
}

bool BatchScanner::DecodeNode(const Path& at, NodeSample* n) {
  bool has_net = false;
  bool ok = SchemaMembers(kNodeTable, [&](int k, std::string_view key) {
    Path field = Path::Member(at, key);
    switch (k) {
      case kNCpuBusyUs:
        return ReadU64(field, &n->cpu_busy_us);
      case kNCpuTotalUs:
        return ReadU64(field, &n->cpu_total_us);
      case kNCpus:
        return ReadU32(field, &n->cpus);
      case kNMemTotalBytes:
        return ReadU64(field, &n->mem_total_bytes);
      case kNMemAvailableBytes:
        return ReadU64(field, &n->mem_available_bytes);
      case kNPsiCpu:
        return DecodePsi(field, &n->psi_cpu);
      case kNPsiMemory:
        return DecodePsi(field, &n->psi_memory);
      case kNPsiIo:
        return DecodePsi(field, &n->psi_io);
      case kNNet: {
        has_net = true;
        if (IsNull()) {
          n->net.clear();
          return TakeNull();
        }
        if (*p_ != '[') return Schema(field, "expected an array");
        size_t count = 0;
        if (!Elements([&](size_t i) {
              count = i + 1;
              return DecodeNet(Path::Element(field, i), &RefillElement(&n->net, i));
            })) {
          return false;
        }
        n->net.resize(count);
        return true;
      }
      case kNTcpOutSegs:
        return ReadU64(field, &n->tcp_out_segs);
      case kNTcpRetransSegs:
        return ReadU64(field, &n->tcp_retrans_segs);
      case kNLoad1:
        return ReadDouble(field, &n->load1);
      case kNLoad5:
        return ReadDouble(field, &n->load5);
      case kNLoad15:
        return ReadDouble(field, &n->load15);
      default:
        return SkipValue();
    }
  });
  if (ok && !has_net) n->net.clear();
  return ok;
}

bool BatchScanner::DecodeCgroup(const Path& at, CgroupSample* c, uint32_t sample, uint32_t index) {
  enum class ScopeSeen { kMissing, kKnown, kUnknown } scope = ScopeSeen::kMissing;
  bool has_id = false;
  bool has_labels = false;
  bool identity = false;  // an identity member was seen (null ones included)
  std::optional<uint64_t> series;
  bool present;  // of the optional strings; absent and empty are the same to them
  bool ok = SchemaMembers(kCgroupTable, [&](int k, std::string_view key) {
    Path field = Path::Member(at, key);
    if (k >= kCScope && k <= kCLabels) identity = true;
    switch (k) {
      case kCScope: {
        if (IsNull()) {
          scope = ScopeSeen::kMissing;
          return TakeNull();
        }
        if (*p_ != '"') return Schema(field, "expected a string");
        std::string_view v;
        if (!ScanString(&v, &value_scratch_)) return false;
        scope = ScopeSeen::kKnown;
        if (v == "pod") {
          c->scope = Scope::kPod;
        } else if (v == "container") {
          c->scope = Scope::kContainer;
        } else if (v == "cgroup") {
          c->scope = Scope::kCgroup;
        } else {
          scope = ScopeSeen::kUnknown;
        }
        return true;
      }
      case kCId:
        return ReadString(field, &c->id, &has_id);
      case kCPath:
        return ReadString(field, &c->path, &present);
      case kCPodUid:
        return ReadString(field, &c->pod_uid, &present);
      case kCContainerId:
        return ReadString(field, &c->container_id, &present);
      case kCNamespace:
        return ReadString(field, &c->namespace_name, &present);
      case kCPod:
        return ReadString(field, &c->pod_name, &present);
      case kCContainer:
        return ReadString(field, &c->container_name, &present);
      case kCQos:
        return ReadString(field, &c->qos, &present);
      case kCLabels:
        has_labels = true;
        return ReadStringMap(field, &c->labels, /*strict=*/true);
      case kCNet:
        if (IsNull()) {
          c->net.reset();
          return TakeNull();
        }
        if (*p_ != '{') return Schema(field, "expected an object");
        return DecodeNet(field, &c->net.emplace());
      case kCHostNetwork:
        if (*p_ == 't') {
          c->host_network = true;
          return Literal("true");
        }
        if (*p_ == 'f' || IsNull()) {
          c->host_network = false;
          return Literal(*p_ == 'f' ? "false" : "null");
        }
        return Schema(field, "expected true or false");
      case kCSeries:
        if (!ReadU64(field, &series)) return false;
        if (series && first_reference_.empty()) first_reference_ = field.ToString();
        return true;
      default:
        if (k >= kCFirstScalar && k < kCFirstPsi) {
          return ReadScalar(field, fields::kCgroupScalars[k - kCFirstScalar], c);
        }
        if (k >= kCFirstPsi && k < kCNet) {
          return DecodePsi(field, &(c->*fields::kCgroupPsi[k - kCFirstPsi].member));
        }
        return SkipValue();
    }
  });
  if (!ok) return false;
  if (series && !identity) {
    // A reference: the identity of a series defined earlier in the batch.
    if (*series >= series_.size()) {
      return Schema(Path::Member(at, "s"), "refers to a series not defined before it");
    }
    auto [si, ci] = series_[*series];
    const CgroupSample& def = batch_->samples[si].cgroups[ci];
    c->scope = def.scope;
    c->id = def.id;
    c->path = def.path;
    c->pod_uid = def.pod_uid;
    c->container_id = def.container_id;
    c->namespace_name = def.namespace_name;
    c->pod_name = def.pod_name;
    c->container_name = def.container_name;
    c->qos = def.qos;
    // Labels are left from the element's previous decode (ResetKeepingBuffers): equal ones,
    // the common case in DecodeBatchInto, keep their nodes.
    if (c->labels != def.labels) c->labels = def.labels;
    return true;
  }
  if (!has_labels) c->labels.clear();
  if (series) {
    if (*series != series_.size()) {
      return Schema(Path::Member(at, "s"),
                    "defines a series out of order (expected the next number)");
    }
    series_.emplace_back(sample, index);
  }
  if (scope == ScopeSeen::kMissing) return Schema(Path::Member(at, "scope"), "missing");
  if (scope == ScopeSeen::kUnknown) {
    return Schema(Path::Member(at, "scope"), "expected pod, container or cgroup");
  }
  if (!has_id) return Schema(Path::Member(at, "id"), "missing");
  if (c->id.empty()) return Schema(Path::Member(at, "id"), "empty");
  return true;
}

bool BatchScanner::DecodeSample(const Path& at, Sample* s, uint32_t sample,
                                size_t expected_cgroups) {
  std::optional<int64_t> wall_ns;
  std::optional<int64_t> mono_ns;
  bool has_node = false;
  bool has_cgroups = false;
  bool ok = SchemaMembers(kSampleTable, [&](int k, std::string_view key) {
    Path field = Path::Member(at, key);
    switch (k) {
      case kSWallNs:
        return ReadI64(field, &wall_ns);
      case kSMonoNs:
        return ReadI64(field, &mono_ns);
      case kSNode:
        has_node = true;
        ResetKeepingBuffers(&s->node);
        if (IsNull()) {
          s->node.net.clear();
          return TakeNull();
        }
        if (*p_ != '{') return Schema(field, "expected an object");
        return DecodeNode(field, &s->node);
      case kSCgroups: {
        has_cgroups = true;
        if (IsNull()) {
          s->cgroups.clear();
          return TakeNull();
        }
        if (*p_ != '[') return Schema(field, "expected an array");
        s->cgroups.reserve(expected_cgroups);
        size_t count = 0;
        if (!Elements([&](size_t i) {
              count = i + 1;
              if (*p_ != '{') return Schema(Path::Element(field, i), "expected an object");
              return DecodeCgroup(Path::Element(field, i), &RefillElement(&s->cgroups, i), sample,
                                  static_cast<uint32_t>(i));
            })) {
          return false;
        }
        s->cgroups.resize(count);
        return true;
      }
      default:
        return SkipValue();
    }
  });
  if (!ok) return false;
  if (!has_node) s->node.net.clear();
  if (!has_cgroups) s->cgroups.clear();
  if (!wall_ns) return Schema(Path::Member(at, "wall_ns"), "missing");
  s->wall_ns = *wall_ns;
  s->mono_ns = mono_ns.value_or(0);
  return true;
}

bool BatchScanner::Scan(SampleBatch* b) {
  const Path root{nullptr, "batch", 0, false};
  // nlohmann_json skips a UTF-8 byte order mark, and nothing else, before the value.
  if (end_ - p_ >= 1 && static_cast<unsigned char>(*p_) == 0xEF) {
    if (end_ - p_ < 3 || static_cast<unsigned char>(p_[1]) != 0xBB ||
        static_cast<unsigned char>(p_[2]) != 0xBF) {
      return Syntax();
    }
    p_ += 3;
  }
  SkipWs();
  if (p_ == end_) return Syntax();
  if (*p_ != '{') {
    schema_error_ = Status::InvalidArgument("sample batch: expected a JSON object");
    return false;
  }
  ResetKeepingBuffers(b);
  batch_ = b;
  series_.clear();
  first_reference_.clear();
  std::optional<int64_t> wire_version;
  std::optional<int64_t> agent_start_ns;
  std::optional<int64_t> interval_ns;
  std::optional<uint64_t> seq;
  bool has_node = false;
  bool has_boot_id = false;
  bool has_samples = false;
  bool has_host = false;
  bool present;
  bool ok = SchemaMembers(kBatchTable, [&](int k, std::string_view key) {
    Path field = Path::Member(root, key);
    switch (k) {
      case kBWireVersion:
        return ReadI64(field, &wire_version);
      case kBNode:
        return ReadString(field, &b->node, &has_node);
      case kBBootId:
        return ReadString(field, &b->boot_id, &has_boot_id);
      case kBAgentStartNs:
        return ReadI64(field, &agent_start_ns);
      case kBSeq:
        return ReadU64(field, &seq);
      case kBAgentVersion:
        return ReadString(field, &b->agent_version, &present);
      case kBIntervalNs:
        return ReadI64(field, &interval_ns);
      case kBHost:
        has_host = true;
        return ReadStringMap(field, &b->host, /*strict=*/false);
      case kBSamples: {
        has_samples = false;
        if (IsNull()) {
          b->samples.clear();
          return TakeNull();
        }
        if (*p_ != '[') return Schema(field, "expected an array");
        has_samples = true;
        size_t count = 0;
        if (!Elements([&](size_t i) {
              count = i + 1;
              if (*p_ != '{') return Schema(Path::Element(field, i), "expected an object");
              size_t expected = i == 0 ? 0 : b->samples[i - 1].cgroups.size();
              return DecodeSample(Path::Element(field, i), &RefillElement(&b->samples, i),
                                  static_cast<uint32_t>(i), expected);
            })) {
          return false;
        }
        b->samples.resize(count);
        return true;
      }
      default:
        return SkipValue();
    }
  });
  if (!ok) return false;
  if (!has_host) b->host.clear();
  SkipWs();
  // nlohmann_json takes a NUL byte for the end of the input: whatever follows is not read.
  if (p_ != end_ && *p_ != '\0') return Syntax();
  if (!wire_version) return Schema(Path::Member(root, "wire_version"), "missing");
  if (*wire_version < kOldestWireVersion || *wire_version > kWireVersion) {
    return Schema(root, "unsupported wire_version");
  }
  if (*wire_version < 2 && !first_reference_.empty()) {
    schema_error_ =
        Status::InvalidArgument(first_reference_ + ": series references need wire_version 2");
    return false;
  }
  if (!has_node) return Schema(Path::Member(root, "node"), "missing");
  if (b->node.empty()) return Schema(Path::Member(root, "node"), "empty");
  if (!has_boot_id) return Schema(Path::Member(root, "boot_id"), "missing");
  if (!agent_start_ns) return Schema(Path::Member(root, "agent_start_ns"), "missing");
  if (!seq) return Schema(Path::Member(root, "seq"), "missing");
  if (!has_samples) return Schema(Path::Member(root, "samples"), "missing");
  b->wire_version = static_cast<int>(*wire_version);
  b->agent_start_ns = *agent_start_ns;
  b->seq = *seq;
  b->interval_ns = interval_ns.value_or(0);
  return true;
}

// Second pass over a batch that failed: is it JSON at all (nlohmann_json's verdict and
// message), is it an object, and which wire_version does it claim (the last one, as a
// repeated member's last value wins).
class BatchTriage : public nlohmann::json_sax<nlohmann::json> {
 public:
  enum class Version { kMissing, kInteger, kOther };

  bool null() override { return Value(Version::kMissing); }
  bool boolean(bool) override { return Value(Version::kOther); }
  bool number_integer(number_integer_t v) override {
    return Integer(v >= kOldestWireVersion && v <= kWireVersion, v);
  }
  bool number_unsigned(number_unsigned_t v) override {
    return Integer(v >= static_cast<number_unsigned_t>(kOldestWireVersion) &&
                       v <= static_cast<number_unsigned_t>(kWireVersion),
                   v);
  }
  bool number_float(number_float_t, const string_t&) override { return Value(Version::kOther); }
  bool string(string_t&) override { return Value(Version::kOther); }
  bool binary(binary_t&) override { return Value(Version::kOther); }
  bool start_object(std::size_t) override {
    if (depth_ == 0) root_is_object_ = true;
    Value(Version::kOther);
    ++depth_;
    return true;
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    Value(Version::kOther);
    ++depth_;
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool key(string_t& name) override {
    at_version_ = depth_ == 1 && name == "wire_version";
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    error_ = e.what();
    return false;
  }

  bool root_is_object() const { return root_is_object_; }
  Version version() const { return version_; }
  bool version_supported() const { return version_supported_; }
  const std::string& version_text() const { return version_text_; }
  const std::string& error() const { return error_; }
  void set_error(std::string e) { error_ = std::move(e); }

 private:
  template <typename T>
  bool Integer(bool supported, T v) {
    if (at_version_ && depth_ == 1) {
      version_supported_ = supported;
      version_text_ = std::to_string(v);
    }
    return Value(Version::kInteger);
  }
  bool Value(Version kind) {
    if (at_version_ && depth_ == 1) {
      version_ = kind;
      at_version_ = false;
    }
    return true;
  }

  int depth_ = 0;
  bool root_is_object_ = false;
  bool at_version_ = false;
  Version version_ = Version::kMissing;
  bool version_supported_ = false;
  std::string version_text_;
  std::string error_;
};

Status Triage(std::string_view json, const BatchScanner& scanner) {
  BatchTriage triage;
  bool valid;
  try {
    valid = nlohmann::json::sax_parse(json.begin(), json.end(), &triage);
  } catch (const std::exception& e) {
    valid = false;
    triage.set_error(e.what());
  }
  if (!valid) return Status::InvalidArgument("sample batch is not valid JSON: " + triage.error());
  if (!triage.root_is_object()) {
    return Status::InvalidArgument("sample batch: expected a JSON object");
  }
  switch (triage.version()) {
    case BatchTriage::Version::kMissing:
      return Status::InvalidArgument("batch.wire_version: missing");
    case BatchTriage::Version::kOther:
      return Status::InvalidArgument("batch.wire_version: expected an integer");
    case BatchTriage::Version::kInteger:
      if (!triage.version_supported()) {
        return Status::Unsupported("batch.wire_version: " + triage.version_text() +
                                   " is not supported (this collector speaks " +
                                   std::to_string(kOldestWireVersion) + " to " +
                                   std::to_string(kWireVersion) + ")");
      }
      break;
  }
  if (scanner.syntax_error()) {
    // nlohmann_json accepted what the scanner refused; fuzz/wire_batch_fuzz.cpp hunts this.
    return Status::InvalidArgument("sample batch is not valid JSON: at byte " +
                                   std::to_string(scanner.syntax_offset(json)));
  }
  return scanner.schema_error();
}

}  // namespace

Status DecodeBatchInto(std::string_view json, SampleBatch* batch) {
  BatchScanner scanner(json);
  if (scanner.Scan(batch)) return Status::Ok();
  return Triage(json, scanner);
}

Result<SampleBatch> DecodeBatch(std::string_view json) {
  SampleBatch batch;
  Status s = DecodeBatchInto(json, &batch);
  if (!s.ok()) return s;
  return batch;
}

}  // namespace jostle
