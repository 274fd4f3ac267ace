#include "agent/shipper/sample_spool.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace jostle::agent {
namespace {

namespace fs = std::filesystem;
constexpr const char* kSuffix = ".batch.gz";
constexpr const char* kTmpPrefix = ".tmp-";

Status WriteAll(int fd, std::string_view data, const std::string& path, int* err) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      return Status::FromErrno(errno, path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, dir);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Status::FromErrno(err, "fsync " + dir);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<SampleSpool>> SampleSpool::Open(SpoolOptions options) {
  std::unique_ptr<SampleSpool> spool(new SampleSpool(std::move(options)));
  if (!spool->on_disk()) return spool;
  const std::string& dir = spool->options_.dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError("spool dir " + dir + ": " + ec.message());
  std::vector<Entry> found;
  for (const auto& de : fs::directory_iterator(dir, ec)) {
    std::string name = de.path().filename().string();
    if (name.rfind(kTmpPrefix, 0) == 0) {
      fs::remove(de.path(), ec);  // an interrupted write: never acknowledged to anyone
      continue;
    }
    if (name.size() != 20 + std::char_traits<char>::length(kSuffix) || name.substr(20) != kSuffix ||
        !std::all_of(name.begin(), name.begin() + 20, ::isdigit)) {
      continue;
    }
    uint64_t id = std::stoull(name.substr(0, 20));
    uint64_t size = de.file_size(ec);
    if (ec) continue;
    found.push_back({id, size, {}});
  }
  if (ec) return Status::IOError("spool dir " + dir + ": " + ec.message());
  std::sort(found.begin(), found.end(), [](const Entry& a, const Entry& b) { return a.id < b.id; });
  for (auto& e : found) {
    spool->bytes_ += e.size;
    spool->next_id_ = e.id + 1;
    spool->index_.push_back(std::move(e));
  }
  if (!spool->index_.empty()) {
    spdlog::info("spool: {} batches ({} bytes) left by an earlier run in {}; replaying them first",
                 spool->index_.size(), spool->bytes_.load(), dir);
  }
  // An earlier run may have had a bigger cap.
  while (spool->bytes_ > spool->options_.max_bytes && !spool->index_.empty()) {
    spool->DropFront();
  }
  return spool;
}

std::string SampleSpool::PathOf(uint64_t id) const {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu", static_cast<unsigned long long>(id));
  return options_.dir + "/" + name + kSuffix;
}

void SampleSpool::DropFront() {
  const Entry& e = index_.front();
  if (on_disk()) {
    std::error_code ec;
    fs::remove(PathOf(e.id), ec);
  }
  bytes_ -= e.size;
  ++dropped_;
  index_.pop_front();
}

Result<int> SampleSpool::Push(std::string payload) {
  uint64_t size = payload.size();
  if (size > options_.max_bytes) {
    ++dropped_;
    spdlog::warn("spool: dropped a {} byte batch larger than the spool cap ({} bytes)", size,
                 options_.max_bytes);
    return 1;
  }
  int dropped = 0;
  while (!index_.empty() && bytes_ + size > options_.max_bytes) {
    DropFront();
    ++dropped;
  }
  if (dropped > 0) {
    spdlog::warn("spool: full ({} bytes cap); dropped the {} oldest batches ({} dropped so far)",
                 options_.max_bytes, dropped, dropped_.load());
  }
  uint64_t id = next_id_++;
  if (on_disk()) {
    // A full disk (before the cap) makes room the same way: the oldest batches go until
    // this one fits.
    int dropped_for_disk = 0;
    for (;;) {
      int err = 0;
      Status s = WriteFile(id, payload, &err);
      if (s.ok()) break;
      if ((err != ENOSPC && err != EDQUOT) || index_.empty()) return s;
      DropFront();
      ++dropped;
      ++dropped_for_disk;
      ++dropped_disk_full_;
    }
    if (dropped_for_disk > 0) {
      spdlog::warn("spool: {} is full; dropped the {} oldest batches to keep this one ({} "
                   "dropped for a full disk so far)",
                   options_.dir, dropped_for_disk, dropped_disk_full_.load());
    }
    index_.push_back({id, size, {}});
  } else {
    index_.push_back({id, size, std::move(payload)});
  }
  bytes_ += size;
  return dropped;
}

Status SampleSpool::WriteFile(uint64_t id, std::string_view payload, int* err) {
  std::string path = PathOf(id);
  std::string tmp = options_.dir + "/" + kTmpPrefix + std::to_string(id);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    *err = errno;
    return Status::FromErrno(errno, tmp);
  }
  Status s = WriteAll(fd, payload, tmp, err);
  if (s.ok() && ::fsync(fd) != 0) {
    *err = errno;
    s = Status::FromErrno(errno, "fsync " + tmp);
  }
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    *err = errno;
    s = Status::FromErrno(errno, "rename " + tmp);
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  if (Status d = FsyncDir(options_.dir); !d.ok()) spdlog::warn("spool: {}", d.ToString());
  return Status::Ok();
}

std::optional<std::string> SampleSpool::Front() {
  while (!index_.empty()) {
    const Entry& e = index_.front();
    if (!on_disk()) return e.payload;
    std::string path = PathOf(e.id);
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::ostringstream data;
      data << in.rdbuf();
      if (!in.bad()) return data.str();
    }
    spdlog::warn("spool: cannot read {}; dropping it", path);
    DropFront();
  }
  return std::nullopt;
}

Status SampleSpool::Pop() {
  if (index_.empty()) return Status::NotFound("spool is empty");
  const Entry& e = index_.front();
  if (on_disk()) {
    std::error_code ec;
    fs::remove(PathOf(e.id), ec);
    if (ec) return Status::IOError("spool: remove " + PathOf(e.id) + ": " + ec.message());
  }
  bytes_ -= e.size;
  index_.pop_front();
  return Status::Ok();
}

}  // namespace jostle::agent
