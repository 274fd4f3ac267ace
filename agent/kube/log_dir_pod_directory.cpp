#include "agent/kube/log_dir_pod_directory.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <filesystem>
#include <system_error>

namespace jostle::agent {
namespace {

bool IsUidChar(char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == '-'; }

}  // namespace

std::optional<PodLogDirName> ParsePodLogDirName(std::string_view dir_name) {
  const size_t first = dir_name.find('_');
  if (first == std::string_view::npos) return std::nullopt;
  const size_t second = dir_name.find('_', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  if (dir_name.find('_', second + 1) != std::string_view::npos) return std::nullopt;
  PodLogDirName parsed{std::string(dir_name.substr(0, first)),
                       std::string(dir_name.substr(first + 1, second - first - 1)),
                       std::string(dir_name.substr(second + 1))};
  if (parsed.namespace_name.empty() || parsed.name.empty() || parsed.uid.empty()) {
    return std::nullopt;
  }
  for (char c : parsed.uid) {
    if (!IsUidChar(c)) return std::nullopt;
  }
  return parsed;
}

LogDirPodDirectory::LogDirPodDirectory(std::string dir, std::chrono::milliseconds min_rescan)
    : dir_(std::move(dir)), min_rescan_(min_rescan) {}

std::optional<PodMeta> LogDirPodDirectory::Find(std::string_view uid) const {
  std::lock_guard lock(mu_);
  auto it = pods_.find(uid);
  if (it != pods_.end()) return it->second;
  const auto now = Clock::now();
  if (last_scan_ && now - *last_scan_ < min_rescan_) return std::nullopt;
  (void)RescanLocked();
  it = pods_.find(uid);
  if (it != pods_.end()) return it->second;
  return std::nullopt;
}

Status LogDirPodDirectory::Rescan() {
  std::lock_guard lock(mu_);
  return RescanLocked();
}

std::size_t LogDirPodDirectory::size() const {
  std::lock_guard lock(mu_);
  return pods_.size();
}

Status LogDirPodDirectory::RescanLocked() const {
  last_scan_ = Clock::now();
  std::error_code ec;
  std::filesystem::directory_iterator it(dir_, ec);
  if (ec) {
    Status status = Status::FromErrno(ec.value(), "pod log directory " + dir_);
    if (!warned_) {
      spdlog::warn("kube: cannot read {}; pods are named by UID only", status.message());
      warned_ = true;
    }
    return status;
  }
  warned_ = false;
  std::map<std::string, PodMeta, std::less<>> pods;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    std::optional<PodLogDirName> parsed = ParsePodLogDirName(it->path().filename().string());
    if (!parsed) continue;
    PodMeta pod;
    pod.uid = parsed->uid;
    pod.namespace_name = std::move(parsed->namespace_name);
    pod.name = std::move(parsed->name);
    pods.emplace(pod.uid, std::move(pod));
  }
  pods_ = std::move(pods);
  return Status::Ok();
}

}  // namespace jostle::agent
