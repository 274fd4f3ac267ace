// A file kept open and re-read from offset 0 with pread on every tick: the cheap way to
// read /proc and cgroup files repeatedly (one syscall per read, no open/close).
//
// Reads go into a buffer the caller passes in, so that a sampler holding thousands of open
// files keeps one buffer, not one per file. A read stops at the first pread that returns
// fewer than kShortReadIsEof bytes and less than was asked for, without the second pread
// that would return 0: regular files and single-record seq_files (every cgroupfs file,
// /proc/stat, /proc/meminfo, /proc/pressure/*) return everything up to EOF that fits the
// buffer. A multi-record seq_file (/proc/net/dev with many interfaces, /proc/PID/smaps)
// returns at most about a page per read, which can be short of the buffer without being
// EOF: it ends at a record that did not fit, so it is more than a page minus one record
// long, and records there are shorter than kShortReadIsEof; such reads are followed by
// more preads until one returns 0. A pread that fills the buffer is followed by another
// after the buffer has doubled, so a file larger than the buffer is still read whole and
// the buffer keeps the larger size for the next read.
//
// Kernel cost to keep in mind: a kept kernfs (cgroupfs, sysfs) or seq_file (procfs) file
// holds a page-sized read buffer in the kernel from its first read until it is closed.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "jostle/status.h"

namespace jostle::agent {

class OpenFile {
 public:
  // A smaller buffer is grown to this size before the first pread into it.
  static constexpr size_t kInitialReadBuffer = 4096;
  // A short pread returning fewer bytes than this is taken as EOF (see above).
  static constexpr size_t kShortReadIsEof = 2048;

  OpenFile() = default;
  // NotFound when the file does not exist (a pod that went away), PermissionDenied, ...
  static Result<OpenFile> Open(std::string path);

  // Reads the whole file from offset 0 into `buf`: `buf` is first grown to at least
  // kInitialReadBuffer and to its capacity; `buf` doubles while a pread fills it and is never
  // shrunk, so its size() is its capacity (the bytes past the returned view are garbage). The view
  // points into `buf` and is valid until `buf` is next written or resized. Errors name the path;
  // EOPNOTSUPP (a PSI file while PSI is disabled at boot) is Unsupported, other errnos map
  // as in Status::FromErrno.
  Result<std::string_view> Read(std::string& buf);
  // As Read(buf), into a buffer owned by this object (allocated on the first call); the view
  // is valid until the next call.
  Result<std::string_view> Read();

  // Reads a whole file once (open, read, close).
  static Result<std::string> ReadOnce(const std::string& path);
  // As ReadOnce(path), into `buf` as Read(buf) does.
  static Result<std::string_view> ReadOnce(const std::string& path, std::string& buf);

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
  int last_errno_ = 0;
  std::string buf_;  // for Read() without a buffer only
};

}  // namespace jostle::agent
