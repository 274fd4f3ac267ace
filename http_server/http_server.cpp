// Boost.Beast implementation of HttpServer. Each connection is a Session running on its own
// strand; a pool of threads runs the io_context, and handlers run on those threads.
#include "http_server/http_server.h"

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
#include <exception>
#include <list>
#include <mutex>
#include <thread>

namespace jostle {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Upper bound on how long a connection that is closed after an error response keeps
// reading (and discarding) what the client is still sending, so that the client sees the
// response instead of a reset.
constexpr auto kLingerTime = std::chrono::seconds(2);

}  // namespace

class Session;

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, Handler handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
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

  // Called by sessions (any thread).
  void Register(const std::shared_ptr<Session>& s);
  void Unregister();
  bool stopping() const { return stopping_.load(); }

  const HttpServerOptions options_;
  const Handler handler_;

  std::mutex mu_;
  std::condition_variable cv_;
  size_t active_ = 0;                           // live sessions; guarded by mu_
  std::list<std::weak_ptr<Session>> sessions_;  // guarded by mu_; pruned on Register
  bool stopped_ = false;                        // guarded by mu_
  std::atomic<bool> stopping_{false};
  uint16_t port_ = 0;
  std::string host_;

  asio::io_context ioc_;  // after the members sessions touch: destroyed first
  // Keeps the threads running until Stop has drained the connections, so that handlers
  // posted by Stop (closing idle connections) always run.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl* server)
      : stream_(std::move(socket)), server_(server) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }
  ~Session() { server_->Unregister(); }

  void Run(bool reject) {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this(), reject] {
      if (reject) {
        self->SendError(503, "unavailable", "too many connections", true);
      } else {
        self->ReadHeader();
      }
    });
  }

  // On the session's strand: closes the connection when it is idle between requests.
  void CloseIfIdle() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->waiting_ && self->parser_ && !self->parser_->got_some()) self->Close();
    });
  }

 private:
  void ReadHeader() {
    if (server_->stopping()) return Close();
    parser_.emplace();
    parser_->body_limit(server_->options_.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(server_->options_.max_header_bytes));
    const auto& o = server_->options_;
    stream_.expires_after(requests_ == 0 ? o.header_timeout : o.idle_timeout + o.header_timeout);
    waiting_ = true;
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    waiting_ = false;
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
    stream_.expires_after(server_->options_.read_timeout);
    auto& req = parser_->get();
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

    HttpServerResponse out;
    try {
      out = server_->handler_(req);
    } catch (const std::exception& e) {
      spdlog::error("http: handler for {} {} threw: {}", req.method, req.path, e.what());
      out = JsonError(500, "internal", std::string("handler failed: ") + e.what());
    } catch (...) {
      spdlog::error("http: handler for {} {} threw a non-standard exception", req.method, req.path);
      out = JsonError(500, "internal", "handler failed");
    }
    Send(std::move(out), version, keep_alive && !server_->stopping(), false);
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
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  HttpServer::Impl* server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  std::array<char, 64 * 1024> scratch_{};
  std::string remote_;
  bool waiting_ = false;  // waiting for the headers of a request; strand only
  size_t requests_ = 0;   // requests served on this connection; strand only
};

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
  int n = std::max(1, options_.threads);
  threads_.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { ioc_.run(); });
}

void HttpServer::Impl::DoAccept() {
  acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

void HttpServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping()) return;
  if (ec) {
    if (ec == asio::error::operation_aborted) return;
    spdlog::warn("http: accept failed: {}", ec.message());
  } else {
    bool reject;
    {
      std::lock_guard lock(mu_);
      reject = active_ >= options_.max_connections;
    }
    auto session = std::make_shared<Session>(std::move(socket), this);
    Register(session);
    session->Run(reject);
  }
  DoAccept();
}

void HttpServer::Impl::Register(const std::shared_ptr<Session>& s) {
  std::lock_guard lock(mu_);
  ++active_;
  sessions_.remove_if([](const std::weak_ptr<Session>& w) { return w.expired(); });
  sessions_.push_back(s);
}

void HttpServer::Impl::Unregister() {
  std::lock_guard lock(mu_);
  --active_;
  cv_.notify_all();
}

void HttpServer::Impl::Stop() {
  std::vector<std::shared_ptr<Session>> live;
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
    if (!cv_.wait_for(lock, options_.drain_timeout, [this] { return active_ == 0; })) {
      spdlog::warn("http: {} connections still busy after {} ms; closing them", active_,
                   options_.drain_timeout.count());
    }
  }
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
void HttpServer::Stop() {
  if (impl_) impl_->Stop();
}

}  // namespace jostle
