#include "agent/kube/kube_pod_directory.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "http_client/http_client.h"

namespace jostle::agent {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxErrorBody = 64 * 1024;
constexpr std::size_t kMaxTokenBytes = 64 * 1024;

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// "HTTP 401 (Unauthorized): Unauthorized" from an error answer, Status JSON or not.
std::string DescribeAnswer(long http_status, std::string_view body) {
  std::string text = "HTTP " + std::to_string(http_status);
  Result<ApiStatus> status = ParseApiStatusJson(body);
  if (status.ok()) {
    if (!status->reason.empty()) text += " (" + status->reason + ")";
    if (!status->message.empty()) text += ": " + status->message;
  } else if (!body.empty()) {
    text += ": " + std::string(TrimSpace(body.substr(0, 200)));
  }
  return text;
}

Result<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::FromErrno(errno, path);
  std::string content(kMaxTokenBytes, '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  if (in.bad()) return Status::FromErrno(errno, path);
  content.resize(static_cast<std::size_t>(in.gcount()));
  return content;
}

}  // namespace

Result<std::string> InClusterApiUrl(std::string_view host, std::string_view port) {
  if (host.empty()) {
    return Status::NotFound("KUBERNETES_SERVICE_HOST is not set: not running in a pod");
  }
  std::string url = "https://";
  if (host.find(':') != std::string_view::npos) {
    url += "[" + std::string(host) + "]";
  } else {
    url += host;
  }
  url += ":" + std::string(port.empty() ? "443" : port);
  return url;
}

Result<std::string> InClusterApiUrlFromEnv() {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  return InClusterApiUrl(host == nullptr ? "" : host, port == nullptr ? "" : port);
}

Result<std::string> ResolveKubeApiUrl(std::string_view kube_flag) {
  if (kube_flag == "auto") return InClusterApiUrlFromEnv();
  if ((kube_flag.starts_with("http://") && kube_flag.size() > 7) ||
      (kube_flag.starts_with("https://") && kube_flag.size() > 8)) {
    return std::string(kube_flag);
  }
  return Status::InvalidArgument("--kube \"" + std::string(kube_flag) +
                                 "\": expected auto, off or an http(s):// URL");
}

std::string_view KubeStateName(KubeState state) {
  switch (state) {
    case KubeState::kStarting:
      return "starting";
    case KubeState::kWatching:
      return "watching";
    case KubeState::kUnavailable:
      return "unavailable";
    case KubeState::kUnauthorized:
      return "unauthorized";
    case KubeState::kStopped:
      return "stopped";
  }
  return "unknown";
}

KubePodDirectory::KubePodDirectory(KubeConfig config)
    : config_(std::move(config)),
      cache_(config_.deleted_grace),
      client_(std::make_unique<http::HttpClient>()) {}

KubePodDirectory::~KubePodDirectory() { Stop(); }

Status KubePodDirectory::Start() {
  if (config_.api_url.empty()) {
    return Status::InvalidArgument("kube: no API server URL (--kube URL, or in-cluster)");
  }
  if (config_.node_name.empty()) {
    return Status::InvalidArgument("kube: no node name to list pods for (--node-name)");
  }
  if (thread_.joinable() || stop_.load()) {
    return Status::AlreadyExists("kube: the pod directory was already started");
  }
  spdlog::info("kube: watching pods on node {} through {}", config_.node_name,
               http::MaskSecrets(config_.api_url));
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void KubePodDirectory::Stop() {
  {
    std::lock_guard lock(sleep_mu_);
    stop_.store(true);
  }
  sleep_cv_.notify_all();
  client_->Cancel();
  if (thread_.joinable()) {
    thread_.join();
    spdlog::info("kube: stopped; {} pods known", cache_.live_count());
  }
  state_.store(KubeState::kStopped);
}

std::optional<PodMeta> KubePodDirectory::Find(std::string_view uid) const {
  return cache_.Find(uid, Clock::now());
}

KubePodDirectory::Stats KubePodDirectory::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

bool KubePodDirectory::SleepFor(std::chrono::milliseconds delay) {
  std::unique_lock lock(sleep_mu_);
  sleep_cv_.wait_for(lock, delay, [this] { return stop_.load(); });
  return !stop_.load();
}

std::string KubePodDirectory::PodsUrl() const {
  std::string base = config_.api_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/api/v1/pods?fieldSelector=" + UrlEncode("spec.nodeName=" + config_.node_name);
}

void KubePodDirectory::SetState(KubeState state, std::string_view detail) {
  const KubeState previous = state_.exchange(state);
  if (previous == KubeState::kUnauthorized && state != KubeState::kUnauthorized) {
    last_auth_failure_.clear();
  }
  if (previous != state) {
    if (state == KubeState::kUnavailable) {
      spdlog::warn("kube: {}", detail);
    } else {
      spdlog::info("kube: {}", detail);
    }
  } else if (detail != last_state_detail_) {
    spdlog::debug("kube: {}", detail);
  }
  last_state_detail_ = std::string(detail);
}

std::string KubePodDirectory::LoadToken() {
  if (config_.token_file.empty()) return {};
  Result<std::string> content = ReadSmallFile(config_.token_file);
  if (!content.ok()) {
    if (!token_warned_) {
      spdlog::warn("kube: cannot read token file ({}); sending requests without a token",
                   content.status().message());
      token_warned_ = true;
    }
    token_.clear();
    return {};
  }
  token_warned_ = false;
  std::string token(TrimSpace(*content));
  if (token != token_) {
    if (!token_.empty()) {
      spdlog::info("kube: token file {} changed; using the new token", config_.token_file);
      std::lock_guard lock(stats_mu_);
      ++stats_.token_reloads;
    }
    token_ = token;
  }
  return token_;
}

void KubePodDirectory::OnUnauthorized(long http_status, std::string_view body) {
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.unauthorized;
  }
  const std::string answer = DescribeAnswer(http_status, body);
  if (answer != last_auth_failure_) {
    spdlog::error(
        "kube: API server {} refused the pod list/watch: {}; re-reading token file {} before "
        "each retry",
        http::MaskSecrets(config_.api_url), answer,
        config_.token_file.empty() ? "(none)" : config_.token_file);
    last_auth_failure_ = answer;
  }
  state_.store(KubeState::kUnauthorized);
  last_state_detail_ = answer;
  LoadToken();
}

Status KubePodDirectory::List(std::string* resource_version) {
  http::HttpRequest request;
  request.url = PodsUrl();
  request.headers = {{"Accept", "application/json"}};
  request.bearer_token = LoadToken();
  if (request.url.starts_with("https:")) request.ca_file = config_.ca_file;
  request.connect_timeout = config_.connect_timeout;
  request.timeout = config_.list_timeout;
  Result<http::HttpResponse> response = client_->Send(request);
  if (stop_.load()) return Status::Unavailable("kube: stopping");
  auto count_error = [this] {
    std::lock_guard lock(stats_mu_);
    ++stats_.errors;
  };
  if (!response.ok()) {
    count_error();
    SetState(KubeState::kUnavailable, "cannot list pods: " + response.status().message());
    return response.status();
  }
  if (response->status == 401 || response->status == 403) {
    OnUnauthorized(response->status, response->body);
    return Status::Unauthenticated("kube: " + DescribeAnswer(response->status, response->body));
  }
  if (response->status != 200) {
    count_error();
    const std::string what = "listing pods: " + DescribeAnswer(response->status, response->body);
    SetState(KubeState::kUnavailable, what);
    return Status::Unavailable("kube: " + what);
  }
  size_t skipped = 0;
  Result<PodList> list = ParsePodListJson(response->body, config_.labels, &skipped);
  if (!list.ok()) {
    count_error();
    SetState(KubeState::kUnavailable, "unusable pod list: " + list.status().message());
    return list.status();
  }
  const size_t count = list->pods.size();
  *resource_version = list->resource_version;
  cache_.ReplaceAll(std::move(list->pods), Clock::now());
  cache_.Purge(Clock::now());
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.lists;
    stats_.resource_version = *resource_version;
  }
  spdlog::info("kube: listed {} pods on node {} at resourceVersion {}{}", count, config_.node_name,
               *resource_version,
               skipped > 0 ? " (" + std::to_string(skipped) + " items without uid skipped)" : "");
  SetState(KubeState::kWatching, "watching pods from resourceVersion " + *resource_version);
  return Status::Ok();
}

KubePodDirectory::WatchEnd KubePodDirectory::Watch(std::string* resource_version) {
  http::HttpRequest request;
  request.url =
      PodsUrl() + "&watch=1&resourceVersion=" + UrlEncode(*resource_version) +
      "&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(config_.watch_timeout.count());
  request.headers = {{"Accept", "application/json"}};
  request.bearer_token = LoadToken();
  if (request.url.starts_with("https:")) request.ca_file = config_.ca_file;
  request.connect_timeout = config_.connect_timeout;
  // The server ends the watch after timeoutSeconds; this only guards against a peer that
  // silently went away.
  request.timeout = config_.watch_timeout + std::chrono::seconds(30);
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.watches;
  }

  LineSplitter splitter;
  std::optional<WatchEnd> ended;  // set by an ERROR event
  std::string error_body;         // body of a non-200 answer
  std::string error_detail;
  std::size_t bad_lines = 0;
  long http_status = 0;
  auto on_line = [&](std::string_view line) {
    Result<WatchEvent> event = ParseWatchEventJson(line, config_.labels);
    if (!event.ok()) {
      if (bad_lines++ == 0) {
        spdlog::warn("kube: skipping a watch event: {}", event.status().message());
      }
      return true;
    }
    const auto now = Clock::now();
    std::lock_guard lock(stats_mu_);
    switch (event->type) {
      case WatchEventType::kAdded:
      case WatchEventType::kModified:
        cache_.Upsert(std::move(event->pod));
        ++stats_.events;
        break;
      case WatchEventType::kDeleted:
        cache_.MarkDeleted(event->pod, now);
        cache_.Purge(now);
        ++stats_.events;
        break;
      case WatchEventType::kBookmark:
        ++stats_.bookmarks;
        break;
      case WatchEventType::kError:
        if (event->error.code == 410) {
          ++stats_.expired;
          ended = WatchEnd::kExpired;
          error_detail = event->error.message;
        } else {
          ++stats_.errors;
          ended = WatchEnd::kFailed;
          error_detail = "watch ERROR event: code " + std::to_string(event->error.code) + " (" +
                         event->error.reason + "): " + event->error.message;
        }
        return false;
    }
    if (!event->resource_version.empty()) {
      *resource_version = event->resource_version;
      stats_.resource_version = event->resource_version;
    }
    return true;
  };
  std::size_t bytes = 0;
  Status status = client_->Stream(
      request,
      [&](std::string_view chunk) {
        if (stop_.load()) return false;
        bytes += chunk.size();
        if (http_status != 200) {
          if (error_body.size() < kMaxErrorBody) error_body.append(chunk);
          return true;
        }
        return splitter.Feed(chunk, on_line);
      },
      &http_status);
  if (stop_.load()) return WatchEnd::kStopped;
  auto count_error = [this] {
    std::lock_guard lock(stats_mu_);
    ++stats_.errors;
  };
  if (ended == WatchEnd::kExpired) {
    spdlog::info("kube: resourceVersion {} is too old ({}); re-listing", *resource_version,
                 error_detail);
    return WatchEnd::kExpired;
  }
  if (ended == WatchEnd::kFailed) {
    SetState(KubeState::kUnavailable, error_detail + "; re-listing");
    return WatchEnd::kFailed;
  }
  if (!status.ok()) {
    count_error();
    SetState(KubeState::kUnavailable, "watch dropped: " + status.message() + "; re-listing");
    return WatchEnd::kFailed;
  }
  if (http_status == 410) {
    {
      std::lock_guard lock(stats_mu_);
      ++stats_.expired;
    }
    spdlog::info("kube: resourceVersion {} is too old ({}); re-listing", *resource_version,
                 DescribeAnswer(http_status, error_body));
    return WatchEnd::kExpired;
  }
  if (http_status == 401 || http_status == 403) {
    OnUnauthorized(http_status, error_body);
    return WatchEnd::kUnauthorized;
  }
  if (http_status != 200) {
    count_error();
    SetState(KubeState::kUnavailable,
             "watch answered " + DescribeAnswer(http_status, error_body) + "; re-listing");
    return WatchEnd::kFailed;
  }
  spdlog::debug("kube: watch ended after {} bytes; resuming from resourceVersion {}", bytes,
                *resource_version);
  return bytes == 0 ? WatchEnd::kEmpty : WatchEnd::kClosed;
}

void KubePodDirectory::Run() {
  std::string resource_version;
  std::chrono::milliseconds backoff = config_.backoff_initial;
  auto back_off = [&]() {
    const bool go_on = SleepFor(backoff);
    backoff = std::min(backoff * 2, config_.backoff_max);
    return go_on;
  };
  while (!stop_.load()) {
    Status listed = List(&resource_version);
    if (stop_.load()) break;
    if (!listed.ok()) {
      if (!back_off()) break;
      continue;
    }
    backoff = config_.backoff_initial;
    bool relist = false;
    while (!relist && !stop_.load()) {
      switch (Watch(&resource_version)) {
        case WatchEnd::kClosed:
          break;  // the server's timeoutSeconds: resume from the last resourceVersion
        case WatchEnd::kEmpty:
          // Closed without a byte (not even a BOOKMARK): do not spin on such a server.
          if (!SleepFor(config_.backoff_initial)) return;
          break;
        case WatchEnd::kExpired:
          relist = true;
          break;
        case WatchEnd::kFailed:
        case WatchEnd::kUnauthorized:
          relist = true;
          if (!back_off()) return;
          break;
        case WatchEnd::kStopped:
          return;
      }
      cache_.Purge(Clock::now());
    }
  }
}

}  // namespace jostle::agent
