// The one outbound HTTP client of jostle (agent shipper, Kubernetes API client, webhook
// sender): a small wrapper over libcurl. libcurl is not linked: the first request of the
// process loads libcurl.so.4 (dlopen), so a process that sends none never maps it.
//
// Threading: one HttpClient per thread. Each HttpClient owns one curl easy handle, created
// by its first request and reused (so connections are kept alive between requests to the
// same host). Only Cancel() may be called from another thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jostle/status.h"

namespace jostle::http {

struct HttpRequest {
  std::string method = "GET";  // GET, POST, PUT, DELETE, ...
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // sent as "Name: value"
  std::string body;                                          // sent when non-empty
  std::chrono::milliseconds connect_timeout{5000};
  // Whole transfer, connect included. For Stream() this bounds the stream's lifetime.
  std::chrono::milliseconds timeout{30000};
  std::string ca_file;       // PEM bundle to verify the server; empty = system CAs
  std::string bearer_token;  // sent as "Authorization: Bearer TOKEN"; never logged
  // Send() only: a larger response body fails with ResourceExhausted.
  std::size_t max_body_bytes = 64u << 20;
};

struct HttpResponse {
  long status = 0;  // HTTP status code of the final response
  std::vector<std::pair<std::string, std::string>> headers;  // in arrival order
  std::string body;

  // The first header named `name` (case-insensitive), or "" when absent.
  std::string_view Header(std::string_view name) const;
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Performs one request and returns the whole response. Any HTTP status is a response,
  // not an error. Unavailable when the peer cannot be reached, the connection breaks or
  // the timeout passes (the message carries curl's message and the URL, tokens masked),
  // or the client was cancelled, or libcurl.so.4 could not be loaded (then every request
  // fails); InvalidArgument for a malformed URL or option.
  Result<HttpResponse> Send(const HttpRequest& request);

  // Performs one request and hands the response body to `on_data` chunk by chunk as it
  // arrives (whatever the status; `*status_out` is set before the first chunk and on
  // return). `on_data` returns false to stop: the transfer ends and Stream returns Ok.
  // A server that ends the body cleanly also gives Ok. Errors as for Send().
  Status Stream(const HttpRequest& request,
                const std::function<bool(std::string_view chunk)>& on_data, long* status_out);

  // Thread-safe. Makes the transfer in progress (and every later one) end promptly with
  // Unavailable("... cancelled"). Used to stop a thread blocked in a long watch.
  void Cancel();
  bool cancelled() const { return cancelled_.load(); }

 private:
  struct Handles;
  Status Perform(const HttpRequest& request, const std::function<bool(std::string_view)>& sink,
                 HttpResponse* response);

  std::unique_ptr<Handles> handles_;
  std::atomic<bool> cancelled_{false};
};

// Replaces credentials in a string meant for a log line: the value after "Bearer ",
// and the values of URL query parameters named token, access_token, password or key.
std::string MaskSecrets(std::string_view text);

}  // namespace jostle::http
