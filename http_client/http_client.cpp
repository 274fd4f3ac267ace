#include "http_client/http_client.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <mutex>

namespace jostle::http {
namespace {

std::once_flag curl_init_once;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// State shared with the curl callbacks of one transfer.
struct Transfer {
  const std::function<bool(std::string_view)>* sink = nullptr;
  HttpResponse* response = nullptr;
  const std::atomic<bool>* cancelled = nullptr;
  CURL* easy = nullptr;
  bool stopped_by_caller = false;
  bool stopped_by_cancel = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (transfer->cancelled->load()) {
    transfer->stopped_by_cancel = true;
    return 0;  // fewer bytes than given: curl ends the transfer
  }
  if (transfer->response->status == 0) {
    long code = 0;
    curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &code);
    transfer->response->status = code;
  }
  if (!(*transfer->sink)(std::string_view(data, n))) {
    transfer->stopped_by_caller = true;
    return 0;  // fewer bytes than given: curl ends the transfer
  }
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = size * count;
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    // A new response begins (after 100 Continue or a redirect): forget earlier headers.
    transfer->response->headers.clear();
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  transfer->response->headers.emplace_back(std::string(Trim(line.substr(0, colon))),
                                           std::string(Trim(line.substr(colon + 1))));
  return n;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* transfer = static_cast<Transfer*>(user);
  if (transfer->cancelled->load()) {
    transfer->stopped_by_cancel = true;
    return 1;  // aborts the transfer
  }
  return 0;
}

bool IsSecretParam(std::string_view name) {
  return EqualsIgnoreCase(name, "token") || EqualsIgnoreCase(name, "access_token") ||
         EqualsIgnoreCase(name, "password") || EqualsIgnoreCase(name, "key");
}

}  // namespace

std::string_view HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return {};
}

std::string MaskSecrets(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  constexpr std::string_view kBearer = "Bearer ";
  while (i < text.size()) {
    if (text.size() - i >= kBearer.size() &&
        EqualsIgnoreCase(text.substr(i, kBearer.size()), kBearer)) {
      out.append(text.substr(i, kBearer.size()));
      i += kBearer.size();
      size_t end = i;
      while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])) &&
             text[end] != '"' && text[end] != ',') {
        ++end;
      }
      if (end > i) out.append("***");
      i = end;
      continue;
    }
    const char c = text[i];
    out.push_back(c);
    ++i;
    if (c == '?' || c == '&') {
      // A query parameter starts here: mask its value when its name says it is a secret.
      size_t eq = i;
      while (eq < text.size() && text[eq] != '=' && text[eq] != '&' && text[eq] != ' ') ++eq;
      if (eq < text.size() && text[eq] == '=' && IsSecretParam(text.substr(i, eq - i))) {
        out.append(text.substr(i, eq - i + 1));
        size_t end = eq + 1;
        while (end < text.size() && text[end] != '&' && text[end] != '#' &&
               !std::isspace(static_cast<unsigned char>(text[end]))) {
          ++end;
        }
        out.append("***");
        i = end;
      }
    }
  }
  return out;
}

struct HttpClient::Handles {
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
  ~Handles() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (multi != nullptr) curl_multi_cleanup(multi);
  }
};

HttpClient::HttpClient() : handles_(std::make_unique<Handles>()) {
  std::call_once(curl_init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  handles_->multi = curl_multi_init();
  handles_->easy = curl_easy_init();
}

HttpClient::~HttpClient() = default;

void HttpClient::Cancel() {
  cancelled_.store(true);
  if (handles_->multi != nullptr) curl_multi_wakeup(handles_->multi);
}

Result<HttpResponse> HttpClient::Send(const HttpRequest& request) {
  HttpResponse response;
  bool too_large = false;
  std::function<bool(std::string_view)> sink = [&](std::string_view chunk) {
    if (response.body.size() + chunk.size() > request.max_body_bytes) {
      too_large = true;
      return false;
    }
    response.body.append(chunk);
    return true;
  };
  Status status = Perform(request, sink, &response);
  if (!status.ok()) return status;
  if (too_large) {
    return Status::ResourceExhausted(request.method + " " + MaskSecrets(request.url) +
                                     ": response body exceeds " +
                                     std::to_string(request.max_body_bytes) + " bytes");
  }
  return response;
}

Status HttpClient::Stream(const HttpRequest& request,
                          const std::function<bool(std::string_view)>& on_data, long* status_out) {
  HttpResponse response;
  std::function<bool(std::string_view)> sink = [&](std::string_view chunk) {
    if (status_out != nullptr) *status_out = response.status;
    return on_data(chunk);
  };
  Status status = Perform(request, sink, &response);
  if (status_out != nullptr) *status_out = response.status;
  return status;
}

Status HttpClient::Perform(const HttpRequest& request,
                           const std::function<bool(std::string_view)>& sink,
                           HttpResponse* response) {
  const std::string where = request.method + " " + MaskSecrets(request.url);
  if (handles_->multi == nullptr || handles_->easy == nullptr) {
    return Status::Internal(where + ": libcurl handles could not be created");
  }
  if (cancelled_.load()) return Status::Unavailable(where + ": cancelled");

  CURL* easy = handles_->easy;
  // Reset keeps the connection cache (held by the multi handle) and the DNS cache.
  curl_easy_reset(easy);
  char error_buffer[CURL_ERROR_SIZE] = {0};
  Transfer transfer;
  transfer.sink = &sink;
  transfer.response = response;
  transfer.cancelled = &cancelled_;
  transfer.easy = easy;

  curl_slist* header_list = nullptr;
  for (const auto& [name, value] : request.headers) {
    header_list = curl_slist_append(header_list, (name + ": " + value).c_str());
  }
  if (!request.bearer_token.empty()) {
    header_list =
        curl_slist_append(header_list, ("Authorization: Bearer " + request.bearer_token).c_str());
  }
  // No "Expect: 100-continue" round trip before large bodies.
  header_list = curl_slist_append(header_list, "Expect:");

  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, header_list);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(request.connect_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  if (!request.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, request.ca_file.c_str());
  if (request.method == "GET") {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else {
    if (request.method != "POST") {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    if (request.method == "POST" || !request.body.empty()) {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
  }

  const auto started = std::chrono::steady_clock::now();
  CURLcode code = CURLE_OK;
  CURLMcode mcode = curl_multi_add_handle(handles_->multi, easy);
  if (mcode != CURLM_OK) {
    curl_slist_free_all(header_list);
    return Status::Internal(where + ": curl_multi_add_handle: " + curl_multi_strerror(mcode));
  }
  bool done = false;
  while (!done) {
    int running = 0;
    mcode = curl_multi_perform(handles_->multi, &running);
    if (mcode != CURLM_OK) break;
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(handles_->multi, &queued)) {
      if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) {
        code = msg->data.result;
        done = true;
      }
    }
    if (done) break;
    if (cancelled_.load()) {
      transfer.stopped_by_cancel = true;
      break;
    }
    mcode = curl_multi_poll(handles_->multi, nullptr, 0, 1000, nullptr);
    if (mcode != CURLM_OK) break;
  }
  curl_multi_remove_handle(handles_->multi, easy);
  curl_slist_free_all(header_list);
  if (response->status == 0) {
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    response->status = status;
  }
  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - started)
                              .count();

  if (transfer.stopped_by_cancel) {
    spdlog::debug("http: {}: cancelled after {} ms", where, elapsed_ms);
    return Status::Unavailable(where + ": cancelled");
  }
  if (mcode != CURLM_OK) {
    return Status::Internal(where + ": " + curl_multi_strerror(mcode));
  }
  if (transfer.stopped_by_caller && code == CURLE_WRITE_ERROR) code = CURLE_OK;
  if (code != CURLE_OK) {
    std::string message = where + ": " + curl_easy_strerror(code);
    if (error_buffer[0] != '\0') message += std::string(" (") + error_buffer + ")";
    spdlog::debug("http: {} after {} ms", message, elapsed_ms);
    switch (code) {
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_BAD_FUNCTION_ARGUMENT:
      case CURLE_SSL_CACERT_BADFILE:
        return Status::InvalidArgument(std::move(message));
      default:
        return Status::Unavailable(std::move(message));
    }
  }
  spdlog::debug("http: {} -> {} in {} ms", where, response->status, elapsed_ms);
  return Status::Ok();
}

}  // namespace jostle::http
