// A small HTTP/1.1 server for the collector API and the agent's /metrics endpoint.
//
// The interface is plain structs; Boost.Beast/Asio stay inside http_server.cpp. The server
// enforces a request body limit (413 before the body is read), a header timeout and a read
// timeout (a slow client cannot hold a connection), an idle timeout between keep-alive
// requests, and a connection cap (503 beyond it). Handler exceptions become a 500 JSON error.
//
// Threads: `io_threads` network threads read and write every connection; handlers run on a
// separate pool of `workers` threads with a bounded queue (a request that finds the queue
// full is answered 503 with Retry-After at once), except the `inline_paths` (health
// probes), which are answered on the network thread and so never wait behind slow work.
//
// One client address cannot take the server: it holds at most
// `max_connections_per_address` connections; the last eighth of `max_connections` is kept
// for addresses holding fewer than two; and when three quarters of the cap are in use,
// connections that have waited longer than `pressure_header_timeout` for a request's
// headers (idle keep-alive ones and slow senders alike) are closed to make room.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jostle/status.h"

namespace jostle {

// Orders header names ignoring ASCII case.
struct CaseInsensitiveLess {
  bool operator()(std::string_view a, std::string_view b) const;
  using is_transparent = void;
};

struct HttpServerRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: "/api/v1/runs/r1/results?job=unit"
  std::string path;    // target up to '?', not percent-decoded: "/api/v1/runs/r1/results"
  std::map<std::string, std::string> query;  // percent- and '+'-decoded; last one wins
  // Repeated headers are joined with ", ".
  std::map<std::string, std::string, CaseInsensitiveLess> headers;
  std::string body;    // the whole body (at most HttpServerOptions::max_body_bytes)
  std::string remote;  // "127.0.0.1:53422"

  // The value of header `name` (any case), or nullopt.
  std::optional<std::string> Header(std::string_view name) const;
  // The query parameter, or `fallback`.
  std::string Query(const std::string& name, std::string fallback = "") const;
};

// Takes a streamed response body piece by piece (HttpServerResponse::stream).
class BodyWriter {
 public:
  virtual ~BodyWriter() = default;
  // Sends `data` and returns once it is written to the connection, so at most one piece per
  // response is held in memory. False once the client is gone or a piece took longer than
  // HttpServerOptions::write_timeout: the rest is not wanted, stop producing.
  virtual bool Write(std::string_view data) = 0;
};

struct HttpServerResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;
  // When set, the body is produced by this function instead of `body`: it is called on the
  // worker thread once the status line and headers are sent, and writes the body in pieces
  // (chunked transfer coding for HTTP/1.1, delimited by closing the connection for
  // HTTP/1.0). An exception ends the body early: the connection is closed without the last
  // chunk, so the client sees a truncated response. For inline paths the pieces are
  // gathered into one body first.
  std::function<void(BodyWriter&)> stream;
};

// {"error": error, "detail": detail} with the given status.
HttpServerResponse JsonError(int status, std::string_view error, std::string_view detail);

// Called on a worker thread, concurrently for concurrent connections; may block (it holds
// that worker only). For HttpServerOptions::inline_paths it is called on a network thread
// and must answer at once. Exceptions are caught and answered with 500.
using Handler = std::function<HttpServerResponse(const HttpServerRequest&)>;

struct HttpServerOptions {
  std::string listen = "127.0.0.1:0";   // HOST:PORT; port 0 picks a free port
  size_t max_body_bytes = 20u << 20;    // larger bodies get 413 without being read
  size_t max_header_bytes = 16u << 10;  // larger header blocks get 431
  // Time from the first byte of a request to the end of its headers.
  std::chrono::milliseconds header_timeout = std::chrono::seconds(10);
  // Time to read the body after the headers.
  std::chrono::milliseconds read_timeout = std::chrono::seconds(60);
  // Time a keep-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
  // Time to write a response.
  std::chrono::milliseconds write_timeout = std::chrono::seconds(60);
  // How long Stop() waits for in-flight requests before closing them.
  std::chrono::milliseconds drain_timeout = std::chrono::seconds(30);
  int io_threads = 2;      // network threads (accept, read, write)
  int workers = 4;         // threads running handlers
  size_t max_queued = 64;  // requests waiting for a worker; more get 503
  int retry_after_s = 1;   // Retry-After of the 503 for a full queue
  // Paths (exact, without query) answered on a network thread, never queued.
  std::vector<std::string> inline_paths;
  size_t max_connections = 1024;  // connections beyond are answered 503 and closed
  // Connections one client IP address may hold; beyond, 503 and closed. 0: no limit.
  size_t max_connections_per_address = 64;
  // Near the cap (3/4 of max_connections in use), a connection waiting this long for a
  // request's headers is closed.
  std::chrono::milliseconds pressure_header_timeout = std::chrono::seconds(1);
  std::string server_name = "jostle";
};

// What the server refused or closed early, cumulative since Start; `connections` is now.
struct HttpServerStats {
  uint64_t connections = 0;
  uint64_t rejected_global = 0;        // max_connections (or its reserve) was reached
  uint64_t rejected_per_address = 0;   // the address held max_connections_per_address
  uint64_t closed_under_pressure = 0;  // waited for headers too long near the cap
  uint64_t rejected_busy = 0;          // the worker queue was full (503 + Retry-After)
};

class HttpServer {
 public:
  // Binds, listens and starts the threads. InvalidArgument for a bad listen address,
  // IOError when the address cannot be bound.
  static Result<std::unique_ptr<HttpServer>> Start(HttpServerOptions options, Handler handler);

  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  HttpServerStats stats() const;
  // "127.0.0.1:8080", with the port actually bound.
  std::string address() const;

  // Graceful: stops accepting, closes idle keep-alive connections, lets requests in flight
  // finish (up to drain_timeout), then stops the threads. Idempotent; any thread but the
  // server's own.
  void Stop();

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Splits "HOST:PORT" ("[::1]:80" for IPv6). InvalidArgument naming the text when malformed.
Result<std::pair<std::string, uint16_t>> ParseListenAddress(std::string_view text);
// Percent-decodes (and turns '+' into ' ' when form is true). InvalidArgument on bad escapes.
Result<std::string> PercentDecode(std::string_view text, bool form);
// Checks a request's Transfer-Encoding value (RFC 9112 §6): a comma-separated list of
// transfer-coding names, each matched exactly (ASCII case-insensitive, parameters after
// ';' allowed), of which only "chunked" is understood, and only as the final coding and
// once. InvalidArgument (400) when chunked is not the final coding (the body length cannot
// be known: "xchunked", "chunked, gzip", an empty name), Unsupported (501) for a coding
// this server does not decode before the final chunked ("gzip, chunked").
Status CheckTransferEncoding(std::string_view value);
// Splits a target into path and decoded query parameters.
Status SplitTarget(std::string_view target, std::string* path,
                   std::map<std::string, std::string>* query);

}  // namespace jostle
