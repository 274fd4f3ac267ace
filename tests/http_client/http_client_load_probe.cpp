// Run by libcurl_loading_test.cpp in a fresh process: says whether libcurl is mapped (from
// /proc/self/maps) before and after the first request of the process.
//
// Usage: http_client_load_probe URL
// Prints, one per line:
//   before_client libcurl_mapped=0|1
//   after_client libcurl_mapped=0|1       (an HttpClient exists, no request yet)
//   request 1: OK <http status> | <Status::ToString()>
//   after_request libcurl_mapped=0|1
//   request 2: ...                        (the same request again)
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>

#include "http_client/http_client.h"

namespace {

// Whether libcurl (libcurl.so.4, libcurl-gnutls.so.4, ...) is mapped into this process.
int LibcurlMapped() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const size_t slash = line.rfind('/');
    if (slash == std::string::npos) continue;
    const std::string_view file = std::string_view(line).substr(slash + 1);
    if (file.starts_with("libcurl.so") || file.starts_with("libcurl-")) return 1;
  }
  return 0;
}

void PrintRequest(int n, const jostle::Result<jostle::http::HttpResponse>& response) {
  if (response.ok()) {
    std::printf("request %d: OK %ld\n", n, response->status);
  } else {
    std::printf("request %d: %s\n", n, response.status().ToString().c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s URL\n", argv[0]);
    return 2;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf("before_client libcurl_mapped=%d\n", LibcurlMapped());
  jostle::http::HttpClient client;
  std::printf("after_client libcurl_mapped=%d\n", LibcurlMapped());
  jostle::http::HttpRequest request;
  request.url = argv[1];
  PrintRequest(1, client.Send(request));
  std::printf("after_request libcurl_mapped=%d\n", LibcurlMapped());
  PrintRequest(2, client.Send(request));
  return 0;
}
