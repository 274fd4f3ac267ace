#include "agent/shipper/batch_line.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include "jostle/wire.h"

namespace jostle::agent {

namespace {

constexpr std::string_view kTail = "]}";

}  // namespace

Status WriteBatchLine(SampleBatch& batch, std::string& scratch,
                      const std::function<Status(std::string_view)>& write) {
  // The batch with no samples is the shared head ending in "[]}"; a batch of one sample is
  // that head without "]}", the sample, and "]}". Both are checked, not assumed.
  SampleBatch one;
  one.wire_version = batch.wire_version;
  one.node = batch.node;
  one.boot_id = batch.boot_id;
  one.agent_start_ns = batch.agent_start_ns;
  one.seq = batch.seq;
  one.agent_version = batch.agent_version;
  one.interval_ns = batch.interval_ns;
  one.host = batch.host;
  std::string head = EncodeBatch(one);
  bool shaped = head.size() >= 3 && head.ends_with("[]}");
  if (shaped) head.resize(head.size() - kTail.size());
  // Each sample is encoded alone (moved into `one` and back), then cut out of its
  // one-sample batch.
  one.samples.resize(1);
  for (size_t i = 0; shaped && i < batch.samples.size(); ++i) {
    std::swap(one.samples[0], batch.samples[i]);
    scratch = EncodeBatch(one);
    std::swap(one.samples[0], batch.samples[i]);
    shaped = scratch.size() > head.size() + kTail.size() && scratch.starts_with(head) &&
             scratch.ends_with(kTail);
    if (!shaped && i > 0) {
      return Status::Internal("batch line: sample " + std::to_string(i) +
                              " encodes with a different head than the first");
    }
    if (!shaped) break;
    if (i == 0) {
      JOSTLE_RETURN_IF_ERROR(write(head));
    } else {
      JOSTLE_RETURN_IF_ERROR(write(","));
    }
    JOSTLE_RETURN_IF_ERROR(write(std::string_view(scratch).substr(
        head.size(), scratch.size() - head.size() - kTail.size())));
    if (i + 1 == batch.samples.size()) return write("]}\n");
  }
  if (shaped && batch.samples.empty()) {
    head += "]}\n";
    return write(head);
  }
  // Not shaped as expected (nothing written yet).
  scratch = EncodeBatch(batch);
  scratch += '\n';
  return write(scratch);
}

BatchLineBuilder::~BatchLineBuilder() {
  if (zs_ready_) deflateEnd(&zs_);
}

Status BatchLineBuilder::Start(const SampleBatch& head, bool keep_text, bool keep_gzip,
                               size_t expected_samples) {
  started_ = false;
  samples_ = 0;
  expected_samples_ = std::max<size_t>(expected_samples, 1);
  keep_text_ = keep_text;
  keep_gzip_ = keep_gzip;
  one_.wire_version = head.wire_version;
  one_.node = head.node;
  one_.boot_id = head.boot_id;
  one_.agent_start_ns = head.agent_start_ns;
  one_.seq = head.seq;
  one_.agent_version = head.agent_version;
  one_.interval_ns = head.interval_ns;
  one_.host = head.host;
  one_.samples.clear();
  head_ = EncodeBatch(one_);
  if (head_.size() < 3 || !head_.ends_with("[]}")) {
    return Status::Internal("batch line: a batch's encoding does not end in its samples array");
  }
  head_.resize(head_.size() - kTail.size());
  text_.clear();
  gzip_.clear();
  if (keep_gzip_) {
    if (!zs_ready_) {
      // 15 + 16: gzip wrapper, as Gzip() in wire/ writes.
      if (deflateInit2(&zs_, gzip_level_, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return Status::Internal("batch line: deflateInit2 failed");
      }
      zs_ready_ = true;
    } else if (deflateReset(&zs_) != Z_OK) {
      return Status::Internal("batch line: deflateReset failed");
    }
  }
  one_.samples.resize(1);
  started_ = true;
  return Status::Ok();
}

Status BatchLineBuilder::Deflate(std::string_view piece, int flush) {
  zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(piece.data()));
  zs_.avail_in = static_cast<uInt>(piece.size());
  for (;;) {
    // Room for this piece compressed (it rarely grows), at least 16 KiB at a time.
    size_t used = gzip_.size();
    size_t room = std::max<size_t>(16 << 10, deflateBound(&zs_, zs_.avail_in) / 4);
    gzip_.resize(used + room);
    zs_.next_out = reinterpret_cast<Bytef*>(gzip_.data() + used);
    zs_.avail_out = static_cast<uInt>(room);
    int rc = deflate(&zs_, flush);
    gzip_.resize(gzip_.size() - zs_.avail_out);
    if (rc == Z_STREAM_ERROR) return Status::Internal("batch line: deflate failed");
    if (flush == Z_FINISH ? rc == Z_STREAM_END : (zs_.avail_in == 0 && zs_.avail_out > 0)) {
      return Status::Ok();
    }
  }
}

Status BatchLineBuilder::Append(std::string_view piece) {
  if (keep_text_) text_.append(piece);
  if (keep_gzip_) return Deflate(piece, Z_NO_FLUSH);
  return Status::Ok();
}

Status BatchLineBuilder::Add(Sample& sample) {
  if (!started_) return Status::Internal("batch line: Add outside a batch");
  std::swap(one_.samples[0], sample);
  scratch_ = EncodeBatch(one_);
  std::swap(one_.samples[0], sample);
  if (scratch_.size() <= head_.size() + kTail.size() || !scratch_.starts_with(head_) ||
      !scratch_.ends_with(kTail)) {
    started_ = false;
    return Status::Internal("batch line: a sample encodes with a different head than its batch");
  }
  if (samples_ == 0 && keep_text_) {
    // Room for the expected samples at this one's size, plus 1/8 (samples grow as pods come).
    size_t want = head_.size() + (scratch_.size() - head_.size()) * expected_samples_;
    text_.reserve(want + want / 8);
  }
  JOSTLE_RETURN_IF_ERROR(Append(samples_ == 0 ? std::string_view(head_) : std::string_view(",")));
  JOSTLE_RETURN_IF_ERROR(Append(std::string_view(scratch_).substr(
      head_.size(), scratch_.size() - head_.size() - kTail.size())));
  ++samples_;
  return Status::Ok();
}

Status BatchLineBuilder::Finish(const std::map<std::string, std::string>& host) {
  if (!started_) return Status::Internal("batch line: Finish outside a batch");
  started_ = false;  // closed (or dropped, on an error) from here
  if (samples_ == 0) JOSTLE_RETURN_IF_ERROR(Append(head_));
  if (keep_text_) text_.append(kTail);
  if (keep_gzip_) JOSTLE_RETURN_IF_ERROR(Deflate(kTail, Z_FINISH));
  if (host == one_.host) return Status::Ok();
  // The host facts changed during the batch (rare: a cgroup driver seen for the first
  // time): the head is encoded again and the text, and the gzip from its inflation, redone.
  one_.host = host;
  one_.samples.clear();
  std::string head = EncodeBatch(one_);
  one_.samples.resize(1);
  if (!head.ends_with("[]}")) return Status::Internal("batch line: head changed shape");
  head.resize(head.size() - kTail.size());
  if (keep_text_) text_.replace(0, head_.size(), head);
  if (keep_gzip_) {
    auto text = Gunzip(gzip_, size_t{1} << 34);
    if (!text.ok()) return text.status().WithContext("batch line: host facts changed");
    text->replace(0, head_.size(), head);
    gzip_ = Gzip(*text, gzip_level_);
  }
  head_ = std::move(head);
  return Status::Ok();
}

}  // namespace jostle::agent
