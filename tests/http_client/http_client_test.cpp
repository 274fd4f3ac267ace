#include "http_client/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "http_client/python_server.h"
#include "jostle_test/test_paths.h"

namespace jostle::http {
namespace {

using jostle::testing::PythonServer;

class HttpClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new PythonServer();
    std::string error;
    const std::string script =
        std::string(jostle::testing::kSourceDir) + "/tests/http_client/http_test_server.py";
    ASSERT_TRUE(server_->Start(script, {}, &error)) << error;
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static std::string Url(const std::string& path) { return server_->base_url() + path; }

  static PythonServer* server_;
};
PythonServer* HttpClientTest::server_ = nullptr;

// A loopback socket bound to a free port; `listening` = whether it listens (and never
// accepts), otherwise it is closed again so the port refuses connections.
int FreePortSocket(bool listening, int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return -1;
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  if (listening) {
    listen(fd, 16);
    return fd;
  }
  close(fd);
  return -1;
}

TEST_F(HttpClientTest, HttpStatusesAreResponsesNotErrors) {
  HttpClient client;
  for (long code : {200L, 201L, 204L, 400L, 401L, 404L, 410L, 500L, 503L}) {
    HttpRequest request;
    request.url = Url("/status/" + std::to_string(code));
    Result<HttpResponse> response = client.Send(request);
    ASSERT_TRUE(response.ok()) << response.status().message();
    EXPECT_EQ(response->status, code);
    if (code != 204) {
      EXPECT_EQ(response->body, "status " + std::to_string(code));
    }
  }
}

TEST_F(HttpClientTest, SendsRequestHeadersAndBearerTokenAndReadsResponseHeaders) {
  HttpClient client;
  HttpRequest request;
  request.url = Url("/headers");
  request.headers = {{"X-Custom", "value 1"}, {"Accept", "application/json"}};
  request.bearer_token = "secret-token-123";
  Result<HttpResponse> response = client.Send(request);
  ASSERT_TRUE(response.ok()) << response.status().message();
  ASSERT_EQ(response->status, 200);
  nlohmann::json seen = nlohmann::json::parse(response->body);
  EXPECT_EQ(seen["x-custom"], "value 1");
  EXPECT_EQ(seen["accept"], "application/json");
  EXPECT_EQ(seen["authorization"], "Bearer secret-token-123");
  EXPECT_EQ(response->Header("X-Jostle-Test"), "yes");
  EXPECT_EQ(response->Header("x-jostle-test"), "yes");
  EXPECT_EQ(response->Header("Content-Type"), "application/json");
  EXPECT_EQ(response->Header("X-Absent"), "");
}

TEST_F(HttpClientTest, PostAndPutSendTheBody) {
  HttpClient client;
  for (const std::string method : {"POST", "PUT"}) {
    HttpRequest request;
    request.method = method;
    request.url = Url("/echo");
    request.headers = {{"Content-Type", "application/json"}};
    request.body = R"({"a":1,"text":"h\u00e9llo"})";
    Result<HttpResponse> response = client.Send(request);
    ASSERT_TRUE(response.ok()) << response.status().message();
    nlohmann::json seen = nlohmann::json::parse(response->body);
    EXPECT_EQ(seen["method"], method);
    EXPECT_EQ(seen["body"], request.body);
    EXPECT_EQ(seen["content_type"], "application/json");
  }
  // An empty POST is still a POST.
  HttpRequest empty;
  empty.method = "POST";
  empty.url = Url("/echo");
  Result<HttpResponse> response = client.Send(empty);
  ASSERT_TRUE(response.ok()) << response.status().message();
  EXPECT_EQ(nlohmann::json::parse(response->body)["method"], "POST");
  EXPECT_EQ(nlohmann::json::parse(response->body)["body"], "");
}

TEST_F(HttpClientTest, ReusesTheConnectionBetweenRequests) {
  HttpClient client;
  HttpRequest request;
  request.url = Url("/peer");
  Result<HttpResponse> first = client.Send(request);
  Result<HttpResponse> second = client.Send(request);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->body, second->body) << "the second request came from another source port";
  // A GET after a POST on the same handle is a GET again.
  HttpRequest post;
  post.method = "POST";
  post.url = Url("/echo");
  post.body = "x";
  ASSERT_TRUE(client.Send(post).ok());
  HttpRequest get;
  get.url = Url("/echo");
  Result<HttpResponse> after = client.Send(get);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(nlohmann::json::parse(after->body)["method"], "GET");
}

TEST_F(HttpClientTest, StreamDeliversTheWholeChunkedBody) {
  HttpClient client;
  HttpRequest request;
  request.url = Url("/stream?n=200");
  std::string received;
  int calls = 0;
  long status = 0;
  Status st = client.Stream(
      request,
      [&](std::string_view chunk) {
        received.append(chunk);
        ++calls;
        return true;
      },
      &status);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(status, 200);
  std::string expected;
  for (int i = 0; i < 200; ++i) expected += "line " + std::to_string(i) + "\n";
  EXPECT_EQ(received, expected);
  EXPECT_GE(calls, 1);
}

TEST_F(HttpClientTest, StreamStopsWhenTheCallbackReturnsFalse) {
  HttpClient client;
  HttpRequest request;
  request.url = Url("/stall");
  request.timeout = std::chrono::seconds(60);
  std::string received;
  long status = 0;
  Status st = client.Stream(
      request,
      [&](std::string_view chunk) {
        received.append(chunk);
        return false;
      },
      &status);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(status, 200);
  EXPECT_EQ(received, "first\n");
  // The handle is usable afterwards.
  HttpRequest next;
  next.url = Url("/status/200");
  Result<HttpResponse> response = client.Send(next);
  ASSERT_TRUE(response.ok()) << response.status().message();
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpClientTest, StreamPassesErrorBodiesWithTheirStatus) {
  HttpClient client;
  HttpRequest request;
  request.url = Url("/status/410");
  std::string received;
  long status = 0;
  Status st = client.Stream(
      request,
      [&](std::string_view chunk) {
        received.append(chunk);
        return true;
      },
      &status);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(status, 410);
  EXPECT_EQ(received, "status 410");
}

TEST_F(HttpClientTest, CancelFromAnotherThreadEndsAStalledStream) {
  HttpClient client;
  HttpRequest request;
  request.url = Url("/stall");
  request.timeout = std::chrono::seconds(120);
  std::atomic<bool> got_first{false};
  std::thread canceller([&] {
    while (!got_first.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    client.Cancel();
  });
  long status = 0;
  Status st = client.Stream(
      request,
      [&](std::string_view) {
        got_first.store(true);
        return true;
      },
      &status);
  canceller.join();
  EXPECT_EQ(st.code(), Status::Code::kUnavailable);
  EXPECT_NE(st.message().find("cancelled"), std::string::npos) << st.message();
  EXPECT_TRUE(client.cancelled());
  HttpRequest next;
  next.url = Url("/status/200");
  EXPECT_EQ(client.Send(next).status().code(), Status::Code::kUnavailable);
}

TEST_F(HttpClientTest, ResponseLargerThanTheLimitIsResourceExhausted) {
  HttpClient client;
  HttpRequest request;
  request.url = Url("/big?bytes=5000");
  request.max_body_bytes = 1000;
  Result<HttpResponse> response = client.Send(request);
  EXPECT_EQ(response.status().code(), Status::Code::kResourceExhausted);
  request.max_body_bytes = 5000;
  response = client.Send(request);
  ASSERT_TRUE(response.ok()) << response.status().message();
  EXPECT_EQ(response->body.size(), 5000u);
}

TEST(HttpClientErrors, ServerThatNeverAnswersTimesOutAsUnavailable) {
  int port = 0;
  const int fd = FreePortSocket(/*listening=*/true, &port);
  ASSERT_GE(fd, 0);
  HttpClient client;
  HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(port) + "/never";
  request.timeout = std::chrono::milliseconds(300);
  const auto started = std::chrono::steady_clock::now();
  Result<HttpResponse> response = client.Send(request);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  close(fd);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(response.status().message().find(request.url), std::string::npos)
      << response.status().message();
  EXPECT_NE(response.status().message().find("imeout"), std::string::npos)
      << response.status().message();
  // Bounded by the request's timeout, not by some default (loose bound: shared machine).
  EXPECT_LT(elapsed, std::chrono::seconds(10));
}

TEST(HttpClientErrors, ConnectionRefusedIsUnavailableWithTheUrlAndNoToken) {
  int port = 0;
  FreePortSocket(/*listening=*/false, &port);
  HttpClient client;
  HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(port) + "/x?token=hunter2";
  request.bearer_token = "hunter3";
  Result<HttpResponse> response = client.Send(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Status::Code::kUnavailable);
  const std::string& message = response.status().message();
  EXPECT_NE(message.find("GET http://127.0.0.1:" + std::to_string(port) + "/x?token=***"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("onnect"), std::string::npos) << message;
  EXPECT_EQ(message.find("hunter"), std::string::npos) << message;
}

TEST(HttpClientErrors, MalformedUrlIsInvalidArgument) {
  HttpClient client;
  HttpRequest request;
  request.url = "nope://what";
  EXPECT_EQ(client.Send(request).status().code(), Status::Code::kInvalidArgument);
}

TEST(MaskSecrets, MasksBearerTokensAndSecretQueryParameters) {
  struct Case {
    std::string in;
    std::string out;
  };
  const Case cases[] = {
      {"Authorization: Bearer abc.def-ghi", "Authorization: Bearer ***"},
      {"authorization: bearer abc, next", "authorization: bearer ***, next"},
      {"http://h/p?token=abc&x=1", "http://h/p?token=***&x=1"},
      {"http://h/p?x=1&access_token=abc#f", "http://h/p?x=1&access_token=***#f"},
      {"http://h/p?password=pw", "http://h/p?password=***"},
      {"http://h/p?tokens=visible", "http://h/p?tokens=visible"},
      {"http://h/api/v1/pods?fieldSelector=spec.nodeName%3Dn1",
       "http://h/api/v1/pods?fieldSelector=spec.nodeName%3Dn1"},
      {"no secrets here", "no secrets here"},
      {"Bearer ", "Bearer "},
      {"", ""},
  };
  for (const Case& c : cases) EXPECT_EQ(MaskSecrets(c.in), c.out) << c.in;
}

}  // namespace
}  // namespace jostle::http

namespace jostle::http {
namespace {

// An https server with a self-signed certificate for 127.0.0.1 (as a cluster CA signs the
// API server's): trusted through ca_file, refused without it.
TEST(HttpClientTls, VerifiesTheServerAgainstTheGivenCaFile) {
  namespace fs = std::filesystem;
  std::string tmpl = (fs::temp_directory_path() / "jostle-tls-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;
  const std::string cert = (dir / "cert.pem").string();
  const std::string key = (dir / "key.pem").string();
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
      "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  jostle::testing::PythonServer server;
  std::string error;
  ASSERT_TRUE(server.Start(
      std::string(jostle::testing::kSourceDir) + "/tests/http_client/http_test_server.py",
      {"--tls", cert, key}, &error))
      << error;
  const std::string url = "https://127.0.0.1:" + std::to_string(server.port()) + "/status/200";
  HttpClient client;
  HttpRequest request;
  request.url = url;
  request.ca_file = cert;
  Result<HttpResponse> trusted = client.Send(request);
  ASSERT_TRUE(trusted.ok()) << trusted.status().message();
  EXPECT_EQ(trusted->status, 200);

  HttpClient other;
  request.ca_file = "";
  Result<HttpResponse> untrusted = other.Send(request);
  EXPECT_EQ(untrusted.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(untrusted.status().message().find(url), std::string::npos);

  request.ca_file = (dir / "missing.pem").string();
  EXPECT_FALSE(other.Send(request).ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace jostle::http
