// Fuzzes the collector's sample-batch decoder (POST /api/v1/samples), gzip included.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "jostle/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (jostle::LooksGzipped(in)) {
    auto plain = jostle::Gunzip(in, 1 << 20);
    if (plain.ok()) (void)jostle::DecodeBatch(*plain);
    return 0;
  }
  auto batch = jostle::DecodeBatch(in);
  if (batch.ok()) (void)jostle::DecodeBatch(jostle::EncodeBatch(*batch));
  return 0;
}
