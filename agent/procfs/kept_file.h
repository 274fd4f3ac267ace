// The descriptors the agent's readers keep open between ticks, owned in one place.
//
// A kept file is re-read with pread at offset 0 (OpenFile); a file that is not kept is
// opened, read and closed each time it is due. KeptFileBudget decides which files are kept:
// at most limit() descriptors in all, files read every tick first, files read every few
// ticks within periodic_limit(), limits (read every minute) never. Every reader of one
// agent shares one budget (Sampler::Open gives the node reader's and the cgroup sampler's
// files the same one). After an EMFILE the budget is exhausted: nothing more is kept.
//
// Not thread-safe: the sampling thread uses it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "agent/procfs/open_file.h"
#include "jostle/status.h"

namespace jostle::agent {

// How often a file is read, which decides whether it may keep a descriptor.
enum class ReadRate : uint8_t {
  kEveryTick,  // kept while the budget allows
  kPeriodic,   // every few ticks: kept within periodic_limit()
  kRare,       // limits: opened, read and closed each time
};

class KeptFileBudget {
 public:
  // max_open descriptors within half of the soft RLIMIT_NOFILE (the other half is left to
  // the rest of the process). When that is too low and raise_limit is set, the soft limit
  // is first raised toward the hard limit, to 2 * max_open at most (as Go programs,
  // node_exporter among them, do at start-up).
  static std::shared_ptr<KeptFileBudget> Create(size_t max_open, bool raise_limit);
  // A budget of exactly `limit` descriptors (tests).
  explicit KeptFileBudget(size_t limit) : limit_(limit) {}

  // How many files read every tick the readers would keep if they could, all together:
  // periodic files are kept within 3/4 of limit() less that, so that the every-tick files
  // come first. A reader adds its change (negative when it needs fewer).
  void AddEveryTickDemand(ptrdiff_t delta);

  // True when a file read at `rate` may be opened and kept now.
  bool HasRoom(ReadRate rate) const;
  // A file read at `rate` was opened and kept / was closed.
  void Opened(ReadRate rate);
  void Closed(ReadRate rate);
  // open() failed with EMFILE: keep nothing more.
  void MarkExhausted() { exhausted_ = true; }

  size_t limit() const { return limit_; }
  size_t periodic_limit() const;
  size_t open() const { return open_; }
  size_t open_periodic() const { return open_periodic_; }
  bool exhausted() const { return exhausted_; }

 private:
  size_t limit_;
  size_t every_tick_demand_ = 0;
  size_t open_ = 0;
  size_t open_periodic_ = 0;
  bool exhausted_ = false;
};

// One file read through a budget: kept open when the budget has room the first time it is
// read, else read by open/read/close each time. NotFound marks it missing until Reset().
class KeptFile {
 public:
  enum class State : uint8_t {
    kUnopened,   // not read yet (or closed): the next read may keep it
    kOpen,       // kept
    kTransient,  // read by open/read/close
    kMissing,    // NotFound on the last attempt
  };

  explicit KeptFile(ReadRate rate) : rate_(rate) {}

  // Reads the file into `buf` (OpenFile::Read). `path()` gives its path, called only when
  // the file has to be opened. A failed read of a kept file closes it. An EMFILE marks the
  // budget exhausted and falls back to open/read/close with a warning, once per budget,
  // left to the caller (`on_exhausted(status)`).
  template <typename PathFn, typename OnExhausted>
  Result<std::string_view> Read(KeptFileBudget& budget, std::string& buf, PathFn&& path,
                                OnExhausted&& on_exhausted);

  // Closes a kept file; the next read may keep it again.
  void Close(KeptFileBudget& budget);
  // Forgets that the file was missing (its cgroup was listed again).
  void ForgetMissing() {
    if (state_ == State::kMissing) state_ = State::kUnopened;
  }

  State state() const { return state_; }
  ReadRate rate() const { return rate_; }

 private:
  OpenFile file_;
  State state_ = State::kUnopened;
  ReadRate rate_;
};

template <typename PathFn, typename OnExhausted>
Result<std::string_view> KeptFile::Read(KeptFileBudget& budget, std::string& buf, PathFn&& path,
                                        OnExhausted&& on_exhausted) {
  if (state_ == State::kOpen) {
    auto r = file_.Read(buf);
    if (!r.ok()) Close(budget);
    return r;
  }
  if (state_ == State::kUnopened && !budget.exhausted() && budget.HasRoom(rate_)) {
    auto f = OpenFile::Open(path());
    if (f.ok()) {
      file_ = std::move(*f);
      state_ = State::kOpen;
      budget.Opened(rate_);
      auto r = file_.Read(buf);
      if (!r.ok()) Close(budget);
      return r;
    }
    if (f.status().code() != Status::Code::kResourceExhausted) {
      if (f.status().IsNotFound()) state_ = State::kMissing;
      return f.status();
    }
    budget.MarkExhausted();
    on_exhausted(f.status());
  }
  if (state_ == State::kUnopened) state_ = State::kTransient;
  auto r = OpenFile::ReadOnce(path(), buf);
  if (!r.ok() && r.status().IsNotFound()) state_ = State::kMissing;
  return r;
}

}  // namespace jostle::agent
