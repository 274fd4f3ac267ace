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

Status WriteBatchLine(const SampleBatch& batch, std::string& scratch,
                      const std::function<Status(std::string_view)>& write) {
  BatchEncoder encoder;
  scratch.clear();
  encoder.Head(batch, &scratch);
  for (const Sample& sample : batch.samples) {
    if (scratch.size() >= (64 << 10)) {
      JOSTLE_RETURN_IF_ERROR(write(scratch));
      scratch.clear();
    }
    encoder.Append(sample, &scratch);
  }
  BatchEncoder::Tail(&scratch);
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
  head_batch_.wire_version = head.wire_version;
  head_batch_.node = head.node;
  head_batch_.boot_id = head.boot_id;
  head_batch_.agent_start_ns = head.agent_start_ns;
  head_batch_.seq = head.seq;
  head_batch_.agent_version = head.agent_version;
  head_batch_.interval_ns = head.interval_ns;
  head_batch_.host = head.host;
  head_.clear();
  encoder_.Head(head_batch_, &head_);
  if (keep_text_ && last_text_size_ > 0) {
    // Room for a batch like the last one, plus 1/8 (samples grow as pods come). A buffer
    // far larger than that (pods went away) is given back rather than kept.
    size_t want = last_text_size_ + last_text_size_ / 8;
    if (text_.capacity() > 2 * want) std::string().swap(text_);
    text_.clear();
    text_.reserve(want);
  } else {
    text_.clear();
  }
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

Status BatchLineBuilder::Add(const Sample& sample) {
  if (!started_) return Status::Internal("batch line: Add outside a batch");
  scratch_.clear();
  encoder_.Append(sample, &scratch_);
  if (samples_ == 0 && keep_text_ && last_text_size_ == 0) {
    // The first batch: room for this first sample (every identity written) and the rest at
    // half its size (identities referred to; 0.44 for 100 pods of 5 containers), plus 1/8.
    // Growing by doubling instead would hold the old and the new buffer at once.
    size_t want = head_.size() + scratch_.size() + scratch_.size() / 2 * (expected_samples_ - 1);
    text_.reserve(want + want / 8);
  }
  if (samples_ == 0) JOSTLE_RETURN_IF_ERROR(Append(head_));
  JOSTLE_RETURN_IF_ERROR(Append(scratch_));
  ++samples_;
  return Status::Ok();
}

Status BatchLineBuilder::Finish(const std::map<std::string, std::string>& host) {
  if (!started_) return Status::Internal("batch line: Finish outside a batch");
  started_ = false;  // closed (or dropped, on an error) from here
  if (samples_ == 0) JOSTLE_RETURN_IF_ERROR(Append(head_));
  if (keep_text_) {
    text_.append(kTail);
    last_text_size_ = text_.size();
  }
  if (keep_gzip_) JOSTLE_RETURN_IF_ERROR(Deflate(kTail, Z_FINISH));
  if (host == head_batch_.host) return Status::Ok();
  // The host facts changed during the batch (rare: a cgroup driver seen for the first
  // time): the head is encoded again and the text, and the gzip from its inflation, redone.
  head_batch_.host = host;
  std::string head;
  BatchEncoder().Head(head_batch_, &head);
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
