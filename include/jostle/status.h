// The one error model of jostle: a Status with named constructors and Result<T>.
// Exceptions from third-party code are caught at the wrapper and turned into a Status;
// none crosses a module boundary.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace jostle {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,           // file, process, pod or row does not exist (ENOENT, ESRCH)
    kInvalidArgument,    // malformed input: the message says what and where
    kIOError,            // the OS refused a read or write
    kUnavailable,        // a peer cannot be reached now; retrying may help
    kPermissionDenied,   // EACCES / EPERM, or a token without the needed scope
    kUnauthenticated,    // no token or an unknown token
    kResourceExhausted,  // a size or count limit was hit
    kUnsupported,        // a format or feature this build does not handle
    kAlreadyExists,      // e.g. a replayed sample batch
    kInternal,
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status InvalidArgument(std::string msg) {
    return {Code::kInvalidArgument, std::move(msg)};
  }
  static Status IOError(std::string msg) { return {Code::kIOError, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }
  static Status PermissionDenied(std::string msg) {
    return {Code::kPermissionDenied, std::move(msg)};
  }
  static Status Unauthenticated(std::string msg) {
    return {Code::kUnauthenticated, std::move(msg)};
  }
  static Status ResourceExhausted(std::string msg) {
    return {Code::kResourceExhausted, std::move(msg)};
  }
  static Status Unsupported(std::string msg) { return {Code::kUnsupported, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {Code::kAlreadyExists, std::move(msg)}; }
  static Status Internal(std::string msg) { return {Code::kInternal, std::move(msg)}; }
  // Maps an errno value to a Status at the OS boundary; `what` names the file or call.
  static Status FromErrno(int err, std::string_view what);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  // "NotFound: /proc/123/stat" style, for logs.
  std::string ToString() const;
  static std::string_view CodeName(Code code);

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(std::string_view context) const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "Result built from an ok Status has no value");
    if (status_.ok()) status_ = Status::Internal("Result built from an ok Status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T value_or(T fallback) const { return value_ ? *value_ : std::move(fallback); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace jostle

#define JOSTLE_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::jostle::Status jostle_status_ = (expr);        \
    if (!jostle_status_.ok()) return jostle_status_; \
  } while (0)
