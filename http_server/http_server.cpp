// Boost.Beast implementation of HttpServer. Each connection is a Session running on its own
// strand; `io_threads` threads run the io_context (accept, read, write) and a WorkerPool runs
// the handlers, so a slow handler never holds a network thread.
#include "http_server/http_server.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <deque>
#include <exception>
#include <future>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace jostle {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

// Upper bound on how long a connection that is closed after an error response keeps
// reading (and discarding) what the client is still sending, so that the client sees the
// response instead of a reset.
constexpr auto kLingerTime = std::chrono::seconds(2);
// Refused connections being answered at once; beyond, a refused connection is closed
// without an answer (it costs a write each).
constexpr size_t kMaxRefusing = 256;
// How often, at most, the sessions are scanned for ones to close under pressure.
constexpr auto kPressureScanEvery = std::chrono::milliseconds(50);

// After a request body this large (an upload, parsed by its handler), free heap memory is
// handed back to the system, so that one upload's peak does not stay in the RSS.
constexpr size_t kLargeBodyBytes = 1u << 20;

void ReleaseFreeMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             SteadyClock::now().time_since_epoch())
      .count();
}

// Runs jobs on `workers` threads; at most `max_queued` jobs wait. Thread-safe.
class WorkerPool {
 public:
  WorkerPool(int workers, size_t max_queued) : max_queued_(max_queued) {
    int n = std::max(1, workers);
    threads_.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) threads_.emplace_back([this] { Work(); });
  }
  ~WorkerPool() { Stop(); }

  // False (and `job` not kept) when max_queued jobs wait already or the pool stopped.
  bool TrySubmit(std::function<void()>& job) {
    {
      std::lock_guard lock(mu_);
      if (stopped_ || jobs_.size() >= max_queued_ + idle_) return false;
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
    return true;
  }

  // Lets the jobs running finish, drops the queued ones, joins the threads. Idempotent.
  void Stop() {
    std::deque<std::function<void()>> dropped;
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
      dropped.swap(jobs_);
    }
    cv_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void Work() {
    std::unique_lock lock(mu_);
    for (;;) {
      ++idle_;
      cv_.wait(lock, [this] { return stopped_ || !jobs_.empty(); });
      --idle_;
      if (stopped_) return;
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      job = nullptr;  // what the job holds goes before the lock is taken again
      lock.lock();
    }
  }

  const size_t max_queued_;
  std::mutex mu_;  // guards jobs_, idle_, stopped_
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  size_t idle_ = 0;  // workers waiting for a job: a job for one of them is not queued
  bool stopped_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace

// What the server sees of a session from other threads.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Closes the connection (on its strand) when it is idle between requests.
  virtual void CloseIfIdle() = 0;
  // Closes the connection (on its strand) when it still waits for the headers of the
  // request it waited for at `since_ms`.
  virtual void CloseIfWaitingSince(int64_t since_ms) = 0;

  // SteadyMs() when the session began waiting for a request's headers, 0 when it is not
  // waiting (a request is being read, handled or answered). Written on the strand.
  std::atomic<int64_t> waiting_since_ms{0};
};

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, Handler handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        inline_paths_(options_.inline_paths.begin(), options_.inline_paths.end()),
        pool_(options_.workers, options_.max_queued),
        acceptor_(asio::make_strand(ioc_)) {}

  ~Impl() {
    Stop();
    // Destroy pending handlers (and the sessions they own) while the members they touch
    // are still alive.
    acceptor_.close();
  }

  Status Listen(const std::string& host, uint16_t port);
  void Run();
  void Stop();
  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);

  enum class Admission { kServe, kRefuse, kDrop };
  // Whether a new connection from `address` is served, refused with 503 (`*why` says why)
  // or closed unanswered (too many refusals in flight). Counts refusals.
  Admission Admit(const std::string& address, const char** why);
  // Near the cap: asks sessions that wait too long for headers to close. Any thread.
  void RelievePressure();

  // Called by sessions (any thread).
  void Register(const std::shared_ptr<SessionBase>& s, const std::string& address);
  void Unregister(const std::string& address);
  void UnregisterRefused();
  bool stopping() const { return stopping_.load(); }
  bool IsInline(const std::string& path) const { return inline_paths_.count(path) > 0; }
  HttpServerResponse CallHandler(const HttpServerRequest& req) const;
  // Runs `job` on a worker; false when the queue is full.
  bool Submit(std::function<void()> job) {
    if (pool_.TrySubmit(job)) return true;
    ++rejected_busy_;
    return false;
  }

  const HttpServerOptions options_;
  const Handler handler_;
  const std::unordered_set<std::string> inline_paths_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  size_t active_ = 0;    // live admitted sessions; guarded by mu_
  size_t refusing_ = 0;  // refused sessions still answering; guarded by mu_
  // Admitted sessions per client IP address (entries > 0 only); guarded by mu_.
  std::unordered_map<std::string, size_t> per_address_;
  std::list<std::weak_ptr<SessionBase>> sessions_;  // guarded by mu_; pruned on Register
  bool stopped_ = false;                            // guarded by mu_
  int64_t last_pressure_scan_ms_ = 0;               // guarded by mu_
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> rejected_global_{0}, rejected_per_address_{0}, closed_under_pressure_{0},
      rejected_busy_{0};
  uint16_t port_ = 0;
  std::string host_;

  WorkerPool pool_;       // joined in Stop, before the io_context stops
  asio::io_context ioc_;  // after the members sessions touch: destroyed first
  // Keeps the threads running until Stop has drained the connections, so that handlers
  // posted by Stop (closing idle connections) always run.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
};

class Session : public SessionBase, public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::string address, HttpServer::Impl* server)
      : stream_(std::move(socket)), server_(server), address_(std::move(address)) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    remote_ = ec ? address_ : address_ + ":" + std::to_string(ep.port());
  }
  ~Session() override {
    if (refused_) {
      server_->UnregisterRefused();
    } else {
      server_->Unregister(address_);
    }
  }

  // `refusal`: why the connection is answered 503 and closed; nullptr to serve it.
  void Run(const char* refusal) {
    refused_ = refusal != nullptr;
    asio::dispatch(stream_.get_executor(), [self = shared_from_this(), refusal] {
      if (refusal != nullptr) {
        self->Refuse(refusal);
      } else {
        self->ReadHeader();
      }
    });
  }

  void CloseIfIdle() override {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->waiting_since_ms.load() != 0 && self->parser_ && !self->parser_->got_some()) {
        self->Close();
      }
    });
  }

  void CloseIfWaitingSince(int64_t since_ms) override {
    asio::post(stream_.get_executor(), [self = shared_from_this(), since_ms] {
      if (self->waiting_since_ms.load() == since_ms) {
        ++self->server_->closed_under_pressure_;
        self->Close();
      }
    });
  }

 private:
  void Refuse(const char* why) {
    auto out = JsonError(503, "unavailable", why);
    out.headers.emplace_back("Retry-After", std::to_string(server_->options_.retry_after_s));
    Send(std::move(out), 11, false, false);
  }

  void ReadHeader() {
    if (server_->stopping()) return Close();
    parser_.emplace();
    parser_->body_limit(server_->options_.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(server_->options_.max_header_bytes));
    const auto& o = server_->options_;
    stream_.expires_after(requests_ == 0 ? o.header_timeout : o.idle_timeout + o.header_timeout);
    waiting_since_ms = SteadyMs();
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    waiting_since_ms = 0;
    if (ec == http::error::body_limit) {
      return SendError(
          413, "too large",
          "request body exceeds " + std::to_string(server_->options_.max_body_bytes) + " bytes",
          true);
    }
    if (ec == http::error::header_limit) {
      return SendError(431, "headers too large", "request header block is too large", true);
    }
    // On timeout beast::tcp_stream has closed the socket already: nothing can be answered.
    if (ec == beast::error::timeout) return Close();
    if (ec) {
      if (ec != http::error::end_of_stream && ec != asio::error::operation_aborted &&
          ec != asio::error::connection_reset && ec != asio::error::eof &&
          ec != asio::error::bad_descriptor) {
        if (parser_->got_some()) return SendError(400, "malformed", ec.message(), true);
      }
      return Close();
    }
    auto length = parser_->content_length();
    if (length && *length > server_->options_.max_body_bytes) {
      return SendError(413, "too large",
                       "Content-Length " + std::to_string(*length) + " exceeds " +
                           std::to_string(server_->options_.max_body_bytes) + " bytes",
                       true);
    }
    auto& req = parser_->get();
    if (auto te = req.equal_range(http::field::transfer_encoding); te.first != te.second) {
      // Beast reads a body as chunked only when the last coding is chunked and otherwise
      // takes the request to have none: refuse what another hop could frame differently.
      std::string joined;
      for (auto it = te.first; it != te.second; ++it) {
        if (!joined.empty()) joined += ", ";
        joined += std::string(it->value());
      }
      if (Status s = CheckTransferEncoding(joined); !s.ok()) {
        bool unsupported = s.code() == Status::Code::kUnsupported;
        return SendError(unsupported ? 501 : 400, unsupported ? "not implemented" : "malformed",
                         s.message(), true);
      }
      if (req.find(http::field::content_length) != req.end()) {
        return SendError(400, "malformed", "both Transfer-Encoding and Content-Length", true);
      }
    }
    stream_.expires_after(server_->options_.read_timeout);
    auto expect = req[http::field::expect];
    if (!parser_->is_done() && beast::iequals(expect, "100-continue")) {
      continue_.emplace(http::status::continue_, req.version());
      return http::async_write(stream_, *continue_,
                               [self = shared_from_this()](beast::error_code ec, size_t) {
                                 if (ec) return self->Close();
                                 self->ReadBody();
                               });
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return SendError(
          413, "too large",
          "request body exceeds " + std::to_string(server_->options_.max_body_bytes) + " bytes",
          true);
    }
    if (ec == beast::error::timeout) return Close();
    if (ec) {
      if (ec == http::error::end_of_stream || ec == asio::error::eof ||
          ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
        return Close();
      }
      return SendError(400, "malformed", std::string("bad request: ") + ec.message(), true);
    }
    ++requests_;
    auto& msg = parser_->get();
    HttpServerRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.remote = remote_;
    Status split = SplitTarget(req.target, &req.path, &req.query);
    if (!split.ok()) return SendError(400, "malformed", split.message(), !msg.keep_alive());
    for (const auto& field : msg) {
      std::string name(field.name_string());
      auto [it, inserted] = req.headers.emplace(name, std::string(field.value()));
      if (!inserted) it->second += ", " + std::string(field.value());
    }
    req.body = std::move(msg.body());
    bool keep_alive = msg.keep_alive();
    unsigned version = msg.version();
    Dispatch(std::move(req), version, keep_alive);
  }

  // Answers `req` on this thread (inline paths) or on a worker, then sends the answer on
  // the session's strand.
  void Dispatch(HttpServerRequest req, unsigned version, bool keep_alive) {
    if (server_->IsInline(req.path)) {
      HttpServerResponse out = server_->CallHandler(req);
      if (out.stream) GatherBody(out);
      return Send(std::move(out), version, keep_alive && !server_->stopping(), false);
    }
    auto shared = std::make_shared<HttpServerRequest>(std::move(req));
    bool queued = server_->Submit([self = shared_from_this(), shared, version, keep_alive] {
      auto out = std::make_shared<HttpServerResponse>(self->server_->CallHandler(*shared));
      if (shared->body.size() >= kLargeBodyBytes) {
        shared->body = std::string();
        ReleaseFreeMemory();
      }
      if (out->stream) return self->Stream(*shared, std::move(*out), version, keep_alive);
      asio::post(self->stream_.get_executor(), [self, out, version, keep_alive] {
        self->Send(std::move(*out), version, keep_alive && !self->server_->stopping(), false);
      });
    });
    if (queued) return;
    auto busy = JsonError(503, "unavailable", "server busy: every worker is taken; retry later");
    busy.headers.emplace_back("Retry-After", std::to_string(server_->options_.retry_after_s));
    Send(std::move(busy), version, keep_alive && !server_->stopping(), false);
  }

  // Runs out.stream on this worker thread: the header, then each piece, then the last
  // chunk are written on the strand while this thread waits for each write to finish.
  void Stream(const HttpServerRequest& req, HttpServerResponse out, unsigned version,
              bool keep_alive) {
    const bool chunked = version >= 11;
    keep_alive = keep_alive && chunked && !server_->stopping();
    auto header = std::make_shared<http::response<http::empty_body>>();
    header->version(version);
    header->result(static_cast<unsigned>(out.status));
    header->set(http::field::server, server_->options_.server_name);
    if (!out.content_type.empty()) header->set(http::field::content_type, out.content_type);
    for (auto& [k, v] : out.headers) header->insert(k, v);
    header->keep_alive(keep_alive);
    if (chunked) header->chunked(true);
    auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*header);
    bool ok = OnStrand([header, serializer](Session& s, std::function<void(bool)> done) {
      s.stream_.expires_after(s.server_->options_.write_timeout);
      http::async_write_header(
          s.stream_, *serializer,
          [header, serializer, done](beast::error_code ec, size_t) { done(!ec); });
    });
    StreamWriter writer(*this, chunked, ok);
    if (ok) {
      try {
        out.stream(writer);
      } catch (const std::exception& e) {
        spdlog::error("http: body of {} {} failed: {}", req.method, req.path, e.what());
        writer.Fail();
      }
    }
    // What the producer holds goes before the client sees the end of the body.
    out.stream = nullptr;
    bool finished = writer.ok() && (!chunked || OnStrand([](Session& s, auto done) {
                      s.stream_.expires_after(s.server_->options_.write_timeout);
                      asio::async_write(s.stream_, http::make_chunk_last(),
                                        [done](beast::error_code ec, size_t) { done(!ec); });
                    }));
    asio::post(stream_.get_executor(), [self = shared_from_this(), finished, keep_alive] {
      if (finished && keep_alive) return self->ReadHeader();
      self->Close();
    });
  }

  // Posts `op` to the strand and waits until it calls its `done` with the outcome. False
  // when the outcome is a failure or does not come within write_timeout and a second.
  bool OnStrand(std::function<void(Session&, std::function<void(bool)>)> op) {
    auto result = std::make_shared<std::promise<bool>>();
    auto future = result->get_future();
    asio::post(stream_.get_executor(), [self = shared_from_this(), op = std::move(op), result] {
      op(*self, [result](bool ok) { result->set_value(ok); });
    });
    auto wait = server_->options_.write_timeout + std::chrono::seconds(1);
    return future.wait_for(wait) == std::future_status::ready && future.get();
  }

  class StreamWriter : public BodyWriter {
   public:
    StreamWriter(Session& session, bool chunked, bool ok)
        : session_(session), chunked_(chunked), ok_(ok) {}
    bool Write(std::string_view data) override {
      if (!ok_ || data.empty()) return ok_;
      auto piece = std::make_shared<std::string>(data);
      bool chunked = chunked_;
      ok_ = session_.OnStrand([piece, chunked](Session& s, std::function<void(bool)> done) {
        s.stream_.expires_after(s.server_->options_.write_timeout);
        auto finish = [piece, done](beast::error_code ec, size_t) { done(!ec); };
        if (chunked)
          return asio::async_write(s.stream_, http::make_chunk(asio::buffer(*piece)), finish);
        asio::async_write(s.stream_, asio::buffer(*piece), finish);
      });
      return ok_;
    }
    bool ok() const { return ok_; }
    void Fail() { ok_ = false; }

   private:
    Session& session_;
    const bool chunked_;
    bool ok_;
  };

  // For inline paths: runs out.stream into out.body.
  static void GatherBody(HttpServerResponse& out) {
    struct Gather : BodyWriter {
      std::string* body;
      bool Write(std::string_view data) override {
        body->append(data);
        return true;
      }
    } gather;
    gather.body = &out.body;
    out.stream(gather);
    out.stream = nullptr;
  }

  void SendError(int status, std::string_view error, const std::string& detail, bool close) {
    unsigned version = parser_ ? parser_->get().version() : 11;
    if (version == 0) version = 11;
    Send(JsonError(status, error, detail), version, !close, close);
  }

  // Writes `out`; then reads the next request (keep_alive), or closes (lingering when the
  // client may still be sending a body we did not read).
  void Send(HttpServerResponse out, unsigned version, bool keep_alive, bool linger) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(version);
    res->result(static_cast<unsigned>(out.status));
    res->set(http::field::server, server_->options_.server_name);
    if (!out.content_type.empty()) res->set(http::field::content_type, out.content_type);
    for (auto& [k, v] : out.headers) res->insert(k, v);
    res->body() = std::move(out.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    stream_.expires_after(server_->options_.write_timeout);
    http::async_write(
        stream_, *res,
        [self = shared_from_this(), res, keep_alive, linger](beast::error_code ec, size_t) {
          if (ec) return self->Close();
          if (keep_alive) return self->ReadHeader();
          if (linger) return self->Linger();
          self->Close();
        });
  }

  void Linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    stream_.expires_after(kLingerTime);
    DiscardSome();
  }

  void DiscardSome() {
    stream_.async_read_some(asio::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->DiscardSome();
                            });
  }

  void Close() {
    waiting_since_ms = 0;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  HttpServer::Impl* server_;
  const std::string address_;  // the client's IP address
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  std::array<char, 64 * 1024> scratch_{};
  std::string remote_;    // address:port
  bool refused_ = false;  // set before the session runs
  size_t requests_ = 0;   // requests served on this connection; strand only
};

HttpServerResponse HttpServer::Impl::CallHandler(const HttpServerRequest& req) const {
  try {
    return handler_(req);
  } catch (const std::exception& e) {
    spdlog::error("http: handler for {} {} threw: {}", req.method, req.path, e.what());
    return JsonError(500, "internal", std::string("handler failed: ") + e.what());
  } catch (...) {
    spdlog::error("http: handler for {} {} threw a non-standard exception", req.method, req.path);
    return JsonError(500, "internal", "handler failed");
  }
}

Status HttpServer::Impl::Listen(const std::string& host, uint16_t port) {
  beast::error_code ec;
  auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) {
    return Status::InvalidArgument("listen address '" + host +
                                   "' is not an IP address: " + ec.message());
  }
  tcp::endpoint endpoint(address, port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IOError("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                           ec.message());
  }
  port_ = acceptor_.local_endpoint(ec).port();
  host_ = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return Status::Ok();
}

void HttpServer::Impl::Run() {
  work_.emplace(ioc_.get_executor());
  DoAccept();
  int n = std::max(1, options_.io_threads);
  threads_.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { ioc_.run(); });
}

void HttpServer::Impl::DoAccept() {
  acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

HttpServer::Impl::Admission HttpServer::Impl::Admit(const std::string& address, const char** why) {
  std::lock_guard lock(mu_);
  const size_t cap = options_.max_connections;
  auto it = per_address_.find(address);
  const size_t held = it == per_address_.end() ? 0 : it->second;
  *why = nullptr;
  if (active_ >= cap) {
    *why = "too many connections";
    ++rejected_global_;
  } else if (options_.max_connections_per_address > 0 &&
             held >= options_.max_connections_per_address) {
    *why = "too many connections from this address";
    ++rejected_per_address_;
  } else if (held >= 2 && active_ >= cap - cap / 8) {
    // The last eighth is for addresses that hold fewer than two (probes, other clients).
    *why = "too many connections";
    ++rejected_global_;
  }
  if (*why == nullptr) return Admission::kServe;
  if (refusing_ >= kMaxRefusing) return Admission::kDrop;
  ++refusing_;
  return Admission::kRefuse;
}

void HttpServer::Impl::RelievePressure() {
  std::vector<std::pair<std::shared_ptr<SessionBase>, int64_t>> victims;
  int64_t now = SteadyMs();
  {
    std::lock_guard lock(mu_);
    size_t cap = options_.max_connections;
    if (active_ < cap - cap / 4 || now - last_pressure_scan_ms_ < kPressureScanEvery.count()) {
      return;
    }
    last_pressure_scan_ms_ = now;
    int64_t limit = options_.pressure_header_timeout.count();
    for (auto& w : sessions_) {
      auto s = w.lock();
      if (!s) continue;
      int64_t since = s->waiting_since_ms.load();
      if (since != 0 && now - since >= limit) victims.emplace_back(std::move(s), since);
    }
  }
  for (auto& [s, since] : victims) s->CloseIfWaitingSince(since);
}

void HttpServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping()) return;
  if (ec) {
    if (ec == asio::error::operation_aborted) return;
    spdlog::warn("http: accept failed: {}", ec.message());
  } else {
    RelievePressure();
    beast::error_code ep_ec;
    auto endpoint = socket.remote_endpoint(ep_ec);
    std::string address = ep_ec ? std::string() : endpoint.address().to_string();
    const char* why = nullptr;
    switch (Admit(address, &why)) {
      case Admission::kDrop:
        socket.close(ep_ec);  // too many refusals being answered: no answer for this one
        break;
      case Admission::kRefuse:
        std::make_shared<Session>(std::move(socket), std::move(address), this)->Run(why);
        break;
      case Admission::kServe: {
        auto session = std::make_shared<Session>(std::move(socket), address, this);
        Register(session, address);
        session->Run(nullptr);
        break;
      }
    }
  }
  DoAccept();
}

void HttpServer::Impl::Register(const std::shared_ptr<SessionBase>& s, const std::string& address) {
  std::lock_guard lock(mu_);
  ++active_;
  ++per_address_[address];
  sessions_.remove_if([](const std::weak_ptr<SessionBase>& w) { return w.expired(); });
  sessions_.push_back(s);
}

void HttpServer::Impl::Unregister(const std::string& address) {
  std::lock_guard lock(mu_);
  --active_;
  auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
  cv_.notify_all();
}

void HttpServer::Impl::UnregisterRefused() {
  std::lock_guard lock(mu_);
  --refusing_;
  cv_.notify_all();
}

void HttpServer::Impl::Stop() {
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
    for (auto& w : sessions_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  asio::post(acceptor_.get_executor(), [this] {
    beast::error_code ec;
    acceptor_.close(ec);
  });
  for (auto& s : live) s->CloseIfIdle();
  live.clear();
  {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, options_.drain_timeout,
                      [this] { return active_ == 0 && refusing_ == 0; })) {
      spdlog::warn("http: {} connections still busy after {} ms; closing them", active_,
                   options_.drain_timeout.count());
    }
  }
  pool_.Stop();
  work_.reset();
  ioc_.stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() { Stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options, Handler handler) {
  if (!handler) return Status::InvalidArgument("http server: no handler");
  auto addr = ParseListenAddress(options.listen);
  if (!addr.ok()) return addr.status();
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler));
  try {
    JOSTLE_RETURN_IF_ERROR(impl->Listen(addr->first, addr->second));
    impl->Run();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("http server start: ") + e.what());
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

uint16_t HttpServer::port() const { return impl_->port_; }
std::string HttpServer::address() const {
  return impl_->host_ + ":" + std::to_string(impl_->port_);
}
HttpServerStats HttpServer::stats() const {
  HttpServerStats s;
  {
    std::lock_guard lock(impl_->mu_);
    s.connections = impl_->active_;
  }
  s.rejected_global = impl_->rejected_global_;
  s.rejected_per_address = impl_->rejected_per_address_;
  s.closed_under_pressure = impl_->closed_under_pressure_;
  s.rejected_busy = impl_->rejected_busy_;
  return s;
}
void HttpServer::Stop() {
  if (impl_) impl_->Stop();
}

}  // namespace jostle
