// Batch lines for jostle-agent's outputs, without holding the whole line or the batch's
// Sample objects at once: the line of a 10-tick batch is megabytes for hundreds of cgroups.
// BatchLineBuilder encodes a batch one tick at a time as the ticks are taken, passing the
// text on as it is made (for --output) and/or keeping its gzip compression, deflated as it
// grows (for the shipper), so that neither a Sample nor the batch's text waits for the end
// of the batch. Both produce exactly EncodeBatch's text.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "jostle/sample.h"
#include "jostle/status.h"
#include "jostle/wire.h"

namespace jostle::agent {

// Builds EncodeBatch(batch) one sample at a time: Start with the batch's members (its host
// facts are those at the start of the batch), Add each tick's sample as it is taken, Finish.
// The text goes out as it is made, a sample at a time, to the TextOut given to Start (the
// agent's --output file: a batch's line is written over the batch's ticks and ends with
// Finish), and/or is kept as gzip (RFC 1952, one member; the shipper's payload), deflated
// as it grows. Their concatenation / inflation is EncodeBatch's text, without a newline.
// Memory between ticks: the compressed bytes so far, zlib's deflate state (~270 KiB at
// level 6, kept), one copy of each series' identity (BatchEncoder) and the buffer of one
// sample's encoding (capacity kept).
// Not thread-safe.
class BatchLineBuilder {
 public:
  // Receives the text in pieces; it cannot fail the batch (the gzip goes on regardless).
  using TextOut = std::function<void(std::string_view)>;

  explicit BatchLineBuilder(int gzip_level = 6) : gzip_level_(gzip_level) {}
  // zlib level of the gzip, 1..9; takes effect at the first Start that keeps a gzip.
  void set_gzip_level(int level) { gzip_level_ = level; }
  ~BatchLineBuilder();
  BatchLineBuilder(const BatchLineBuilder&) = delete;
  BatchLineBuilder& operator=(const BatchLineBuilder&) = delete;

  // Begins a batch with `head`'s members (its samples are ignored); the text goes to
  // `text_out` (none when empty), a gzip is kept when `keep_gzip`. Drops any batch in
  // progress (text already given to text_out stays given).
  Status Start(const SampleBatch& head, TextOut text_out, bool keep_gzip);
  // Encodes one sample and passes it on.
  Status Add(const Sample& sample);
  // Closes the batch (started() is false after it).
  Status Finish();

  bool started() const { return started_; }
  size_t samples() const { return samples_; }
  // After Finish: the gzip of the text (empty unless kept), moved out.
  std::string TakeGzip() { return std::exchange(gzip_, {}); }

 private:
  Status Deflate(std::string_view piece, int flush);
  Status Append(std::string_view piece, int flush);

  int gzip_level_;
  bool started_ = false;
  TextOut text_out_;
  bool keep_gzip_ = false;
  size_t samples_ = 0;
  BatchEncoder encoder_;  // the series defined in this batch so far
  std::string head_;      // the batch's text up to its first sample
  std::string scratch_;   // one piece: [head_] and a sample's encoding, or the tail
  std::string gzip_;      // the compression so far
  z_stream zs_{};
  bool zs_ready_ = false;  // deflateInit2 done
};

}  // namespace jostle::agent
