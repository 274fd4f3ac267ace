// Names pods through the Kubernetes API: LIST the pods on this node, then WATCH from the
// list's resourceVersion, on a thread of its own. Find() answers from memory.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "agent/kube/pod_cache.h"
#include "agent/kube/pod_json.h"
#include "agent/kube/pod_meta.h"
#include "jostle/status.h"

namespace jostle::http {
class HttpClient;
}

namespace jostle::agent {

inline constexpr const char* kServiceAccountTokenFile =
    "/var/run/secrets/kubernetes.io/serviceaccount/token";
inline constexpr const char* kServiceAccountCaFile =
    "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

struct KubeConfig {
  // API server base URL, e.g. "https://10.96.0.1:443" (--kube URL, or InClusterApiUrl()).
  std::string api_url;
  // Bearer token, re-read before every request and after a 401/403 (tokens rotate).
  // Empty, or a file that does not exist: requests go without a token (a warning is logged
  // once), e.g. through `kubectl proxy`.
  std::string token_file = kServiceAccountTokenFile;
  // PEM CA bundle for an https api_url; empty = the system CAs.
  std::string ca_file = kServiceAccountCaFile;
  std::string node_name;  // spec.nodeName of the pods to list (--node-name)
  PodLabelFilter labels;  // which labels PodMeta carries (--pod-labels)
  // The server ends each watch after this long (timeoutSeconds); the next watch resumes
  // from the last resourceVersion seen, BOOKMARKs included.
  std::chrono::seconds watch_timeout{300};
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds list_timeout{30000};  // whole LIST request
  // After an error: wait backoff_initial, doubling up to backoff_max; reset once listed.
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30000};
  // A DELETED pod is still found for this long, then forgotten.
  std::chrono::milliseconds deleted_grace{std::chrono::minutes(2)};
};

// "https://HOST:PORT" from KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT values (an IPv6
// host is bracketed). NotFound when host is empty (not running in a pod).
Result<std::string> InClusterApiUrl(std::string_view host, std::string_view port);
// The same from this process's environment.
Result<std::string> InClusterApiUrlFromEnv();
// The API URL for `--kube auto|URL`: "auto" = InClusterApiUrlFromEnv() (NotFound outside a
// pod); an http:// or https:// URL as given. Anything else, "off" included (the caller
// handles it before), is InvalidArgument.
Result<std::string> ResolveKubeApiUrl(std::string_view kube_flag);

// The connection state, for logs and /healthz. One log line per change.
enum class KubeState {
  kStarting,      // not listed yet
  kWatching,      // listed; a watch is open or being re-opened
  kUnavailable,   // the API cannot be reached or answered an error; retrying with backoff
  kUnauthorized,  // 401/403; the token file is re-read before each retry
  kStopped,
};
std::string_view KubeStateName(KubeState state);

class KubePodDirectory : public PodDirectory {
 public:
  struct Stats {
    std::uint64_t lists = 0;    // successful LISTs
    std::uint64_t watches = 0;  // watch requests made
    std::uint64_t events = 0;   // watch events applied (ADDED/MODIFIED/DELETED)
    std::uint64_t bookmarks = 0;
    std::uint64_t expired = 0;        // 410 Gone/Expired seen (each leads to a re-list)
    std::uint64_t errors = 0;         // failed requests and broken watches
    std::uint64_t unauthorized = 0;   // 401/403 answers
    std::uint64_t token_reloads = 0;  // token file contents changed
    std::string resource_version;     // where the next watch starts
  };

  explicit KubePodDirectory(KubeConfig config);
  ~KubePodDirectory() override;  // Stop()s
  KubePodDirectory(const KubePodDirectory&) = delete;
  KubePodDirectory& operator=(const KubePodDirectory&) = delete;

  // Starts the list/watch thread. InvalidArgument when api_url or node_name is empty;
  // AlreadyExists when called twice. Does not wait for the API.
  Status Start();
  // Ends the thread, interrupting a request or watch in progress; returns promptly.
  // Find keeps answering from what was known.
  void Stop();

  // Any thread; never blocks on the network.
  std::optional<PodMeta> Find(std::string_view uid) const override;

  KubeState state() const { return state_.load(); }
  bool synced() const { return stats().lists > 0; }  // listed at least once
  std::size_t pod_count() const { return cache_.live_count(); }
  Stats stats() const;

 private:
  // kClosed: ended by the server after timeoutSeconds; kEmpty: ended without a byte;
  // kExpired: 410, re-list now; kFailed/kUnauthorized: re-list after a backoff.
  enum class WatchEnd { kClosed, kEmpty, kExpired, kFailed, kUnauthorized, kStopped };

  void Run();
  Status List(std::string* resource_version);
  WatchEnd Watch(std::string* resource_version);
  // Reads the token file; logs once when it changed. Returns the token ("" for none).
  std::string LoadToken();
  // Handles a 401/403 answer: logs once per distinct answer, re-reads the token.
  void OnUnauthorized(long http_status, std::string_view body);
  void SetState(KubeState state, std::string_view detail);
  // Waits `delay` or until Stop(); false when stopping.
  bool SleepFor(std::chrono::milliseconds delay);
  std::string PodsUrl() const;

  const KubeConfig config_;
  PodCache cache_;
  std::unique_ptr<http::HttpClient> client_;  // used by the thread; Cancel() by Stop()
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;  // wakes SleepFor on Stop()

  std::atomic<KubeState> state_{KubeState::kStarting};
  std::string last_state_detail_;  // thread only: suppresses repeated log lines
  std::string token_;              // thread only: the token last read
  bool token_warned_ = false;      // thread only
  std::string last_auth_failure_;  // thread only: the 401/403 answer last logged

  mutable std::mutex stats_mu_;
  Stats stats_;  // guarded by stats_mu_
};

}  // namespace jostle::agent
