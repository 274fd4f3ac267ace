// The wire format between agent and collector: JSON (optionally gzip-compressed), one
// SampleBatch per document. Field names are documented in README ("Wire format").
#pragma once

#include <string>
#include <string_view>

#include "jostle/sample.h"
#include "jostle/status.h"

namespace jostle {

// Serialises a batch to one line of JSON (no trailing newline).
std::string EncodeBatch(const SampleBatch& batch);

// Parses a batch; refuses unknown wire versions, wrong types and missing identity fields
// with a message naming the offending field.
Result<SampleBatch> DecodeBatch(std::string_view json);

// gzip helpers (RFC 1952). Gunzip stops and fails with ResourceExhausted as soon as the
// output would exceed max_output bytes, so a gzip bomb is never inflated whole.
std::string Gzip(std::string_view data, int level = 6);
Result<std::string> Gunzip(std::string_view data, size_t max_output);
bool LooksGzipped(std::string_view data);

}  // namespace jostle
