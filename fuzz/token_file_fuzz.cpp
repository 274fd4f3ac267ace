// Fuzzes the collector's --token-file parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collector/api/token_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)jostle::collector::TokenSet::Parse(in, "fuzz");
  return 0;
}
