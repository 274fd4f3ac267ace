// Fuzzes the HTTP server's Transfer-Encoding check (a request header, untrusted).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http_server/http_server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)jostle::CheckTransferEncoding(in);
  return 0;
}
