// The wire format between agent and collector: JSON (optionally gzip-compressed), one
// SampleBatch per document, as described in jostle/sample.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "jostle/sample.h"
#include "jostle/status.h"

namespace jostle {

// Serialises a batch to one line of JSON (no trailing newline). A batch of wire_version 2
// or later writes each cgroup's identity once per batch (see "Series references" in
// jostle/sample.h); a batch of wire_version 1 writes it in every sample.
std::string EncodeBatch(const SampleBatch& batch);

// EncodeBatch in pieces, for a batch whose samples arrive one at a time: Head, then
// Append for each sample in order, then Tail. The pieces concatenate to EncodeBatch's text of
// the whole batch. The encoder remembers the identities written since Head (copies of them,
// one per series), and keeps that memory from one batch to the next. Not thread-safe.
class BatchEncoder {
 public:
  // Appends the batch's members up to and including `"samples":[` (batch.samples is not
  // read) and starts a new batch: no series is defined yet.
  void Head(const SampleBatch& batch, std::string* out);
  // Appends one sample, with the comma before it when it is not the batch's first.
  void Append(const Sample& sample, std::string* out);
  // Appends the end of the batch, "]}".
  static void Tail(std::string* out);

 private:
  bool refs_ = false;                       // wire_version >= 2
  size_t samples_ = 0;                      // appended since Head
  size_t series_ = 0;                       // series defined since Head: identities_[0, series_)
  std::vector<CgroupIdentity> identities_;  // elements kept for reuse
  std::unordered_map<std::string, uint32_t> by_id_;  // cgroup id -> its latest series
};

// Appends `s` escaped for the inside of a JSON string literal (no quotes): quote, backslash
// and control characters escaped, other bytes kept as UTF-8, each ill-formed UTF-8 subpart
// replaced by U+FFFD. EncodeBatch writes every string this way.
void AppendJsonEscaped(std::string& out, std::string_view s);

// Parses a batch; refuses unknown wire versions, wrong types and missing identity fields
// with a message naming the offending field.
Result<SampleBatch> DecodeBatch(std::string_view json);

// DecodeBatch into *batch, reusing what *batch holds from an earlier decode: the capacity of
// its vectors, the elements in them, the buffers of its strings and the nodes of its label
// maps, so that decoding batches of a similar shape one after another allocates almost
// nothing. On success *batch equals what DecodeBatch(json) gives, whatever it held before.
// On failure the Status is DecodeBatch's and *batch is a valid batch of unspecified content.
Status DecodeBatchInto(std::string_view json, SampleBatch* batch);

// gzip helpers (RFC 1952). Gunzip stops and fails with ResourceExhausted as soon as the
// output would exceed max_output bytes, so a gzip bomb is never inflated whole.
std::string Gzip(std::string_view data, int level = 6);
Result<std::string> Gunzip(std::string_view data, size_t max_output);
// Gunzip into *out, reusing its capacity; the same results and errors as Gunzip (on failure
// *out holds unspecified bytes). Gunzip and GunzipInto keep one inflate state per thread and
// reset it between calls instead of allocating and freeing zlib's state and window per call.
Status GunzipInto(std::string_view data, size_t max_output, std::string* out);
bool LooksGzipped(std::string_view data);

}  // namespace jostle
