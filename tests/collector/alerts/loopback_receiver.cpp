#include "loopback_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace jostle::collector::alerts::testing {
namespace {

constexpr int kPollMs = 20;

int ListenLoopback(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 16) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Reads until `pred` holds or the peer closes or the receiver stops.
template <typename Pred>
bool ReadUntil(int fd, std::string& buffer, const std::atomic<bool>& stopping, Pred pred) {
  char chunk[4096];
  while (!pred()) {
    if (stopping) return false;
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, kPollMs);
    if (r < 0) return false;
    if (r == 0) continue;
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

LoopbackReceiver::LoopbackReceiver(std::vector<ScriptedResponse> script, ScriptedResponse fallback)
    : script_(std::move(script)), fallback_(std::move(fallback)) {
  listen_fd_ = ListenLoopback(&port_);
  if (listen_fd_ >= 0) acceptor_ = std::thread([this] { AcceptLoop(); });
}

LoopbackReceiver::~LoopbackReceiver() {
  stopping_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> connections;
  {
    std::lock_guard lock(mu_);
    connections.swap(connections_);
  }
  for (auto& t : connections) t.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

std::string LoopbackReceiver::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<ReceivedRequest> LoopbackReceiver::Requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

size_t LoopbackReceiver::RequestCount() const {
  std::lock_guard lock(mu_);
  return requests_.size();
}

bool LoopbackReceiver::WaitForRequests(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

void LoopbackReceiver::AcceptLoop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, kPollMs) <= 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mu_);
    connections_.emplace_back([this, fd] {
      Serve(fd);
      close(fd);
    });
  }
}

void LoopbackReceiver::Serve(int fd) {
  std::string buffer;
  size_t header_end = std::string::npos;
  if (!ReadUntil(fd, buffer, stopping_, [&] {
        header_end = buffer.find("\r\n\r\n");
        return header_end != std::string::npos;
      })) {
    return;
  }
  ReceivedRequest request;
  std::string head = buffer.substr(0, header_end);
  size_t line_end = head.find("\r\n");
  std::string request_line = head.substr(0, line_end);
  size_t sp1 = request_line.find(' ');
  size_t sp2 = request_line.find(' ', sp1 + 1);
  request.method = request_line.substr(0, sp1);
  request.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t next = head.find("\r\n", pos);
    if (next == std::string::npos) next = head.size();
    std::string line = head.substr(pos, next - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      request.headers[Lower(Trim(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
    }
    pos = next + 2;
  }
  size_t content_length = 0;
  if (auto it = request.headers.find("content-length"); it != request.headers.end()) {
    content_length = std::stoul(it->second);
  }
  const size_t body_start = header_end + 4;
  if (!ReadUntil(fd, buffer, stopping_,
                 [&] { return buffer.size() >= body_start + content_length; })) {
    return;
  }
  request.body = buffer.substr(body_start, content_length);

  ScriptedResponse response;
  {
    std::lock_guard lock(mu_);
    response = next_response_ < script_.size() ? script_[next_response_++] : fallback_;
    requests_.push_back(std::move(request));
  }
  cv_.notify_all();

  if (response.never_answer) {
    while (!stopping_) std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
    return;
  }
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " Scripted\r\n";
  for (const auto& [name, value] : response.headers) out += name + ": " + value + "\r\n";
  out += "Content-Length: 2\r\nConnection: close\r\n\r\nok";
  size_t sent = 0;
  while (sent < out.size()) {
    ssize_t n = write(fd, out.data() + sent, out.size() - sent);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

int UnusedLoopbackPort() {
  int port = 0;
  int fd = ListenLoopback(&port);
  if (fd >= 0) close(fd);
  return port;
}

}  // namespace jostle::collector::alerts::testing
