// Batch lines for jostle-agent's outputs, without holding the whole line or the batch's
// Sample objects at once: the line of a 10-tick batch is megabytes for hundreds of cgroups.
//
// WriteBatchLine writes a finished SampleBatch in pieces of one sample each.
// BatchLineBuilder encodes a batch one tick at a time as the ticks are taken, keeping only
// the encoded text (for --output) and/or its gzip compression, deflated as it grows (for
// the shipper), so that no Sample waits for the end of the batch. Both produce exactly
// EncodeBatch's text.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "jostle/sample.h"
#include "jostle/status.h"
#include "jostle/wire.h"

namespace jostle::agent {

// Calls `write` with consecutive pieces whose concatenation is EncodeBatch(batch) + "\n",
// stopping at the first error it returns. Each piece is at least 64 KiB of whole samples,
// or the rest; `scratch` holds one piece at a time (its capacity is kept for the next call).
Status WriteBatchLine(const SampleBatch& batch, std::string& scratch,
                      const std::function<Status(std::string_view)>& write);

// Builds EncodeBatch(batch) one sample at a time: Start with the batch's members, Add each
// tick's sample as it is taken, Finish with the host facts as they are at the end (they
// replace those given to Start when they changed, as BatchAssembler::Make would have taken
// them then). The text and/or its gzip (RFC 1952, one member) are kept, as asked at Start;
// after Finish, text() is EncodeBatch's text without a trailing newline and TakeGzip()
// a gzip whose inflation is that text. Memory between ticks: the text so far (capacity kept
// from one batch to the next while it fits), the compressed bytes so far, zlib's deflate state
// (~270 KiB at level 6, kept), one copy of each series' identity (BatchEncoder) and one
// sample's encoding while it is added.
// Not thread-safe.
class BatchLineBuilder {
 public:
  explicit BatchLineBuilder(int gzip_level = 6) : gzip_level_(gzip_level) {}
  // zlib level of the gzip, 1..9; takes effect at the first Start that keeps a gzip.
  void set_gzip_level(int level) { gzip_level_ = level; }
  ~BatchLineBuilder();
  BatchLineBuilder(const BatchLineBuilder&) = delete;
  BatchLineBuilder& operator=(const BatchLineBuilder&) = delete;

  // Begins a batch with `head`'s members (its samples are ignored). Drops any batch in
  // progress. `expected_samples`: how many samples the batch will likely get; the text's
  // buffer is sized from it and the first sample's size for the first batch, and from the
  // last batch's size after that (growing it by doubling would hold up to three times the
  // text at once).
  Status Start(const SampleBatch& head, bool keep_text, bool keep_gzip,
               size_t expected_samples = 1);
  // Appends one sample's encoding.
  Status Add(const Sample& sample);
  // Closes the batch (started() is false after it); `host` is the batch's host facts.
  Status Finish(const std::map<std::string, std::string>& host);

  bool started() const { return started_; }
  size_t samples() const { return samples_; }
  // After Finish: the batch's text (empty unless kept). Valid until the next Start.
  std::string_view text() const { return text_; }
  // After Finish: the gzip of the text (empty unless kept), moved out.
  std::string TakeGzip() { return std::exchange(gzip_, {}); }

 private:
  Status Deflate(std::string_view piece, int flush);
  Status Append(std::string_view piece);

  int gzip_level_;
  bool started_ = false;
  bool keep_text_ = false;
  bool keep_gzip_ = false;
  size_t samples_ = 0;
  size_t expected_samples_ = 1;
  size_t last_text_size_ = 0;  // of the last batch finished with its text kept
  SampleBatch head_batch_;  // the head's members (no samples)
  BatchEncoder encoder_;    // the series defined in this batch so far
  std::string head_;        // the batch's text up to its first sample
  std::string scratch_;  // one sample's encoding
  std::string text_;     // the batch so far
  std::string gzip_;     // its compression so far
  z_stream zs_{};
  bool zs_ready_ = false;  // deflateInit2 done
};

}  // namespace jostle::agent
