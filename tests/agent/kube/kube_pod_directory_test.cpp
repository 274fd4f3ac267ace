// KubePodDirectory against a fake API server (fake_kube_api.py) that speaks the real
// Kubernetes JSON over loopback HTTP, scripted through its /_control endpoints.
#include "agent/kube/kube_pod_directory.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "http_client/http_client.h"
#include "http_client/python_server.h"
#include "jostle_test/test_paths.h"

namespace jostle::agent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kNode[] = "ci-node-1";
constexpr char kRunnerUid[] = "4f3b2a1c-8d9e-4b7a-9c6d-1e2f3a4b5c6d";
constexpr char kExporterUid[] = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

json FixturePod(const std::string& name) {
  std::ifstream in(std::string(jostle::testing::kFixtureDir) + "/kube/" + name);
  EXPECT_TRUE(in) << name;
  return json::parse(in);
}

// A copy of a fixture pod with another uid/name (and node).
json PodVariant(const std::string& fixture, const std::string& uid, const std::string& name,
                const std::string& node = kNode) {
  json pod = FixturePod(fixture);
  pod["metadata"]["uid"] = uid;
  pod["metadata"]["name"] = name;
  pod["spec"]["nodeName"] = node;
  return pod;
}

// Polls `condition` until it holds or 15 s pass.
bool Eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return condition();
}

class FakeKubeApi {
 public:
  bool Start(std::string* error) {
    return server_.Start(
        std::string(jostle::testing::kSourceDir) + "/tests/agent/kube/fake_kube_api.py", {}, error);
  }
  void Kill() { server_.Stop(); }
  std::string url() const { return server_.base_url(); }

  // Returns the resourceVersion the server is at after the control call.
  std::string Control(const std::string& path, const std::string& body = "") {
    http::HttpRequest request;
    request.method = "POST";
    request.url = url() + "/_control/" + path;
    request.body = body;
    Result<http::HttpResponse> response = client_.Send(request);
    EXPECT_TRUE(response.ok()) << response.status().message();
    if (!response.ok()) return "";
    EXPECT_EQ(response->status, 200) << response->body;
    return json::parse(response->body)["resourceVersion"].get<std::string>();
  }
  std::string Event(const std::string& type, const json& pod) {
    return Control("event", json{{"type", type}, {"object", pod}}.dump());
  }
  json Requests() {
    http::HttpRequest request;
    request.url = url() + "/_control/requests";
    Result<http::HttpResponse> response = client_.Send(request);
    EXPECT_TRUE(response.ok()) << response.status().message();
    return response.ok() ? json::parse(response->body) : json::array();
  }
  int CountLists() {
    int n = 0;
    for (const json& r : Requests()) n += r["query"].contains("watch") ? 0 : 1;
    return n;
  }
  // True when some watch request asked for resourceVersion `rv`.
  bool SawWatchFrom(const std::string& rv) {
    for (const json& r : Requests()) {
      if (r["query"].contains("watch") && r["query"].value("resourceVersion", "") == rv) {
        return true;
      }
    }
    return false;
  }

 private:
  jostle::testing::PythonServer server_;
  http::HttpClient client_;
};

class KubePodDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(api_.Start(&error)) << error;
    std::string tmpl = (fs::temp_directory_path() / "jostle-kube-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    WriteToken("token-one");
    api_.Control("token", "token-one");
    // The node's pods before the agent starts, and one pod of another node.
    api_.Event("ADDED", FixturePod("pod_ci_runner.json"));
    api_.Event("ADDED", FixturePod("pod_host_network_guaranteed.json"));
    api_.Event("ADDED", PodVariant("pod_ci_runner.json", "00000000-0000-0000-0000-00000000beef",
                                   "elsewhere", "ci-node-2"));
  }
  void TearDown() override { fs::remove_all(dir_); }

  void WriteToken(const std::string& token) {
    // Written aside and renamed into place, as the kubelet swaps projected tokens.
    const fs::path tmp = dir_ / "token.new";
    std::ofstream(tmp) << token << "\n";
    fs::rename(tmp, dir_ / "token");
  }

  KubeConfig Config() {
    KubeConfig config;
    config.api_url = api_.url();
    config.token_file = (dir_ / "token").string();
    config.ca_file = "";
    config.node_name = kNode;
    config.labels = PodLabelFilter::Parse("app,team");
    config.watch_timeout = seconds(300);
    config.list_timeout = seconds(60);
    config.backoff_initial = milliseconds(20);
    config.backoff_max = milliseconds(200);
    return config;
  }

  FakeKubeApi api_;
  fs::path dir_;
};

TEST_F(KubePodDirectoryTest, ListsThisNodesPodsThenWatchesFromTheListVersion) {
  KubePodDirectory directory(Config());
  EXPECT_FALSE(directory.Find(kRunnerUid).has_value());
  ASSERT_TRUE(directory.Start().ok());
  ASSERT_TRUE(Eventually([&] { return directory.Find(kRunnerUid).has_value(); }));
  std::optional<PodMeta> runner = directory.Find(kRunnerUid);
  EXPECT_EQ(runner->namespace_name, "gitlab-ci");
  EXPECT_EQ(runner->name, "runner-abc123-project-42-concurrent-0");
  EXPECT_EQ(runner->node, kNode);
  EXPECT_EQ(runner->qos, "burstable");
  EXPECT_EQ(runner->labels,
            (std::map<std::string, std::string>{{"app", "gitlab-runner"}, {"team", "platform"}}));
  EXPECT_EQ(runner->container_names.at(
                "b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"),
            "build");
  std::optional<PodMeta> exporter = directory.Find(kExporterUid);
  ASSERT_TRUE(exporter.has_value());
  EXPECT_TRUE(exporter->host_network);
  EXPECT_EQ(exporter->qos, "guaranteed");
  EXPECT_FALSE(directory.Find("00000000-0000-0000-0000-00000000beef").has_value())
      << "a pod of another node";
  EXPECT_EQ(directory.pod_count(), 2u);

  ASSERT_TRUE(Eventually([&] { return api_.Requests().size() >= 2; }));
  json requests = api_.Requests();
  EXPECT_EQ(requests[0]["path"], "/api/v1/pods");
  EXPECT_EQ(requests[0]["query"]["fieldSelector"], "spec.nodeName=ci-node-1");
  EXPECT_FALSE(requests[0]["query"].contains("watch"));
  EXPECT_EQ(requests[0]["authorization"], "Bearer token-one");
  EXPECT_EQ(requests[1]["query"]["watch"], "1");
  EXPECT_EQ(requests[1]["query"]["resourceVersion"], "103");
  EXPECT_EQ(requests[1]["query"]["allowWatchBookmarks"], "true");
  EXPECT_EQ(requests[1]["query"]["timeoutSeconds"], "300");
  EXPECT_EQ(requests[1]["query"]["fieldSelector"], "spec.nodeName=ci-node-1");
  EXPECT_EQ(directory.state(), KubeState::kWatching);
  directory.Stop();
  EXPECT_EQ(directory.state(), KubeState::kStopped);
  EXPECT_TRUE(directory.Find(kRunnerUid).has_value()) << "Find answers after Stop";
}

TEST_F(KubePodDirectoryTest, AppliesAddedModifiedAndDeletedEvents) {
  KubeConfig config = Config();
  config.deleted_grace = milliseconds(0);
  KubePodDirectory directory(config);
  ASSERT_TRUE(directory.Start().ok());
  ASSERT_TRUE(Eventually([&] { return api_.SawWatchFrom("103"); }));

  const std::string lint_uid = "1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7081";
  api_.Event("ADDED", FixturePod("pod_pending_besteffort.json"));
  ASSERT_TRUE(Eventually([&] { return directory.Find(lint_uid).has_value(); }));
  EXPECT_EQ(directory.Find(lint_uid)->labels,
            (std::map<std::string, std::string>{{"app", "lint"}}));
  EXPECT_EQ(directory.Find(lint_uid)->qos, "besteffort");

  json modified = FixturePod("pod_pending_besteffort.json");
  modified["metadata"]["labels"]["team"] = "tooling";
  modified["status"]["qosClass"] = "Burstable";
  modified["status"]["containerStatuses"][0]["containerID"] = "containerd://feedface";
  api_.Event("MODIFIED", modified);
  ASSERT_TRUE(Eventually([&] { return directory.Find(lint_uid)->labels.count("team") == 1; }));
  std::optional<PodMeta> lint = directory.Find(lint_uid);
  EXPECT_EQ(lint->labels.at("team"), "tooling");
  EXPECT_EQ(lint->qos, "burstable");
  EXPECT_EQ(lint->container_names.at("feedface"), "lint");

  const std::string rv = api_.Event("DELETED", FixturePod("pod_ci_runner.json"));
  ASSERT_TRUE(Eventually([&] { return !directory.Find(kRunnerUid).has_value(); }));
  EXPECT_TRUE(Eventually([&] { return directory.stats().resource_version == rv; }));
  EXPECT_TRUE(directory.Find(kExporterUid).has_value());
  EXPECT_EQ(directory.stats().events, 3u);
  EXPECT_EQ(directory.stats().lists, 1u);
}

TEST_F(KubePodDirectoryTest, DeletedPodsAreKeptForTheGracePeriod) {
  KubeConfig config = Config();
  config.deleted_grace = std::chrono::minutes(10);
  KubePodDirectory directory(config);
  ASSERT_TRUE(directory.Start().ok());
  ASSERT_TRUE(Eventually([&] { return api_.SawWatchFrom("103"); }));
  api_.Event("DELETED", FixturePod("pod_ci_runner.json"));
  ASSERT_TRUE(Eventually([&] { return directory.stats().events == 1; }));
  ASSERT_TRUE(directory.Find(kRunnerUid).has_value()) << "late samples still get a name";
  EXPECT_EQ(directory.Find(kRunnerUid)->name, "runner-abc123-project-42-concurrent-0");
  EXPECT_EQ(directory.pod_count(), 1u);
}

TEST_F(KubePodDirectoryTest, BookmarkMovesTheResourceVersionOfTheNextWatch) {
  KubePodDirectory directory(Config());
  ASSERT_TRUE(directory.Start().ok());
  ASSERT_TRUE(Eventually([&] { return api_.SawWatchFrom("103"); }));
  const std::string bookmark_rv = api_.Control("bookmark");
  ASSERT_EQ(bookmark_rv, "104");
  ASSERT_TRUE(Eventually([&] { return directory.stats().bookmarks == 1; }));
  EXPECT_EQ(directory.stats().resource_version, bookmark_rv);
  api_.Control("end_watches");  // as when timeoutSeconds runs out
  ASSERT_TRUE(Eventually([&] { return api_.SawWatchFrom(bookmark_rv); }));
  EXPECT_EQ(api_.CountLists(), 1) << "a watch that ended normally resumes without a re-list";
  EXPECT_EQ(directory.stats().expired, 0u);
}

TEST_F(KubePodDirectoryTest, ExpiredErrorEventLeadsToARelist) {
  KubePodDirectory directory(Config());
  ASSERT_TRUE(directory.Start().ok());
  ASSERT_TRUE(Eventually([&] { return api_.SawWatchFrom("103"); }));
  // History up to 150 is gone, and a pod appeared whose event the watch never sees.
  json lost = PodVariant("pod_pending_besteffort.json", "22222222-0000-0000-0000-000000000000",
                         "lost-event");
  api_.Control("compact", json{{"below", 150}, {"mode", "event"}, {"silent_pods", {lost}}}.dump());
  ASSERT_TRUE(Eventually(
      [&] { return directory.Find("22222222-0000-0000-0000-000000000000").has_value(); }));
  EXPECT_EQ(directory.Find("22222222-0000-0000-0000-000000000000")->name, "lost-event");
  EXPECT_EQ(directory.stats().expired, 1u);
  EXPECT_EQ(directory.stats().lists, 2u);
  EXPECT_EQ(api_.CountLists(), 2);
  EXPECT_TRUE(Eventually([&] { return api_.SawWatchFrom("150"); }));
  EXPECT_TRUE(directory.Find(kRunnerUid).has_value());
}

TEST_F(KubePodDirectoryTest, GoneHttpAnswerLeadsToARelist) {
  KubePodDirectory directory(Config());
  ASSERT_TRUE(directory.Start().ok());
  ASSERT_TRUE(Eventually([&] { return api_.SawWatchFrom("103"); }));
  json lost = PodVariant("pod_pending_besteffort.json", "33333333-0000-0000-0000-000000000000",
                         "lost-event");
  api_.Control("compact", json{{"below", 200}, {"mode", "http"}, {"silent_pods", {lost}}}.dump());
  api_.Control("end_watches");
  ASSERT_TRUE(Eventually(
      [&] { return directory.Find("33333333-0000-0000-0000-000000000000").has_value(); }));
  EXPECT_EQ(directory.stats().expired, 1u);
  EXPECT_EQ(api_.CountLists(), 2);
  EXPECT_TRUE(Eventually([&] { return api_.SawWatchFrom("200"); }));
}

TEST_F(KubePodDirectoryTest, DroppedWatchLeadsToARelist) {
  KubePodDirectory directory(Config());
  ASSERT_TRUE(directory.Start().ok());
  ASSERT_TRUE(Eventually([&] { return api_.SawWatchFrom("103"); }));
  api_.Control("drop_watches");
  ASSERT_TRUE(Eventually([&] { return api_.CountLists() == 2; }));
  ASSERT_TRUE(Eventually([&] { return directory.stats().lists == 2; }));
  EXPECT_GE(directory.stats().errors, 1u);
  EXPECT_TRUE(directory.Find(kRunnerUid).has_value());
  // Still watching: a new pod arrives through the new watch.
  api_.Event("ADDED", FixturePod("pod_pending_besteffort.json"));
  EXPECT_TRUE(Eventually(
      [&] { return directory.Find("1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7081").has_value(); }));
}

TEST_F(KubePodDirectoryTest, UnauthorizedRereadsTheRotatedTokenAndRecovers) {
  KubePodDirectory directory(Config());
  ASSERT_TRUE(directory.Start().ok());
  ASSERT_TRUE(Eventually([&] { return api_.SawWatchFrom("103"); }));

  // The server now wants a rotated token the agent does not have yet.
  api_.Control("token", "token-two");
  api_.Control("drop_watches");
  ASSERT_TRUE(Eventually([&] { return directory.state() == KubeState::kUnauthorized; }));
  EXPECT_GE(directory.stats().unauthorized, 1u);
  EXPECT_TRUE(directory.Find(kRunnerUid).has_value()) << "Find answers from the cache";
  api_.Event("ADDED", FixturePod("pod_pending_besteffort.json"));

  WriteToken("token-two");
  ASSERT_TRUE(Eventually(
      [&] { return directory.Find("1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7081").has_value(); }));
  EXPECT_TRUE(Eventually([&] { return directory.state() == KubeState::kWatching; }));
  EXPECT_EQ(directory.stats().token_reloads, 1u);
  bool new_token_sent = false;
  for (const json& r : api_.Requests()) new_token_sent |= r["authorization"] == "Bearer token-two";
  EXPECT_TRUE(new_token_sent);
}

TEST_F(KubePodDirectoryTest, ServerDownFindAnswersFromCacheAndStopReturns) {
  KubePodDirectory directory(Config());
  ASSERT_TRUE(directory.Start().ok());
  ASSERT_TRUE(Eventually([&] { return api_.SawWatchFrom("103"); }));
  api_.Kill();
  ASSERT_TRUE(Eventually([&] { return directory.state() == KubeState::kUnavailable; }));
  ASSERT_TRUE(Eventually([&] { return directory.stats().errors >= 2; }))
      << "keeps retrying while the server is down";
  EXPECT_EQ(directory.Find(kRunnerUid)->name, "runner-abc123-project-42-concurrent-0");
  const auto started = std::chrono::steady_clock::now();
  directory.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(5));
  EXPECT_TRUE(directory.Find(kExporterUid).has_value());
}

TEST_F(KubePodDirectoryTest, StopInterruptsAnOpenWatch) {
  KubePodDirectory directory(Config());  // watch_timeout 300 s
  ASSERT_TRUE(directory.Start().ok());
  ASSERT_TRUE(Eventually([&] { return api_.SawWatchFrom("103"); }));
  const auto started = std::chrono::steady_clock::now();
  directory.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(5));
}

TEST(KubePodDirectory, StopInterruptsAListTheServerNeverAnswers) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ASSERT_EQ(listen(fd, 8), 0);  // answers nothing

  KubeConfig config;
  config.api_url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  config.token_file = "";
  config.node_name = kNode;
  config.list_timeout = seconds(120);
  KubePodDirectory directory(config);
  ASSERT_TRUE(directory.Start().ok());
  // The list request is in flight: its connection is accepted and its whole request head
  // has arrived; it is never answered.
  pollfd pfd{fd, POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 30000), 1) << "the directory never connected";
  const int conn = accept(fd, nullptr, nullptr);
  ASSERT_GE(conn, 0);
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos) {
    pollfd cp{conn, POLLIN, 0};
    ASSERT_EQ(poll(&cp, 1, 30000), 1) << "no request on the connection: " << head;
    const ssize_t n = read(conn, buf, sizeof buf);
    ASSERT_GT(n, 0) << head;
    head.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(head.rfind("GET /api/v1/pods", 0), 0u) << head;
  const auto started = std::chrono::steady_clock::now();
  directory.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(5));
  EXPECT_EQ(directory.stats().lists, 0u);
  close(conn);
  close(fd);
}

TEST(KubePodDirectory, StartChecksTheConfig) {
  KubeConfig config;
  config.node_name = kNode;
  EXPECT_EQ(KubePodDirectory(config).Start().code(), Status::Code::kInvalidArgument);
  config.api_url = "http://127.0.0.1:1";
  config.node_name = "";
  EXPECT_EQ(KubePodDirectory(config).Start().code(), Status::Code::kInvalidArgument);
  config.node_name = kNode;
  config.backoff_initial = seconds(60);
  KubePodDirectory directory(config);
  ASSERT_TRUE(directory.Start().ok());
  EXPECT_EQ(directory.Start().code(), Status::Code::kAlreadyExists);
  directory.Stop();  // in its backoff sleep after a refused connection: returns at once
}

TEST(InClusterApiUrl, BuildsTheUrlFromTheServiceEnvironment) {
  EXPECT_EQ(InClusterApiUrl("10.96.0.1", "443").value(), "https://10.96.0.1:443");
  EXPECT_EQ(InClusterApiUrl("fd00::1", "6443").value(), "https://[fd00::1]:6443");
  EXPECT_EQ(InClusterApiUrl("kubernetes.default.svc", "").value(),
            "https://kubernetes.default.svc:443");
  EXPECT_EQ(InClusterApiUrl("", "443").status().code(), Status::Code::kNotFound);
}

TEST(ResolveKubeApiUrl, AcceptsAutoAndUrls) {
  EXPECT_EQ(ResolveKubeApiUrl("https://10.0.0.1:6443").value(), "https://10.0.0.1:6443");
  EXPECT_EQ(ResolveKubeApiUrl("http://127.0.0.1:8001").value(), "http://127.0.0.1:8001");
  for (const char* bad : {"off", "", "10.0.0.1:6443", "https://", "ftp://x"}) {
    EXPECT_EQ(ResolveKubeApiUrl(bad).status().code(), Status::Code::kInvalidArgument) << bad;
  }
  // "auto" follows the environment of this process.
  const char* saved_host = std::getenv("KUBERNETES_SERVICE_HOST");
  const std::string host = saved_host == nullptr ? "" : saved_host;
  setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  EXPECT_EQ(ResolveKubeApiUrl("auto").value(), "https://10.96.0.1:443");
  unsetenv("KUBERNETES_SERVICE_HOST");
  EXPECT_EQ(ResolveKubeApiUrl("auto").status().code(), Status::Code::kNotFound);
  if (saved_host != nullptr) setenv("KUBERNETES_SERVICE_HOST", host.c_str(), 1);
}

}  // namespace
}  // namespace jostle::agent
