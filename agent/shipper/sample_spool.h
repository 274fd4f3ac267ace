// SampleSpool: the batches the collector has not acknowledged yet, oldest first, bounded in
// bytes. On disk (one file per batch, "<20-digit id>.batch.gz" in the spool directory,
// written atomically: tmp file + fsync + rename + fsync of the directory), or in memory when
// no directory is given. When a push would exceed the cap, or the disk is full before the
// cap is reached, the oldest batches are dropped (counted) until the new one fits.
//
// Thread-safety: none; the shipper thread owns it. The counters are atomics so that other
// threads (/metrics) may read them.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "jostle/status.h"

namespace jostle::agent {

struct SpoolOptions {
  std::string dir;                    // empty: keep batches in memory (lost on exit)
  uint64_t max_bytes = 256ull << 20;  // payload bytes kept at most
};

class SampleSpool {
 public:
  // Creates the directory if needed, removes leftover temporary files, and indexes the
  // batches a previous agent process left, to be replayed first.
  static Result<std::unique_ptr<SampleSpool>> Open(SpoolOptions options);

  // Appends one payload (a gzip-compressed encoded batch). Drops the oldest batches when
  // the cap would be exceeded or the file system is full (ENOSPC, EDQUOT), until the write
  // succeeds; a payload larger than the cap itself is dropped. Returns the number of
  // batches dropped. IOError when the file cannot be written even with the spool emptied
  // (nothing is kept).
  Result<int> Push(std::string payload);
  // The oldest payload; nullopt when empty. A file that cannot be read is dropped (counted)
  // and the next one is tried.
  std::optional<std::string> Front();
  // Removes the oldest batch.
  Status Pop();

  bool empty() const { return index_.empty(); }
  size_t size() const { return index_.size(); }
  uint64_t bytes() const { return bytes_.load(); }
  // Batches dropped for the cap or a full disk; of which for a full disk.
  uint64_t dropped() const { return dropped_.load(); }
  uint64_t dropped_disk_full() const { return dropped_disk_full_.load(); }
  bool on_disk() const { return !options_.dir.empty(); }

 private:
  struct Entry {
    uint64_t id;
    uint64_t size;
    std::string payload;  // memory mode only
  };
  explicit SampleSpool(SpoolOptions options) : options_(std::move(options)) {}
  std::string PathOf(uint64_t id) const;
  void DropFront();
  // Writes batch `id`'s file atomically; on failure *err is the errno.
  Status WriteFile(uint64_t id, std::string_view payload, int* err);

  SpoolOptions options_;
  std::deque<Entry> index_;  // oldest first
  uint64_t next_id_ = 0;
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> dropped_disk_full_{0};
};

}  // namespace jostle::agent
