// Fuzzes the collector's sample-batch decoder (POST /api/v1/samples), gzip included, and
// checks it against two oracles:
// - what is JSON is nlohmann_json's call: DecodeBatch answers "not valid JSON" exactly when
//   nlohmann::json::accept refuses the text;
// - a batch that decodes re-encodes to text that decodes to an equal batch, and encoding
//   that batch again gives the same text.
// Seeds: fuzz/corpus/fuzz_wire_batch/.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "jostle/wire.h"

namespace {

constexpr size_t kMaxInflated = 1 << 20;

[[noreturn]] void Die(const char* what, std::string_view detail) {
  std::fprintf(stderr, "wire_batch_fuzz: %s\n%.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

void CheckDecode(std::string_view text) {
  auto batch = jostle::DecodeBatch(text);
  const bool json = nlohmann::json::accept(text.begin(), text.end());
  if (!batch.ok()) {
    const std::string& message = batch.status().message();
    const bool said_not_json = message.rfind("sample batch is not valid JSON: ", 0) == 0;
    if (said_not_json == json) Die("DecodeBatch and nlohmann_json disagree on JSON", message);
    return;
  }
  if (!json) Die("DecodeBatch accepted text nlohmann_json refuses", text);
  std::string encoded = jostle::EncodeBatch(*batch);
  auto again = jostle::DecodeBatch(encoded);
  if (!again.ok()) Die("re-encoded batch does not decode", again.status().message());
  if (!(*again == *batch)) Die("re-encoded batch decodes to a different batch", encoded);
  if (jostle::EncodeBatch(*again) != encoded) Die("encoding is not stable", encoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (jostle::LooksGzipped(in)) {
    auto plain = jostle::Gunzip(in, kMaxInflated);
    if (plain.ok()) {
      if (plain->size() > kMaxInflated) Die("Gunzip went past its limit", "");
      CheckDecode(*plain);
    }
    return 0;
  }
  CheckDecode(in);
  return 0;
}
