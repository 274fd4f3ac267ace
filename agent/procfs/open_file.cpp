#include "agent/procfs/open_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace jostle::agent {

Result<OpenFile> OpenFile::Open(std::string path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, path);
  return OpenFile(std::move(path), fd);
}

Result<std::string_view> OpenFile::Read() {
  if (fd_ < 0) return Status::Internal(path_ + ": read of a closed file");
  if (buf_.capacity() < 4096) buf_.reserve(4096);
  buf_.resize(buf_.capacity());
  // Read until pread returns 0: seq_file may return short reads before EOF.
  size_t used = 0;
  for (;;) {
    if (used == buf_.size()) buf_.resize(buf_.size() * 2);
    ssize_t n = ::pread(fd_, buf_.data() + used, buf_.size() - used, static_cast<off_t>(used));
    if (n < 0) {
      if (errno == EINTR) continue;
      last_errno_ = errno;
      return Status::FromErrno(last_errno_, path_);
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  last_errno_ = 0;
  return std::string_view(buf_.data(), used);
}

Result<std::string> OpenFile::ReadOnce(const std::string& path) {
  auto f = Open(path);
  if (!f.ok()) return f.status();
  auto content = f->Read();
  if (!content.ok()) return content.status();
  return std::string(*content);
}

OpenFile::OpenFile(OpenFile&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(other.fd_),
      buf_(std::move(other.buf_)),
      last_errno_(other.last_errno_) {
  other.fd_ = -1;
}

OpenFile& OpenFile::operator=(OpenFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    buf_ = std::move(other.buf_);
    last_errno_ = other.last_errno_;
    other.fd_ = -1;
  }
  return *this;
}

OpenFile::~OpenFile() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace jostle::agent
