// A real HTTP/1.1 receiver on 127.0.0.1 for the webhook tests: answers each request with
// the next scripted response and records what it received.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace jostle::collector::alerts::testing {

struct ReceivedRequest {
  std::string method;
  std::string target;                          // request target, e.g. "/hook"
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

struct ScriptedResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  bool never_answer = false;  // read the request, then hold the connection open silently
};

// An answer with `status` and `headers`.
inline ScriptedResponse Answer(int status,
                               std::vector<std::pair<std::string, std::string>> headers = {}) {
  ScriptedResponse r;
  r.status = status;
  r.headers = std::move(headers);
  return r;
}

// No answer at all: the connection stays open until the receiver is destroyed.
inline ScriptedResponse Silence() {
  ScriptedResponse r;
  r.never_answer = true;
  return r;
}

class LoopbackReceiver {
 public:
  // Requests are answered with `script` in order, then with `fallback`.
  explicit LoopbackReceiver(std::vector<ScriptedResponse> script = {},
                            ScriptedResponse fallback = {});
  ~LoopbackReceiver();
  LoopbackReceiver(const LoopbackReceiver&) = delete;
  LoopbackReceiver& operator=(const LoopbackReceiver&) = delete;

  bool listening() const { return listen_fd_ >= 0; }
  int port() const { return port_; }
  std::string Url(const std::string& path = "/hook") const;

  std::vector<ReceivedRequest> Requests() const;
  size_t RequestCount() const;
  // True once `n` requests were received, false after `timeout`.
  bool WaitForRequests(size_t n, std::chrono::milliseconds timeout) const;

 private:
  void AcceptLoop();
  void Serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<ScriptedResponse> script_;  // guarded by mu_
  size_t next_response_ = 0;              // guarded by mu_
  ScriptedResponse fallback_;
  std::vector<ReceivedRequest> requests_;  // guarded by mu_
  std::vector<std::thread> connections_;   // guarded by mu_
  std::thread acceptor_;
};

// A loopback port with nothing listening on it (bound, then closed).
int UnusedLoopbackPort();

}  // namespace jostle::collector::alerts::testing
