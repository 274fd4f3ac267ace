#include "agent/procfs/open_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace jostle::agent {
namespace {

// Reads all of `fd` from offset 0 into `buf` (see OpenFile::Read). Returns the number of
// bytes read, or -1 with errno set.
ssize_t PreadWhole(int fd, std::string& buf) {
  if (buf.capacity() < OpenFile::kInitialReadBuffer) buf.reserve(OpenFile::kInitialReadBuffer);
  buf.resize(buf.capacity());
  size_t used = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf.data() + used, buf.size() - used, static_cast<off_t>(used));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) return static_cast<ssize_t>(used);
    used += static_cast<size_t>(n);
    // A short read of less than kShortReadIsEof bytes is the end of the file (see the
    // header); a longer one may be one page of a multi-record seq_file: read on.
    if (used < buf.size() && static_cast<size_t>(n) < OpenFile::kShortReadIsEof) {
      return static_cast<ssize_t>(used);
    }
    if (used == buf.size()) buf.resize(buf.size() * 2);
  }
}

// FromErrno, except EOPNOTSUPP (a PSI file when PSI is disabled at boot) is Unsupported.
Status ReadError(int err, const std::string& path) {
  if (err == EOPNOTSUPP) return Status::Unsupported(path + ": operation not supported");
  return Status::FromErrno(err, path);
}

}  // namespace

Result<OpenFile> OpenFile::Open(std::string path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, path);
  return OpenFile(std::move(path), fd);
}

Result<std::string_view> OpenFile::Read(std::string& buf) {
  if (fd_ < 0) return Status::Internal(path_ + ": read of a closed file");
  ssize_t n = PreadWhole(fd_, buf);
  if (n < 0) {
    last_errno_ = errno;
    return ReadError(last_errno_, path_);
  }
  last_errno_ = 0;
  return std::string_view(buf.data(), static_cast<size_t>(n));
}

Result<std::string_view> OpenFile::Read() { return Read(buf_); }

Result<std::string_view> OpenFile::ReadOnce(const std::string& path, std::string& buf) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, path);
  ssize_t n = PreadWhole(fd, buf);
  int err = errno;
  ::close(fd);
  if (n < 0) return ReadError(err, path);
  return std::string_view(buf.data(), static_cast<size_t>(n));
}

Result<std::string> OpenFile::ReadOnce(const std::string& path) {
  std::string buf;
  auto content = ReadOnce(path, buf);
  if (!content.ok()) return content.status();
  buf.resize(content->size());
  return buf;
}

OpenFile::OpenFile(OpenFile&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(other.fd_),
      last_errno_(other.last_errno_),
      buf_(std::move(other.buf_)) {
  other.fd_ = -1;
}

OpenFile& OpenFile::operator=(OpenFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    last_errno_ = other.last_errno_;
    buf_ = std::move(other.buf_);
    other.fd_ = -1;
  }
  return *this;
}

OpenFile::~OpenFile() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace jostle::agent
