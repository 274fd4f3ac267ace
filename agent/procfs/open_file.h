// A file kept open and re-read from offset 0 with pread on every tick: the cheap way to
// read /proc and cgroup files repeatedly (one syscall per read, no open/close).
#pragma once

#include <string>
#include <string_view>

#include "jostle/status.h"

namespace jostle::agent {

class OpenFile {
 public:
  OpenFile() = default;
  // NotFound when the file does not exist (a pod that went away), PermissionDenied, ...
  static Result<OpenFile> Open(std::string path);
  // Reads the whole file into a buffer owned by this object; the view is valid until the
  // next call.
  Result<std::string_view> Read();
  // Reads a whole file once (open, read, close).
  static Result<std::string> ReadOnce(const std::string& path);

  const std::string& path() const { return path_; }
  bool is_open() const { return fd_ >= 0; }
  // errno of the last failed Read (e.g. EOPNOTSUPP from a PSI file when PSI is disabled at
  // boot, EINVAL from the speed file of a down interface); 0 after a successful Read.
  int last_errno() const { return last_errno_; }

  OpenFile(OpenFile&& other) noexcept;
  OpenFile& operator=(OpenFile&& other) noexcept;
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  ~OpenFile();

 private:
  OpenFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
  std::string buf_;
  int last_errno_ = 0;
};

}  // namespace jostle::agent
