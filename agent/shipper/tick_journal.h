// TickJournal: the batch being built, on disk a tick at a time, so that a crash of the
// agent (kill -9, an OOM kill) loses at most the tick being taken instead of the whole
// batch in progress.
//
// One file per batch, "<dir>/<20-digit seq>-<agent start ns>.ticks" in the spool directory,
// holding records appended as the batch's text is made (BatchLineBuilder's pieces): each
// record is its length (4 bytes, little-endian), the CRC-32 of its bytes (4 bytes,
// little-endian) and the bytes. Records are written with write(2), without fsync: they
// survive the agent process, not the loss of the node (whose pods' samples go with it).
// The file is removed once its batch is acknowledged by the collector or in the spool
// (Shipper), so a file found at start-up is a batch an earlier process never handed on:
// RecoverTickJournals closes it ("]}"), and the shipper spools it first.
//
// Thread-safety: none; the sampling thread owns the TickJournal.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jostle/status.h"

namespace jostle::agent {

class TickJournal {
 public:
  explicit TickJournal(std::string dir) : dir_(std::move(dir)) {}
  ~TickJournal();
  TickJournal(const TickJournal&) = delete;
  TickJournal& operator=(const TickJournal&) = delete;

  // Starts the file of batch `seq` of the agent started at `agent_start_ns` (a file still
  // open is closed and kept).
  Status Begin(uint64_t seq, int64_t agent_start_ns);
  // Appends one piece of the batch's text. After a failed write the batch's later pieces
  // are not written (the file is removed: a gap would make its text invalid) and the
  // batch goes on in memory only.
  Status Append(std::string_view piece);
  // Closes the file and returns its path (empty when none is kept), to be removed by
  // whoever makes the batch durable elsewhere.
  std::string Finish();

  bool failed() const { return failed_; }

 private:
  void CloseFile();

  const std::string dir_;
  std::string path_;
  int fd_ = -1;
  bool failed_ = false;
};

// A batch recovered from a journal an earlier process left.
struct RecoveredBatch {
  std::string path;  // the journal file, to be removed once the batch is spooled
  std::string text;  // EncodeBatch text of the ticks that were recorded whole
  size_t records = 0;
};

// The journals in `dir` (oldest batch first), each closed with "]}" unless its last record
// was the batch's end already. Records cut short or with a bad CRC end a journal there;
// a journal with no whole record is returned with empty text (to be removed).
Result<std::vector<RecoveredBatch>> RecoverTickJournals(const std::string& dir);

}  // namespace jostle::agent
