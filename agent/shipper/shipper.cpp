#include "agent/shipper/shipper.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

#include "agent/shipper/tick_journal.h"
#include "jostle/wire.h"

namespace jostle::agent {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string Trim(std::string s) {
  auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!s.empty() && space(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && space(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

}  // namespace

Shipper::Shipper(ShipperOptions options)
    : options_(std::move(options)),
      backoff_(options_.initial_backoff, options_.max_backoff, std::random_device{}()) {}

Result<std::unique_ptr<Shipper>> Shipper::Start(ShipperOptions options) {
  if (options.collector_url.rfind("http://", 0) != 0 &&
      options.collector_url.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("collector URL '" + options.collector_url +
                                   "': expected http://HOST:PORT or https://HOST:PORT");
  }
  while (!options.collector_url.empty() && options.collector_url.back() == '/') {
    options.collector_url.pop_back();
  }
  if (options.queue_capacity == 0) options.queue_capacity = 1;
  std::unique_ptr<Shipper> s(new Shipper(std::move(options)));
  auto spool = SampleSpool::Open({s->options_.spool_dir, s->options_.spool_max_bytes});
  if (!spool.ok()) return spool.status().WithContext("--spool-dir");
  s->spool_ = std::move(spool.value());
  if (s->spool_->on_disk()) s->RecoverJournals();
  s->thread_ = std::thread([p = s.get()] { p->Run(); });
  return s;
}

Shipper::~Shipper() { Stop(milliseconds(0)); }

void Shipper::RecoverJournals() {
  auto journals = RecoverTickJournals(options_.spool_dir);
  if (!journals.ok()) {
    spdlog::warn("shipper: {}", journals.status().ToString());
    return;
  }
  for (auto& j : *journals) {
    if (j.records == 0) {
      ::unlink(j.path.c_str());
      continue;
    }
    auto pushed = spool_->Push(Gzip(j.text, options_.gzip_level));
    if (!pushed.ok()) {
      spdlog::error("shipper: cannot spool the batch recovered from {} ({}); kept there",
                    j.path, pushed.status().ToString());
      continue;
    }
    ::unlink(j.path.c_str());
    ++recovered_;
    spdlog::info("shipper: recovered a batch of {} tick record(s) an earlier agent was "
                 "building ({}); it is sent first",
                 j.records, j.path);
  }
}

bool Shipper::Ship(const SampleBatch& batch) { return ShipPayload(Encode(batch)); }

bool Shipper::ShipPayload(std::string payload, std::string journal) {
  bool dropped = false;
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.queue_capacity) {
      if (!queue_.front().journal.empty()) ::unlink(queue_.front().journal.c_str());
      queue_.pop_front();
      dropped = true;
    }
    queue_.push_back({std::move(payload), std::move(journal)});
    queued_ = queue_.size();
  }
  cv_.notify_one();
  if (dropped) {
    uint64_t n = ++dropped_queue_;
    spdlog::warn("shipper: queue full ({} batches); dropped the oldest ({} dropped so far)",
                 options_.queue_capacity, n);
  }
  return !dropped;
}

void Shipper::Stop(milliseconds deadline) {
  std::call_once(stop_once_, [&] {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      deadline_ = Clock::now() + deadline;
    }
    cv_.notify_all();
    // A send in flight at the deadline is cut short; its batch goes to the spool.
    std::thread canceller;
    std::mutex done_mu;
    std::condition_variable done_cv;
    bool done = false;
    canceller = std::thread([&] {
      std::unique_lock lock(done_mu);
      if (!done_cv.wait_for(lock, deadline + milliseconds(200), [&] { return done; })) {
        client_.Cancel();
      }
    });
    if (thread_.joinable()) thread_.join();
    {
      std::lock_guard lock(done_mu);
      done = true;
    }
    done_cv.notify_all();
    canceller.join();
  });
}

ShipperStats Shipper::stats() const {
  ShipperStats s;
  s.batches_shipped = shipped_;
  s.batches_replayed = replayed_;
  s.batches_spooled = spooled_;
  s.batches_dropped_queue = dropped_queue_;
  s.batches_dropped_spool = spool_ ? spool_->dropped() : 0;
  s.batches_rejected = rejected_;
  s.batches_unauthorized = unauthorized_;
  s.batches_recovered = recovered_;
  s.batches_dropped_disk_full = spool_ ? spool_->dropped_disk_full() : 0;
  s.send_failures = send_failures_;
  s.spool_bytes = spool_ ? spool_->bytes() : 0;
  s.queued_batches = queued_;
  {
    std::lock_guard lock(mu_);
    // size() of a deque read while the shipper thread may change it: taken under mu_,
    // which the shipper thread holds whenever it changes the spool (see SpoolPayload/Pop).
    s.spool_batches = spool_ ? spool_->size() : 0;
  }
  return s;
}

std::string Shipper::Encode(const SampleBatch& batch) const {
  return Gzip(EncodeBatch(batch), options_.gzip_level);
}

std::string Shipper::Token() {
  if (options_.token_file.empty()) return {};
  struct stat st {};
  if (::stat(options_.token_file.c_str(), &st) != 0) {
    if (token_mtime_ns_ != -2) {
      spdlog::warn("shipper: cannot stat token file {}; using the last token read",
                   options_.token_file);
      token_mtime_ns_ = -2;
    }
    return token_;
  }
  int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  if (mtime != token_mtime_ns_) {
    std::ifstream in(options_.token_file);
    std::ostringstream text;
    text << in.rdbuf();
    if (in) {
      token_ = Trim(text.str());
      token_mtime_ns_ = mtime;
    }
  }
  return token_;
}

SendVerdict Shipper::Send(const std::string& payload, milliseconds* retry_after) {
  *retry_after = milliseconds(0);
  http::HttpRequest r;
  r.method = "POST";
  r.url = options_.collector_url + "/api/v1/samples";
  r.headers = {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}};
  r.body = payload;
  r.bearer_token = Token();
  r.connect_timeout = options_.connect_timeout;
  r.timeout = options_.request_timeout;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline_ - Clock::now());
      r.timeout = std::clamp(left, milliseconds(100), options_.request_timeout);
      r.connect_timeout = std::min(r.connect_timeout, r.timeout);
    }
  }
  r.max_body_bytes = 64 << 10;
  auto resp = client_.Send(r);
  if (!resp.ok()) {
    if (backoff_.failures() == 0) {
      spdlog::warn("shipper: collector unreachable ({}); spooling and retrying",
                   resp.status().message());
    }
    return SendVerdict::kRetry;
  }
  SendVerdict v = ClassifyStatus(resp->status);
  if (v == SendVerdict::kRetry) {
    if (auto ra = ParseRetryAfter(resp->Header("retry-after"))) {
      *retry_after = std::min<milliseconds>(*ra, options_.max_retry_after);
    }
    if (backoff_.failures() == 0) {
      spdlog::warn("shipper: collector answered {}; spooling and retrying", resp->status);
    }
  } else if (v == SendVerdict::kUnauthorized) {
    NoteUnauthorized(resp->status, resp->body);
  } else if (v == SendVerdict::kDrop) {
    spdlog::warn("shipper: collector refused a batch with {} ({}); dropped ({} so far)",
                 resp->status, resp->body.substr(0, 300), rejected_.load() + 1);
  }
  return v;
}

void Shipper::NoteUnauthorized(long status, std::string_view body) {
  uint64_t n = ++unauthorized_;
  auto now = Clock::now();
  if (n > 1 && now - last_unauthorized_log_ < std::chrono::minutes(1)) return;
  last_unauthorized_log_ = now;
  spdlog::error(
      "shipper: the collector refused this agent's credentials with {} ({}); batches are "
      "kept in the spool and retried, the token file is re-read before each try ({} "
      "refusal(s) so far)",
      status, body.substr(0, 300), n);
}

void Shipper::SpoolPayload(Queued batch) {
  std::lock_guard lock(mu_);
  auto pushed = spool_->Push(std::move(batch.payload));
  if (!pushed.ok()) {
    spdlog::error("shipper: spool write failed ({}); batch dropped{}", pushed.status().ToString(),
                  batch.journal.empty() ? "" : " (its ticks stay in " + batch.journal +
                                                   " for the next start)");
    return;
  }
  if (!batch.journal.empty()) ::unlink(batch.journal.c_str());
  ++spooled_;
}

void Shipper::MoveQueueToSpool(std::deque<Queued>& batches) {
  while (!batches.empty()) {
    SpoolPayload(std::move(batches.front()));
    batches.pop_front();
  }
}

void Shipper::Run() {
  auto retry_at = Clock::now();  // no send before this (backoff)
  for (;;) {
    std::deque<Queued> batches;
    bool stopping;
    Clock::time_point deadline;
    {
      std::unique_lock lock(mu_);
      for (;;) {
        if (!queue_.empty()) break;
        auto now = Clock::now();
        if (stopping_) {
          if (spool_->empty() || now >= deadline_ || now >= retry_at) break;
          cv_.wait_until(lock, std::min(retry_at, deadline_));
        } else if (!spool_->empty()) {
          if (now >= retry_at) break;
          cv_.wait_until(lock, retry_at);
        } else {
          cv_.wait(lock);
        }
      }
      batches.swap(queue_);
      queued_ = 0;
      stopping = stopping_;
      deadline = deadline_;
    }
    auto past_deadline = [&] { return stopping && Clock::now() >= deadline; };
    if (past_deadline()) {
      MoveQueueToSpool(batches);
      break;
    }

    // Live batches go straight out while nothing older waits and no backoff is running.
    while (!batches.empty()) {
      if (!spool_->empty() || Clock::now() < retry_at || past_deadline()) {
        MoveQueueToSpool(batches);
        break;
      }
      Queued batch = std::move(batches.front());
      batches.pop_front();
      milliseconds asked{0};
      switch (Send(batch.payload, &asked)) {
        case SendVerdict::kDelivered:
          ++shipped_;
          backoff_.Reset();
          if (!batch.journal.empty()) ::unlink(batch.journal.c_str());
          break;
        case SendVerdict::kDrop:
          ++rejected_;
          if (!batch.journal.empty()) ::unlink(batch.journal.c_str());
          break;
        case SendVerdict::kRetry:
        case SendVerdict::kUnauthorized:
          ++send_failures_;
          retry_at = Clock::now() + std::max(backoff_.Next(), asked);
          SpoolPayload(std::move(batch));
          break;
      }
    }

    // The spool, oldest first, while the collector takes it.
    while (!spool_->empty() && Clock::now() >= retry_at && !past_deadline()) {
      auto payload = spool_->Front();
      if (!payload) break;
      milliseconds asked{0};
      SendVerdict v = Send(*payload, &asked);
      if (v == SendVerdict::kRetry || v == SendVerdict::kUnauthorized) {
        ++send_failures_;
        retry_at = Clock::now() + std::max(backoff_.Next(), asked);
        break;
      }
      {
        std::lock_guard lock(mu_);
        if (Status s = spool_->Pop(); !s.ok()) spdlog::warn("shipper: {}", s.ToString());
      }
      if (v == SendVerdict::kDelivered) {
        ++shipped_;
        ++replayed_;
        backoff_.Reset();
      } else {
        ++rejected_;
      }
    }

    if (stopping) {
      std::lock_guard lock(mu_);
      if (queue_.empty() && spool_->empty()) break;
    }
  }
  std::lock_guard lock(mu_);
  if (!spool_->empty()) {
    spdlog::info("shipper: stopped with {} batches ({} bytes) in the {} spool", spool_->size(),
                 spool_->bytes(), spool_->on_disk() ? "disk" : "memory (lost)");
  }
}

}  // namespace jostle::agent
