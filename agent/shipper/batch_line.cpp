#include "agent/shipper/batch_line.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

namespace jostle::agent {

BatchLineBuilder::~BatchLineBuilder() {
  if (zs_ready_) deflateEnd(&zs_);
}

Status BatchLineBuilder::Start(const SampleBatch& head, TextOut text_out, bool keep_gzip) {
  started_ = false;
  samples_ = 0;
  text_out_ = std::move(text_out);
  keep_gzip_ = keep_gzip;
  head_.clear();
  encoder_.Head(head, &head_);
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

Status BatchLineBuilder::Append(std::string_view piece, int flush) {
  if (text_out_) text_out_(piece);
  if (keep_gzip_) return Deflate(piece, flush);
  return Status::Ok();
}

Status BatchLineBuilder::Add(const Sample& sample) {
  if (!started_) return Status::Internal("batch line: Add outside a batch");
  scratch_.clear();
  if (samples_ == 0) scratch_ = head_;
  encoder_.Append(sample, &scratch_);
  JOSTLE_RETURN_IF_ERROR(Append(scratch_, Z_NO_FLUSH));
  ++samples_;
  return Status::Ok();
}

Status BatchLineBuilder::Finish() {
  if (!started_) return Status::Internal("batch line: Finish outside a batch");
  started_ = false;  // closed (or dropped, on an error) from here
  scratch_.clear();
  if (samples_ == 0) scratch_ = head_;
  BatchEncoder::Tail(&scratch_);
  return Append(scratch_, Z_FINISH);
}

}  // namespace jostle::agent
