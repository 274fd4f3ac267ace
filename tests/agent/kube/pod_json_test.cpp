#include "agent/kube/pod_json.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "jostle_test/test_paths.h"

namespace jostle::agent {
namespace {

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(jostle::testing::kFixtureDir) + "/kube/" + name);
  EXPECT_TRUE(in) << name;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TEST(PodLabelFilter, ParsesTheFlag) {
  struct Case {
    std::string flag;
    std::vector<std::string> kept;
    std::vector<std::string> dropped;
  };
  const Case cases[] = {
      {"", {}, {"app", "team"}},
      {"app,team", {"app", "team"}, {"tier", "App"}},
      {" app , team ,", {"app", "team"}, {"tier"}},
      {"*", {"app", "anything/at.all"}, {}},
      {"app,*", {"app", "zzz"}, {}},
      {"app.kubernetes.io/name", {"app.kubernetes.io/name"}, {"app"}},
  };
  for (const Case& c : cases) {
    PodLabelFilter filter = PodLabelFilter::Parse(c.flag);
    for (const auto& key : c.kept) EXPECT_TRUE(filter.Keeps(key)) << c.flag << " " << key;
    for (const auto& key : c.dropped) EXPECT_FALSE(filter.Keeps(key)) << c.flag << " " << key;
  }
}

TEST(StripRuntimePrefix, RemovesTheRuntimeScheme) {
  EXPECT_EQ(StripRuntimePrefix("containerd://abc123"), "abc123");
  EXPECT_EQ(StripRuntimePrefix("cri-o://def"), "def");
  EXPECT_EQ(StripRuntimePrefix("docker://0f"), "0f");
  EXPECT_EQ(StripRuntimePrefix("bare"), "bare");
  EXPECT_EQ(StripRuntimePrefix(""), "");
}

TEST(ParsePodJson, ReadsARunningBurstablePod) {
  Result<PodMeta> pod =
      ParsePodJson(Fixture("pod_ci_runner.json"), PodLabelFilter::Parse("app,team"));
  ASSERT_TRUE(pod.ok()) << pod.status().message();
  EXPECT_EQ(pod->uid, "4f3b2a1c-8d9e-4b7a-9c6d-1e2f3a4b5c6d");
  EXPECT_EQ(pod->namespace_name, "gitlab-ci");
  EXPECT_EQ(pod->name, "runner-abc123-project-42-concurrent-0");
  EXPECT_EQ(pod->node, "ci-node-1");
  EXPECT_EQ(pod->qos, "burstable");
  EXPECT_FALSE(pod->host_network);
  EXPECT_EQ(pod->labels,
            (std::map<std::string, std::string>{{"app", "gitlab-runner"}, {"team", "platform"}}));
  EXPECT_EQ(
      pod->container_names,
      (std::map<std::string, std::string>{
          {"0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9", "init-permissions"},
          {"b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", "build"},
          {"c1d2e3f4a5b6c7d8e9f00112233445566778899aabbccddeeff00112233445566", "helper"},
      }));
}

TEST(ParsePodJson, ReadsHostNetworkGuaranteedPodWithARestartedContainer) {
  Result<PodMeta> pod =
      ParsePodJson(Fixture("pod_host_network_guaranteed.json"), PodLabelFilter::All());
  ASSERT_TRUE(pod.ok()) << pod.status().message();
  EXPECT_EQ(pod->qos, "guaranteed");
  EXPECT_TRUE(pod->host_network);
  EXPECT_EQ(pod->labels.size(), 3u);
  EXPECT_EQ(pod->labels.at("app.kubernetes.io/name"), "node-exporter");
  // The running instance and the previous one (lastState.terminated) both map to the name.
  EXPECT_EQ(
      pod->container_names.at("d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809"),
      "node-exporter");
  EXPECT_EQ(
      pod->container_names.at("aaaa000000000000000000000000000000000000000000000000000000000000"),
      "node-exporter");
}

TEST(ParsePodJson, PendingPodHasOnlyContainersWithIds) {
  Result<PodMeta> pod = ParsePodJson(Fixture("pod_pending_besteffort.json"), PodLabelFilter());
  ASSERT_TRUE(pod.ok()) << pod.status().message();
  EXPECT_EQ(pod->qos, "besteffort");
  EXPECT_TRUE(pod->labels.empty());
  // "lint" has no containerID yet; the ephemeral container has one.
  EXPECT_EQ(pod->container_names,
            (std::map<std::string, std::string>{{"e5f6a7b8c9d0", "debugger"}}));
}

TEST(ParsePodJson, RejectsWhatIsNotAPod) {
  const std::string cases[] = {
      "",
      "not json",
      "[]",
      R"({"metadata":{"name":"x","namespace":"y"}})",  // no uid
      R"({"metadata":"oops"})",
  };
  for (const std::string& text : cases) {
    Result<PodMeta> pod = ParsePodJson(text, PodLabelFilter());
    EXPECT_EQ(pod.status().code(), Status::Code::kInvalidArgument) << text;
  }
  Result<PodMeta> no_uid = ParsePodJson(R"({"metadata":{"name":"x","namespace":"y"}})", {});
  EXPECT_NE(no_uid.status().message().find("y/x has no metadata.uid"), std::string::npos)
      << no_uid.status().message();
}

TEST(ParsePodJson, ToleratesMissingAndOddlyTypedFields) {
  Result<PodMeta> pod = ParsePodJson(
      R"({"metadata":{"uid":"u1","labels":{"app":5,"team":"t"}},"spec":{"hostNetwork":"yes"},
          "status":{"containerStatuses":[{"containerID":"containerd://x"},{"name":"n"},7]}})",
      PodLabelFilter::All());
  ASSERT_TRUE(pod.ok()) << pod.status().message();
  EXPECT_EQ(pod->uid, "u1");
  EXPECT_EQ(pod->labels, (std::map<std::string, std::string>{{"team", "t"}}));
  EXPECT_FALSE(pod->host_network);
  EXPECT_TRUE(pod->container_names.empty());
  EXPECT_EQ(pod->qos, "");
}

TEST(ParsePodListJson, ReadsItemsAndResourceVersion) {
  size_t skipped = 99;
  Result<PodList> list =
      ParsePodListJson(Fixture("pod_list_node1.json"), PodLabelFilter::Parse("app"), &skipped);
  ASSERT_TRUE(list.ok()) << list.status().message();
  EXPECT_EQ(list->resource_version, "104390");
  ASSERT_EQ(list->pods.size(), 3u);
  EXPECT_EQ(skipped, 0u);
  EXPECT_EQ(list->pods[0].name, "runner-abc123-project-42-concurrent-0");
  EXPECT_EQ(list->pods[0].labels, (std::map<std::string, std::string>{{"app", "gitlab-runner"}}));
  EXPECT_EQ(list->pods[1].namespace_name, "monitoring");
  EXPECT_EQ(list->pods[2].qos, "besteffort");
}

TEST(ParsePodListJson, EmptyAndMalformedLists) {
  Result<PodList> empty = ParsePodListJson(
      R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[]})", {});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->pods.empty());
  EXPECT_EQ(empty->resource_version, "7");
  Result<PodList> null_items =
      ParsePodListJson(R"({"kind":"PodList","metadata":{"resourceVersion":"7"},"items":null})", {});
  ASSERT_TRUE(null_items.ok());

  size_t skipped = 0;
  Result<PodList> one_bad = ParsePodListJson(
      R"({"kind":"PodList","metadata":{"resourceVersion":"8"},
          "items":[{"metadata":{"uid":"a"}},{"metadata":{"name":"no-uid"}}]})",
      {}, &skipped);
  ASSERT_TRUE(one_bad.ok());
  EXPECT_EQ(one_bad->pods.size(), 1u);
  EXPECT_EQ(skipped, 1u);

  const std::string bad[] = {
      R"({"kind":"Status","apiVersion":"v1","code":401})",
      R"({"kind":"PodList","metadata":{}})",
      R"({"kind":"PodList","metadata":{"resourceVersion":"1"},"items":{}})",
      R"({"kind":"PodList")",
  };
  for (const std::string& text : bad) {
    EXPECT_EQ(ParsePodListJson(text, {}).status().code(), Status::Code::kInvalidArgument) << text;
  }
}

TEST(ParseApiStatusJson, ReadsTheStatusObjects) {
  struct Case {
    std::string file;
    int code;
    std::string reason;
    std::string message_start;
  };
  const Case cases[] = {
      {"status_expired_410.json", 410, "Expired", "too old resource version: 1 (5)"},
      {"status_gone_410.json", 410, "Gone", "The resourceVersion"},
      {"status_unauthorized_401.json", 401, "Unauthorized", "Unauthorized"},
      {"status_forbidden_403.json", 403, "Forbidden", "pods is forbidden"},
  };
  for (const Case& c : cases) {
    Result<ApiStatus> status = ParseApiStatusJson(Fixture(c.file));
    ASSERT_TRUE(status.ok()) << c.file << ": " << status.status().message();
    EXPECT_EQ(status->code, c.code) << c.file;
    EXPECT_EQ(status->reason, c.reason) << c.file;
    EXPECT_EQ(status->message.rfind(c.message_start, 0), 0u) << c.file;
  }
  EXPECT_FALSE(ParseApiStatusJson(Fixture("pod_ci_runner.json")).ok());
  EXPECT_FALSE(ParseApiStatusJson("<html>502 Bad Gateway</html>").ok());
}

TEST(ParseWatchEventJson, ReadsEveryEventType) {
  const std::string pod = Fixture("pod_ci_runner.json");
  for (const std::string type : {"ADDED", "MODIFIED", "DELETED"}) {
    Result<WatchEvent> event =
        ParseWatchEventJson(R"({"type":")" + type + R"(","object":)" + pod + "}", {});
    ASSERT_TRUE(event.ok()) << type << ": " << event.status().message();
    EXPECT_EQ(WatchEventTypeName(event->type), type);
    EXPECT_EQ(event->pod.uid, "4f3b2a1c-8d9e-4b7a-9c6d-1e2f3a4b5c6d");
    EXPECT_EQ(event->resource_version, "104211");
  }
  Result<WatchEvent> bookmark = ParseWatchEventJson(Fixture("watch_bookmark.json"), {});
  ASSERT_TRUE(bookmark.ok()) << bookmark.status().message();
  EXPECT_EQ(bookmark->type, WatchEventType::kBookmark);
  EXPECT_EQ(bookmark->resource_version, "104400");

  Result<WatchEvent> error = ParseWatchEventJson(
      R"({"type":"ERROR","object":)" + Fixture("status_expired_410.json") + "}", {});
  ASSERT_TRUE(error.ok()) << error.status().message();
  EXPECT_EQ(error->type, WatchEventType::kError);
  EXPECT_EQ(error->error.code, 410);
  EXPECT_EQ(error->error.reason, "Expired");
  EXPECT_EQ(error->error.message, "too old resource version: 1 (5)");
}

TEST(ParseWatchEventJson, RejectsMalformedEvents) {
  const std::string cases[] = {
      R"({"type":"ADDED"})",
      R"({"type":"SYNC","object":{}})",
      R"({"type":"BOOKMARK","object":{"metadata":{}}})",
      R"({"type":"ADDED","object":{"metadata":{"name":"x"}}})",
      R"({"type":"ADDED","object":{"metadata":{"uid":"u"}})",  // truncated
  };
  for (const std::string& line : cases) {
    EXPECT_EQ(ParseWatchEventJson(line, {}).status().code(), Status::Code::kInvalidArgument)
        << line;
  }
}

TEST(LineSplitter, ReassemblesLinesAcrossAnyChunking) {
  const std::string stream = "{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}\n{\"partial\"";
  const std::vector<std::string> expected = {"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"};
  for (size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    LineSplitter splitter;
    std::vector<std::string> lines;
    for (size_t i = 0; i < stream.size(); i += chunk) {
      ASSERT_TRUE(splitter.Feed(std::string_view(stream).substr(i, chunk), [&](auto line) {
        lines.emplace_back(line);
        return true;
      }));
    }
    EXPECT_EQ(lines, expected) << "chunk size " << chunk;
    EXPECT_EQ(splitter.pending_bytes(), std::string("{\"partial\"").size());
  }
}

TEST(LineSplitter, DropsOverlongLinesAndStopsWhenAsked) {
  LineSplitter splitter(/*max_line_bytes=*/8);
  std::vector<std::string> lines;
  auto collect = [&](std::string_view line) {
    lines.emplace_back(line);
    return true;
  };
  EXPECT_TRUE(splitter.Feed("short\n0123456789", collect));
  EXPECT_TRUE(splitter.Feed("abcdef\nok\n", collect));
  EXPECT_EQ(lines, (std::vector<std::string>{"short", "ok"}));
  EXPECT_EQ(splitter.dropped_lines(), 1u);

  LineSplitter stopper;
  int seen = 0;
  EXPECT_FALSE(stopper.Feed("a\nb\nc\n", [&](std::string_view) { return ++seen < 2; }));
  EXPECT_EQ(seen, 2);
}

}  // namespace
}  // namespace jostle::agent
