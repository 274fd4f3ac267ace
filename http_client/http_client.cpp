#include "http_client/http_client.h"

#include <curl/curl.h>  // types and constants only: the functions come from CurlApi
#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>

namespace jostle::http {
namespace {

// The libcurl functions this file calls, by name without the "curl_" prefix. libcurl is not
// linked: the first request dlopen()s it, so a process that never sends one (the agent with
// --output and --kube off) does not map libcurl and the ~30 libraries it pulls in (OpenSSL,
// GnuTLS, Kerberos, LDAP, libssh2...): about 6 MiB of resident memory once they are loaded.
#define JOSTLE_CURL_FUNCTIONS(X) \
  X(global_init)                 \
  X(easy_init)                   \
  X(easy_cleanup)                \
  X(easy_reset)                  \
  X(easy_setopt)                 \
  X(easy_getinfo)                \
  X(easy_strerror)               \
  X(slist_append)                \
  X(slist_free_all)              \
  X(multi_init)                  \
  X(multi_cleanup)               \
  X(multi_add_handle)            \
  X(multi_remove_handle)         \
  X(multi_perform)               \
  X(multi_poll)                  \
  X(multi_wakeup)                \
  X(multi_info_read)             \
  X(multi_strerror)

// Pointers to libcurl's functions with the signatures of <curl/curl.h> (easy_setopt and
// easy_getinfo stay variadic).
struct CurlApi {
#define JOSTLE_CURL_FIELD(name) decltype(&curl_##name) name = nullptr;
  JOSTLE_CURL_FUNCTIONS(JOSTLE_CURL_FIELD)
#undef JOSTLE_CURL_FIELD
};

constexpr const char* kLibcurlSoname = "libcurl.so.4";

// libcurl as the first request of the process found it: `api` is complete when `status` is
// Ok. The library stays loaded until exit (easy and multi handles may live that long).
struct LoadedLibcurl {
  CurlApi api;
  Status status;
};

std::string LastDlError() {
  const char* error = dlerror();
  return error != nullptr ? error : "unknown dlerror";
}

template <typename Function>
bool Resolve(void* library, const char* name, Function* out, std::string* error) {
  dlerror();  // clears an earlier error
  void* symbol = dlsym(library, name);
  if (symbol == nullptr) {
    *error = LastDlError();
    return false;
  }
  *out = reinterpret_cast<Function>(symbol);
  return true;
}

LoadedLibcurl LoadLibcurl() {
  LoadedLibcurl loaded;
  const std::string failed = std::string(kLibcurlSoname) + " could not be loaded: ";
  void* library = dlopen(kLibcurlSoname, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    loaded.status = Status::Unavailable(failed + LastDlError() + "; install libcurl4");
  } else {
    std::string error;
    bool resolved = true;  // stops at the first missing function; `error` names it
#define JOSTLE_CURL_RESOLVE(name) \
  resolved = resolved && Resolve(library, "curl_" #name, &loaded.api.name, &error);
    JOSTLE_CURL_FUNCTIONS(JOSTLE_CURL_RESOLVE)
#undef JOSTLE_CURL_RESOLVE
    if (!resolved) {
      // Not closed: a partly resolved library is never used, and unloading it gains nothing.
      loaded.api = CurlApi{};
      loaded.status = Status::Unavailable(failed + error + "; install libcurl4 (7.68 or later)");
    }
  }
  if (!loaded.status.ok()) {
    spdlog::error("http: {}; every outbound HTTP request fails", loaded.status.message());
    return loaded;
  }
  if (CURLcode code = loaded.api.global_init(CURL_GLOBAL_DEFAULT); code != CURLE_OK) {
    spdlog::warn("http: curl_global_init: {}", loaded.api.easy_strerror(code));
  }
  return loaded;
}

// Loads libcurl at the first call; thread-safe (a function-local static), and failures are
// logged once, by that first call. Never destroyed, so a client destroyed during static
// destruction can still clean up its handles.
const LoadedLibcurl& Libcurl() {
  static const LoadedLibcurl* const loaded = new LoadedLibcurl(LoadLibcurl());
  return *loaded;
}

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
  const CurlApi* curl = nullptr;
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
    transfer->curl->easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &code);
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

// Created by the first request (so libcurl is loaded whenever one is non-null), on the
// client's thread. `multi` is also read by Cancel() from any thread.
struct HttpClient::Handles {
  std::atomic<CURLM*> multi{nullptr};
  CURL* easy = nullptr;
  ~Handles() {
    if (easy != nullptr) Libcurl().api.easy_cleanup(easy);
    if (CURLM* m = multi.load(); m != nullptr) Libcurl().api.multi_cleanup(m);
  }
};

HttpClient::HttpClient() : handles_(std::make_unique<Handles>()) {}

HttpClient::~HttpClient() = default;

void HttpClient::Cancel() {
  cancelled_.store(true);
  // A Perform that stores `multi` after this load sees `cancelled_` before it polls.
  if (CURLM* multi = handles_->multi.load(); multi != nullptr) {
    Libcurl().api.multi_wakeup(multi);
  }
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
  if (cancelled_.load()) return Status::Unavailable(where + ": cancelled");
  const LoadedLibcurl& libcurl = Libcurl();
  if (!libcurl.status.ok()) return libcurl.status.WithContext(where);
  const CurlApi& curl = libcurl.api;
  if (handles_->multi.load() == nullptr) handles_->multi.store(curl.multi_init());
  if (handles_->easy == nullptr) handles_->easy = curl.easy_init();
  CURLM* multi = handles_->multi.load();
  if (multi == nullptr || handles_->easy == nullptr) {
    return Status::Internal(where + ": libcurl handles could not be created");
  }

  CURL* easy = handles_->easy;
  // Reset keeps the connection cache (held by the multi handle) and the DNS cache.
  curl.easy_reset(easy);
  char error_buffer[CURL_ERROR_SIZE] = {0};
  Transfer transfer;
  transfer.sink = &sink;
  transfer.response = response;
  transfer.cancelled = &cancelled_;
  transfer.curl = &curl;
  transfer.easy = easy;

  curl_slist* header_list = nullptr;
  for (const auto& [name, value] : request.headers) {
    header_list = curl.slist_append(header_list, (name + ": " + value).c_str());
  }
  if (!request.bearer_token.empty()) {
    header_list =
        curl.slist_append(header_list, ("Authorization: Bearer " + request.bearer_token).c_str());
  }
  // No "Expect: 100-continue" round trip before large bodies.
  header_list = curl.slist_append(header_list, "Expect:");

  curl.easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl.easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl.easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer);
  curl.easy_setopt(easy, CURLOPT_HTTPHEADER, header_list);
  curl.easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(request.connect_timeout.count()));
  curl.easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl.easy_setopt(easy, CURLOPT_WRITEFUNCTION, &OnBody);
  curl.easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
  curl.easy_setopt(easy, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl.easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
  curl.easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  curl.easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  curl.easy_setopt(easy, CURLOPT_XFERINFODATA, &transfer);
  curl.easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
  curl.easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  if (!request.ca_file.empty()) curl.easy_setopt(easy, CURLOPT_CAINFO, request.ca_file.c_str());
  if (request.method == "GET") {
    curl.easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl.easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else {
    if (request.method != "POST") {
      curl.easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    if (request.method == "POST" || !request.body.empty()) {
      curl.easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
      curl.easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
  }

  const auto started = std::chrono::steady_clock::now();
  CURLcode code = CURLE_OK;
  CURLMcode mcode = curl.multi_add_handle(multi, easy);
  if (mcode != CURLM_OK) {
    curl.slist_free_all(header_list);
    return Status::Internal(where + ": curl_multi_add_handle: " + curl.multi_strerror(mcode));
  }
  bool done = false;
  while (!done) {
    int running = 0;
    mcode = curl.multi_perform(multi, &running);
    if (mcode != CURLM_OK) break;
    int queued = 0;
    while (CURLMsg* msg = curl.multi_info_read(multi, &queued)) {
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
    mcode = curl.multi_poll(multi, nullptr, 0, 1000, nullptr);
    if (mcode != CURLM_OK) break;
  }
  curl.multi_remove_handle(multi, easy);
  curl.slist_free_all(header_list);
  if (response->status == 0) {
    long status = 0;
    curl.easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
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
    return Status::Internal(where + ": " + curl.multi_strerror(mcode));
  }
  if (transfer.stopped_by_caller && code == CURLE_WRITE_ERROR) code = CURLE_OK;
  if (code != CURLE_OK) {
    std::string message = where + ": " + curl.easy_strerror(code);
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
