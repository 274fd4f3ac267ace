// Shipper: takes batches (SampleBatch objects or their gzip payloads) from the sampling loop and
// delivers them to the collector's POST /api/v1/samples, gzip-compressed, with a bearer token.
//
// Ship() never blocks the sampling loop: it appends to a bounded in-memory queue that the
// shipper's own thread drains. A send that gets no answer, a 5xx, a 408 or a 429 is retried
// with exponential backoff and jitter (a Retry-After is honoured); meanwhile that batch and
// every later one go to the SampleSpool (on disk with --spool-dir) and are replayed in order,
// oldest first, before any newer batch. A 401 or 403 (credentials refused: a token rotated
// on one side first) is handled the same way, with an error in the log at least once a
// minute and a counter: the batch is kept, and the token file is re-read before each try.
// Any other 4xx is logged and the batch dropped (counted): the collector will never take
// it. The collector deduplicates replays, so a batch sent twice (e.g. the answer was lost)
// is stored once.
//
// With a spool directory, a batch may come with the path of its tick journal
// (tick_journal.h): the journal is removed once the batch is acknowledged or spooled, and
// the journals an earlier process left are rebuilt into batches and spooled at Start.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agent/shipper/retry_policy.h"
#include "agent/shipper/sample_spool.h"
#include "http_client/http_client.h"
#include "jostle/sample.h"
#include "jostle/status.h"

namespace jostle::agent {

struct ShipperOptions {
  std::string collector_url;  // "http://jostle-collector:8080" (no path)
  // File holding the bearer token (whitespace trimmed); re-read when it changes, so a
  // rotated Kubernetes secret takes effect. Empty: no Authorization header.
  std::string token_file;
  std::string spool_dir;                    // --spool-dir; empty: spool in memory
  uint64_t spool_max_bytes = 256ull << 20;  // spool cap, compressed bytes
  size_t queue_capacity = 64;               // batches waiting for the shipper thread
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{60000};
  std::chrono::milliseconds max_retry_after{600000};  // Retry-After is capped at this
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};
  int gzip_level = 6;
};

// Counters for /metrics; cumulative since Start unless noted.
struct ShipperStats {
  uint64_t batches_shipped = 0;        // acknowledged by the collector (live or from the spool)
  uint64_t batches_replayed = 0;       // of which came from the spool
  uint64_t batches_spooled = 0;        // written to the spool
  uint64_t batches_dropped_queue = 0;  // queue full: the oldest queued batch was dropped
  uint64_t batches_dropped_spool = 0;  // spool full: the oldest spooled batch was dropped
  uint64_t batches_rejected = 0;  // refused with a 4xx other than 401/403/408/429: dropped
  uint64_t batches_unauthorized = 0;   // answers 401/403 (the batch is kept and retried)
  uint64_t batches_recovered = 0;      // rebuilt from tick journals at Start
  uint64_t batches_dropped_disk_full = 0;  // of batches_dropped_spool, for a full disk
  uint64_t send_failures = 0;          // attempts that will be retried
  uint64_t spool_bytes = 0;            // now, compressed bytes
  uint64_t spool_batches = 0;          // now
  uint64_t queued_batches = 0;         // now
};

class Shipper {
 public:
  // Opens the spool (replaying what an earlier process left) and starts the thread.
  static Result<std::unique_ptr<Shipper>> Start(ShipperOptions options);
  ~Shipper();  // Stop(0)
  Shipper(const Shipper&) = delete;
  Shipper& operator=(const Shipper&) = delete;

  // Any thread; never blocks on I/O. When the queue is full the oldest queued batch is
  // dropped (counted) and false returned. The batch is encoded and compressed here, on the
  // caller's thread: the queue holds payloads.
  bool Ship(const SampleBatch& batch);
  // As Ship, for a batch already encoded and compressed: `payload` is Gzip(EncodeBatch(b))
  // or any gzip whose inflation is that text (BatchLineBuilder).
  // `journal`: the batch's tick journal file (removed once the batch is acknowledged or
  // spooled, kept when neither succeeds); empty for none.
  bool ShipPayload(std::string payload, std::string journal = {});

  // Delivers what it can until `deadline` passes (queue and spool), then writes whatever is
  // left to the spool and stops the thread. Idempotent.
  void Stop(std::chrono::milliseconds deadline);

  ShipperStats stats() const;

 private:
  explicit Shipper(ShipperOptions options);
  void Run();
  // One POST; returns the verdict and, for kRetry, the delay the collector asked for.
  SendVerdict Send(const std::string& payload, std::chrono::milliseconds* retry_after);
  std::string Token();
  struct Queued {
    std::string payload;  // gzip
    std::string journal;  // tick journal to remove once the batch is safe; may be empty
  };
  void SpoolPayload(Queued batch);
  void MoveQueueToSpool(std::deque<Queued>& batches);
  void RecoverJournals();
  void NoteUnauthorized(long status, std::string_view body);
  std::string Encode(const SampleBatch& batch) const;

  const ShipperOptions options_;
  std::unique_ptr<SampleSpool> spool_;  // shipper thread only (after Start)
  http::HttpClient client_;             // shipper thread only; Cancel() from Stop
  Backoff backoff_;                     // shipper thread only

  mutable std::mutex mu_;  // guards queue_, stopping_, deadline_
  std::condition_variable cv_;
  std::deque<Queued> queue_;  // oldest first
  bool stopping_ = false;
  std::chrono::steady_clock::time_point deadline_;

  std::string token_;  // shipper thread only: last token read and the file's mtime
  int64_t token_mtime_ns_ = -1;

  std::atomic<uint64_t> shipped_{0}, replayed_{0}, spooled_{0}, dropped_queue_{0}, rejected_{0},
      send_failures_{0}, queued_{0}, unauthorized_{0}, recovered_{0};
  std::chrono::steady_clock::time_point last_unauthorized_log_{};  // shipper thread only
  std::thread thread_;
  std::once_flag stop_once_;
};

}  // namespace jostle::agent
