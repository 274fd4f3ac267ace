// HttpServer over real loopback TCP: raw sockets for byte-level control, the curl CLI for a
// real client.
#include "http_server/http_server.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "http_server/loopback_client.h"

namespace jostle {
namespace {

using testing::LoopbackConnection;
using testing::RawRequest;

// A gate a handler waits on; Wait gives up after 20 s so a broken test fails, not hangs.
class Gate {
 public:
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool Wait() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(20), [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

HttpServerResponse Echo(const HttpServerRequest& r) {
  nlohmann::json j = {{"method", r.method}, {"path", r.path},
                      {"query", r.query},   {"body_size", r.body.size()},
                      {"remote", r.remote}, {"x_test", r.Header("x-test").value_or("")}};
  HttpServerResponse out;
  out.body = j.dump();
  out.headers.emplace_back("X-Echo", "1");
  return out;
}

std::unique_ptr<HttpServer> StartOrDie(HttpServerOptions options, Handler handler) {
  auto s = HttpServer::Start(std::move(options), std::move(handler));
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s.value()) : nullptr;
}

std::string RunCommand(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

TEST(HttpServerTest, AnswersGetAndPostWithCurl) {
  auto server = StartOrDie({}, Echo);
  ASSERT_TRUE(server);
  ASSERT_NE(server->port(), 0);
  std::string url = "http://" + server->address() + "/a/b?x=1&y=two%20words";
  std::string out = RunCommand("curl -sS -H 'X-Test: hello' --data-binary 'abcdef' '" + url +
                               "' -w '\\n%{http_code}'");
  size_t nl = out.rfind('\n');
  ASSERT_NE(nl, std::string::npos) << out;
  EXPECT_EQ(out.substr(nl + 1), "200");
  auto j = nlohmann::json::parse(out.substr(0, nl));
  EXPECT_EQ(j["method"], "POST");
  EXPECT_EQ(j["path"], "/a/b");
  EXPECT_EQ(j["query"]["y"], "two words");
  EXPECT_EQ(j["body_size"], 6);
  EXPECT_EQ(j["x_test"], "hello");
  EXPECT_EQ(j["remote"].get<std::string>().rfind("127.0.0.1:", 0), 0u);
}

TEST(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  auto server = StartOrDie({}, Echo);
  ASSERT_TRUE(server);
  LoopbackConnection c(server->port());
  ASSERT_TRUE(c.connected());
  std::string remote;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.Send("GET /k" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->headers["x-echo"], "1");
    auto j = nlohmann::json::parse(r->body);
    EXPECT_EQ(j["path"], "/k" + std::to_string(i));
    if (i == 0) remote = j["remote"];
    EXPECT_EQ(j["remote"], remote) << "a new connection was used";
  }
  // Connection: close is honoured.
  ASSERT_TRUE(c.Send("GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(c.ReadsEof());
}

TEST(HttpServerTest, OversizedContentLengthGets413WithoutSendingTheBody) {
  HttpServerOptions o;
  o.max_body_bytes = 1024;
  std::atomic<int> calls{0};
  auto server = StartOrDie(o, [&](const HttpServerRequest& r) {
    ++calls;
    return Echo(r);
  });
  ASSERT_TRUE(server);
  LoopbackConnection c(server->port());
  // Announce 100 MB but send only the headers: the answer must come without the body.
  ASSERT_TRUE(c.Send("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["error"], "too large");
  EXPECT_NE(j["detail"].get<std::string>().find("1024"), std::string::npos);
  EXPECT_EQ(calls.load(), 0);
}

TEST(HttpServerTest, OversizedChunkedBodyGets413) {
  HttpServerOptions o;
  o.max_body_bytes = 1024;
  auto server = StartOrDie(o, Echo);
  ASSERT_TRUE(server);
  LoopbackConnection c(server->port());
  std::string chunk(800, 'a');
  std::string req = "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 2; ++i) req += "320\r\n" + chunk + "\r\n";
  req += "0\r\n\r\n";
  ASSERT_TRUE(c.Send(req));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST(HttpServerTest, BodyAtTheLimitIsAccepted) {
  HttpServerOptions o;
  o.max_body_bytes = 1024;
  auto server = StartOrDie(o, Echo);
  ASSERT_TRUE(server);
  auto r =
      RawRequest(server->port(), "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n" +
                                     std::string(1024, 'b'));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(nlohmann::json::parse(r->body)["body_size"], 1024);
}

TEST(HttpServerTest, CurlLargeUploadGets413) {
  // curl sends "Expect: 100-continue" for large bodies; the 413 comes before the body.
  HttpServerOptions o;
  o.max_body_bytes = 1 << 20;
  auto server = StartOrDie(o, Echo);
  ASSERT_TRUE(server);
  std::string out = RunCommand(
      "head -c 8388608 /dev/zero | curl -sS -o /dev/null -w '%{http_code}' --data-binary @- "
      "http://" +
      server->address() + "/up");
  EXPECT_EQ(out, "413");
}

TEST(HttpServerTest, SlowHeadersTimeOut) {
  HttpServerOptions o;
  o.header_timeout = std::chrono::milliseconds(300);
  auto server = StartOrDie(o, Echo);
  ASSERT_TRUE(server);
  LoopbackConnection c(server->port());
  // A slowloris client: part of the headers, then nothing.
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\n"));
  // The server closes the connection (tcp_stream closes the socket on timeout).
  EXPECT_TRUE(c.ReadsEof());
}

TEST(HttpServerTest, SlowBodyTimesOut) {
  HttpServerOptions o;
  o.read_timeout = std::chrono::milliseconds(300);
  std::atomic<int> calls{0};
  auto server = StartOrDie(o, [&](const HttpServerRequest& r) {
    ++calls;
    return Echo(r);
  });
  ASSERT_TRUE(server);
  LoopbackConnection c(server->port());
  ASSERT_TRUE(c.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"));
  EXPECT_TRUE(c.ReadsEof());
  EXPECT_EQ(calls.load(), 0);
}

TEST(HttpServerTest, IdleConnectionWithoutRequestIsClosed) {
  HttpServerOptions o;
  o.header_timeout = std::chrono::milliseconds(200);
  auto server = StartOrDie(o, Echo);
  ASSERT_TRUE(server);
  LoopbackConnection c(server->port());
  EXPECT_TRUE(c.ReadsEof());
}

TEST(HttpServerTest, HandlerExceptionBecomes500Json) {
  auto server = StartOrDie({}, [](const HttpServerRequest&) -> HttpServerResponse {
    throw std::runtime_error("boom at step 3");
  });
  ASSERT_TRUE(server);
  LoopbackConnection c(server->port());
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["error"], "internal");
  EXPECT_NE(j["detail"].get<std::string>().find("boom at step 3"), std::string::npos);
  // The connection stays usable.
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto again = c.Read();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 500);
}

TEST(HttpServerTest, MalformedRequestGets400) {
  auto server = StartOrDie({}, Echo);
  ASSERT_TRUE(server);
  auto r = RawRequest(server->port(), "GARBAGE\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

TEST(HttpServerTest, TransferCodingsOtherThanAFinalChunkedAreRefused) {
  std::atomic<int> handled{0};
  auto server = StartOrDie({}, [&](const HttpServerRequest& r) {
    ++handled;
    return Echo(r);
  });
  ASSERT_TRUE(server);
  // Beast would take "xchunked" for no body at all and read the chunks as a second request.
  for (const char* te : {"xchunked", "chunked, gzip", "chunked, chunked", "identity"}) {
    LoopbackConnection c(server->port());
    ASSERT_TRUE(c.Send(std::string("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ") + te +
                       "\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r) << te;
    EXPECT_EQ(r->status, 400) << te;
    EXPECT_EQ(r->headers["connection"], "close") << te;
    EXPECT_TRUE(c.ReadsEof()) << te;
  }
  auto gzip = RawRequest(server->port(),
                         "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                         "0\r\n\r\n");
  ASSERT_TRUE(gzip);
  EXPECT_EQ(gzip->status, 501);
  auto both = RawRequest(server->port(),
                         "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  ASSERT_TRUE(both);
  EXPECT_EQ(both->status, 400);
  EXPECT_EQ(handled.load(), 0);
  auto chunked = RawRequest(server->port(),
                            "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n"
                            "5\r\nhello\r\n0\r\n\r\n");
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->status, 200);
  EXPECT_NE(chunked->body.find("\"body_size\":5"), std::string::npos) << chunked->body;
}

TEST(HttpServerTest, ServesConcurrentClients) {
  constexpr int kClients = 4;
  HttpServerOptions o;
  o.workers = kClients;
  std::mutex mu;
  std::condition_variable cv;
  int inside = 0;
  // Every handler waits until all clients are inside at once: only a server that runs them
  // concurrently answers 200.
  auto server = StartOrDie(o, [&](const HttpServerRequest& r) {
    std::unique_lock lock(mu);
    ++inside;
    cv.notify_all();
    bool all = cv.wait_for(lock, std::chrono::seconds(20), [&] { return inside >= kClients; });
    HttpServerResponse out = Echo(r);
    out.status = all ? 200 : 504;
    return out;
  });
  ASSERT_TRUE(server);
  std::vector<std::future<int>> results;
  for (int i = 0; i < kClients; ++i) {
    results.push_back(std::async(std::launch::async, [&] {
      auto r = RawRequest(server->port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      return r ? r->status : 0;
    }));
  }
  for (auto& f : results) EXPECT_EQ(f.get(), 200);
}

TEST(HttpServerTest, StopFinishesInFlightRequestAndRefusesNewOnes) {
  Gate entered, release;
  auto server = StartOrDie({}, [&](const HttpServerRequest& r) {
    entered.Open();
    release.Wait();
    return Echo(r);
  });
  ASSERT_TRUE(server);
  uint16_t port = server->port();
  auto client = std::async(std::launch::async, [port] {
    return RawRequest(port, "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
  });
  ASSERT_TRUE(entered.Wait());
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    server->Stop();
    stopped = true;
  });
  // Stop waits for the handler; new connections are no longer accepted meanwhile.
  for (int i = 0; i < 200; ++i) {
    LoopbackConnection probe(port, 2);
    if (!probe.connected()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(stopped.load());
  release.Open();
  auto r = client.get();
  stopper.join();
  EXPECT_TRUE(stopped.load());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers["connection"], "close");
  LoopbackConnection after(port, 2);
  EXPECT_FALSE(after.connected());
}

TEST(HttpServerTest, StopClosesIdleKeepAliveConnections) {
  HttpServerOptions o;
  o.idle_timeout = std::chrono::seconds(600);
  o.drain_timeout = std::chrono::seconds(600);
  auto server = StartOrDie(o, Echo);
  ASSERT_TRUE(server);
  LoopbackConnection c(server->port());
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.Read());
  // Would wait 600 s if the idle connection were treated as in flight.
  server->Stop();
  EXPECT_TRUE(c.ReadsEof());
}

TEST(HttpServerTest, ConnectionsBeyondTheCapGet503) {
  HttpServerOptions o;
  o.max_connections = 1;
  auto server = StartOrDie(o, Echo);
  ASSERT_TRUE(server);
  LoopbackConnection first(server->port());
  ASSERT_TRUE(first.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(first.Read());  // the first connection is registered and idle now
  auto r = RawRequest(server->port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
}

// Polls `done` every 10 ms for up to 20 s.
bool PollFor(const std::function<bool()>& done) {
  for (int i = 0; i < 2000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

TEST(HttpServerTest, HealthProbeAnswersWhileEveryWorkerIsBusy) {
  HttpServerOptions o;
  o.workers = 2;
  o.inline_paths = {"/healthz"};
  std::atomic<int> entered{0};
  Gate release;
  auto server = StartOrDie(o, [&](const HttpServerRequest& r) {
    if (r.path == "/slow") {
      ++entered;
      release.Wait();
    }
    return Echo(r);
  });
  ASSERT_TRUE(server);
  uint16_t port = server->port();
  std::vector<std::future<std::optional<testing::RawResponse>>> slow;
  for (int i = 0; i < 4; ++i) {
    slow.push_back(std::async(std::launch::async, [port] {
      return RawRequest(port, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    }));
  }
  ASSERT_TRUE(PollFor([&] { return entered.load() == 2; }));
  // Both workers are held and two requests queue behind them: the probe does not queue.
  LoopbackConnection probe(port, 3);
  ASSERT_TRUE(probe.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto health = probe.Read();
  ASSERT_TRUE(health) << "/healthz waited behind the busy workers";
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(entered.load(), 2);
  release.Open();
  for (auto& f : slow) {
    auto r = f.get();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
}

TEST(HttpServerTest, FullWorkerQueueGets503WithRetryAfter) {
  HttpServerOptions o;
  o.workers = 1;
  o.max_queued = 1;
  o.retry_after_s = 7;
  Gate entered, release;
  auto server = StartOrDie(o, [&](const HttpServerRequest& r) {
    entered.Open();
    release.Wait();
    return Echo(r);
  });
  ASSERT_TRUE(server);
  uint16_t port = server->port();
  auto send = [port] {
    return std::async(std::launch::async,
                      [port] { return RawRequest(port, "GET /work HTTP/1.1\r\nHost: x\r\n\r\n"); });
  };
  auto first = send();
  ASSERT_TRUE(entered.Wait());
  auto second = send();
  auto third = send();
  // One of the two finds the queue full and is answered at once, before the gate opens.
  ASSERT_TRUE(PollFor([&] { return server->stats().rejected_busy == 1; }));
  release.Open();
  std::vector<int> statuses;
  std::string retry_after;
  for (auto* f : {&first, &second, &third}) {
    auto r = f->get();
    ASSERT_TRUE(r);
    statuses.push_back(r->status);
    if (r->status == 503) retry_after = r->headers["retry-after"];
  }
  std::sort(statuses.begin(), statuses.end());
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 503}));
  EXPECT_EQ(retry_after, "7");
}

// A handler whose body is streamed: `pieces` pieces of "piece N\n".
HttpServerResponse Streamed(int pieces, std::atomic<int>* written = nullptr,
                            std::atomic<bool>* refused = nullptr) {
  HttpServerResponse out;
  out.content_type = "text/plain";
  out.stream = [pieces, written, refused](BodyWriter& body) {
    for (int i = 0; i < pieces; ++i) {
      if (!body.Write("piece " + std::to_string(i) + "\n")) {
        if (refused) *refused = true;
        return;
      }
      if (written) ++*written;
    }
  };
  return out;
}

TEST(HttpServerTest, StreamedBodyIsChunkedAndTheConnectionStaysUsable) {
  auto server = StartOrDie({}, [](const HttpServerRequest& r) {
    return r.path == "/stream" ? Streamed(1000) : Echo(r);
  });
  ASSERT_TRUE(server);
  std::string expected;
  for (int i = 0; i < 1000; ++i) expected += "piece " + std::to_string(i) + "\n";
  // curl decodes the chunked body; --raw shows the framing.
  std::string url = "http://" + server->address() + "/stream";
  EXPECT_EQ(RunCommand("curl -sS " + url), expected);
  std::string raw = RunCommand("curl -sS --raw " + url);
  EXPECT_NE(raw.find("\r\n0\r\n\r\n"), std::string::npos) << raw.substr(0, 200);
  // Keep-alive after the last chunk: a second request on the same connection.
  std::string both = RunCommand("curl -sS " + url + " " + "http://" + server->address() +
                                "/after -w '%{num_connects}'");
  EXPECT_EQ(both.substr(0, expected.size()), expected);
  EXPECT_NE(both.find("\"path\":\"/after\""), std::string::npos) << both;
  EXPECT_EQ(both.back(), '0') << "the second request opened a new connection";
}

TEST(HttpServerTest, StreamedBodyForHttp10EndsWithTheConnection) {
  auto server = StartOrDie({}, [](const HttpServerRequest&) { return Streamed(3); });
  ASSERT_TRUE(server);
  LoopbackConnection c(server->port());
  ASSERT_TRUE(c.Send("GET /stream HTTP/1.0\r\n\r\n"));
  auto head = c.Read();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->headers.count("transfer-encoding"), 0u);
  std::string body = RunCommand("curl -sS --http1.0 http://" + server->address() + "/stream");
  EXPECT_EQ(body, "piece 0\npiece 1\npiece 2\n");
}

TEST(HttpServerTest, StreamStopsOnceTheClientIsGone) {
  std::atomic<int> written{0};
  std::atomic<bool> refused{false};
  HttpServerOptions o;
  o.write_timeout = std::chrono::seconds(30);
  auto server = StartOrDie(
      o, [&](const HttpServerRequest&) { return Streamed(100000000, &written, &refused); });
  ASSERT_TRUE(server);
  {
    LoopbackConnection c(server->port());
    ASSERT_TRUE(c.Send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto head = c.Read();
    ASSERT_TRUE(head);
    EXPECT_EQ(head->headers["transfer-encoding"], "chunked");
    // Not reading: the writes stop once the socket buffers are full.
    ASSERT_TRUE(PollFor([&] { return written.load() > 100; }));
  }
  ASSERT_TRUE(PollFor([&] { return refused.load(); })) << written.load() << " pieces written";
  EXPECT_LT(written.load(), 100000000);
  // The worker is free again.
  auto r = RawRequest(server->port(), "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
}

TEST(HttpServerTest, StreamedBodyOnAnInlinePathIsGatheredIntoOne) {
  HttpServerOptions o;
  o.inline_paths = {"/healthz"};
  auto server = StartOrDie(o, [](const HttpServerRequest&) { return Streamed(2); });
  ASSERT_TRUE(server);
  auto r = RawRequest(server->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "piece 0\npiece 1\n");
}

// A connection that has sent part of a request's headers and then nothing.
std::unique_ptr<LoopbackConnection> SlowHeaders(uint16_t port, const char* source) {
  auto c = std::make_unique<LoopbackConnection>(port, 5, source);
  if (c->connected()) c->Send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ");
  return c;
}

TEST(HttpServerTest, OneAddressCannotTakeEveryConnection) {
  HttpServerOptions o;
  o.max_connections = 64;
  o.max_connections_per_address = 8;
  o.header_timeout = std::chrono::seconds(60);
  auto server = StartOrDie(o, Echo);
  ASSERT_TRUE(server);
  std::vector<std::unique_ptr<LoopbackConnection>> held;
  for (int i = 0; i < 100; ++i) held.push_back(SlowHeaders(server->port(), "127.0.0.1"));
  ASSERT_TRUE(PollFor([&] { return server->stats().rejected_per_address == 92; }))
      << server->stats().rejected_per_address;
  EXPECT_EQ(server->stats().connections, 8u);
  // The refused ones got a 503 naming the reason.
  auto refused = held.back()->Read();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_NE(refused->body.find("from this address"), std::string::npos) << refused->body;
  // Every other client is served.
  for (const char* other : {"127.0.0.2", "127.0.0.3", "127.0.0.4"}) {
    auto r = RawRequest(server->port(), "GET /x HTTP/1.1\r\nHost: x\r\n\r\n", other);
    ASSERT_TRUE(r) << other;
    EXPECT_EQ(r->status, 200) << other;
  }
}

TEST(HttpServerTest, LastEighthOfTheCapIsKeptForOtherAddresses) {
  HttpServerOptions o;
  o.max_connections = 16;
  o.max_connections_per_address = 0;  // only the reserve applies
  o.header_timeout = std::chrono::seconds(60);
  o.pressure_header_timeout = std::chrono::seconds(60);
  auto server = StartOrDie(o, Echo);
  ASSERT_TRUE(server);
  std::vector<std::unique_ptr<LoopbackConnection>> held;
  for (int i = 0; i < 20; ++i) held.push_back(SlowHeaders(server->port(), "127.0.0.1"));
  ASSERT_TRUE(PollFor([&] { return server->stats().rejected_global == 6; }));
  EXPECT_EQ(server->stats().connections, 14u);
  auto r = RawRequest(server->port(), "GET /x HTTP/1.1\r\nHost: x\r\n\r\n", "127.0.0.2");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(HttpServerTest, NearTheCapSlowHeaderConnectionsAreClosed) {
  HttpServerOptions o;
  o.max_connections = 16;
  o.max_connections_per_address = 0;
  o.header_timeout = std::chrono::seconds(60);
  o.pressure_header_timeout = std::chrono::milliseconds(200);
  auto server = StartOrDie(o, Echo);
  ASSERT_TRUE(server);
  // 13 clients of one connection each: above three quarters of the cap.
  std::vector<std::unique_ptr<LoopbackConnection>> slow;
  for (int i = 0; i < 13; ++i) {
    std::string source = "127.0.1." + std::to_string(10 + i);
    slow.push_back(SlowHeaders(server->port(), source.c_str()));
  }
  ASSERT_TRUE(PollFor([&] { return server->stats().connections == 13; }));
  // New clients keep coming; past 200 ms the slow ones are closed to make room.
  ASSERT_TRUE(PollFor([&] {
    auto r = RawRequest(server->port(), "GET /x HTTP/1.1\r\nHost: x\r\n\r\n", "127.0.0.2");
    EXPECT_TRUE(r && r->status == 200);
    return server->stats().closed_under_pressure == 13;
  }));
  for (auto& c : slow) EXPECT_TRUE(c->ReadsEof());
}

TEST(HttpServerTest, BadListenAddressIsRefused) {
  HttpServerOptions o;
  o.listen = "not-an-ip:80";
  auto s = HttpServer::Start(o, Echo);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument);
  auto busy = StartOrDie({}, Echo);
  ASSERT_TRUE(busy);
  o.listen = busy->address();
  auto again = HttpServer::Start(o, Echo);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Status::Code::kIOError);
}

}  // namespace
}  // namespace jostle
