// gzip framing of sample batches (RFC 1952) with zlib. The JSON codec itself is in
// batch_encoder.cpp and batch_decoder.cpp.
#include "jostle/wire.h"

#include <zlib.h>

#include <algorithm>
#include <string>
#include <string_view>

namespace jostle {

bool LooksGzipped(std::string_view data) {
  return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f &&
         static_cast<unsigned char>(data[1]) == 0x8b;
}

std::string Gzip(std::string_view data, int level) {
  z_stream zs{};
  // 15 + 16: gzip wrapper rather than zlib.
  deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out;
  out.resize(deflateBound(&zs, data.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

namespace {

// The inflate state of one thread (about 7 KiB, plus the 32 KiB window zlib allocates on the
// first inflate), reset for each gzip body instead of allocated and freed per body.
class ThreadInflater {
 public:
  ThreadInflater() = default;
  ThreadInflater(const ThreadInflater&) = delete;
  ThreadInflater& operator=(const ThreadInflater&) = delete;
  ~ThreadInflater() {
    if (ready_) inflateEnd(&zs_);
  }

  // The stream, ready for a new gzip (or zlib) body; nullptr when zlib has no memory.
  z_stream* Begin() {
    if (ready_ && inflateReset(&zs_) == Z_OK) return &zs_;
    if (ready_) inflateEnd(&zs_);
    zs_ = z_stream{};
    // 15 + 32: a 32 KiB window, gzip or zlib header detected.
    ready_ = inflateInit2(&zs_, 15 + 32) == Z_OK;
    return ready_ ? &zs_ : nullptr;
  }

 private:
  z_stream zs_{};
  bool ready_ = false;
};

thread_local ThreadInflater t_inflater;

}  // namespace

Status GunzipInto(std::string_view data, size_t max_output, std::string* out) {
  z_stream* zs = t_inflater.Begin();
  if (zs == nullptr) return Status::Internal("inflateInit2 failed");
  zs->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs->avail_in = static_cast<uInt>(data.size());
  // Inflate straight into the result. The trailer's ISIZE (length mod 2^32) sizes it; it is
  // only a hint from the sender, so it is capped by the limit and by deflate's largest
  // ratio (1032:1), and the buffer grows if the hint was low.
  const size_t cap = max_output + 1;  // one byte over the limit proves the limit exceeded
  size_t size = 64 * 1024;
  if (data.size() >= 18) {
    const auto* t = reinterpret_cast<const unsigned char*>(data.data() + data.size() - 4);
    size_t isize = t[0] | (size_t{t[1]} << 8) | (size_t{t[2]} << 16) | (size_t{t[3]} << 24);
    size = std::max(size, std::min(isize, data.size() * 1032));
  }
  out->resize(std::min(size, cap));
  size_t produced = 0;
  while (true) {
    if (produced == out->size()) {
      if (out->size() >= cap) break;
      out->resize(std::min(out->size() * 2, cap));
    }
    zs->next_out = reinterpret_cast<Bytef*>(out->data() + produced);
    zs->avail_out = static_cast<uInt>(out->size() - produced);
    int rc = inflate(zs, Z_NO_FLUSH);
    produced = out->size() - zs->avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK) {
      if (rc == Z_BUF_ERROR) return Status::InvalidArgument("gzip body is truncated");
      return Status::InvalidArgument(std::string("gzip body is corrupt: ") +
                                     (zs->msg ? zs->msg : "inflate error"));
    }
    if (zs->avail_in == 0 && zs->avail_out != 0) {
      // All input read, room left for output, and the stream has not ended.
      return Status::InvalidArgument("gzip body is truncated");
    }
  }
  if (produced > max_output) {
    return Status::ResourceExhausted("gzip body inflates to more than " +
                                     std::to_string(max_output) + " bytes");
  }
  out->resize(produced);
  return Status::Ok();
}

Result<std::string> Gunzip(std::string_view data, size_t max_output) {
  std::string out;
  Status s = GunzipInto(data, max_output, &out);
  if (!s.ok()) return s;
  return out;
}

}  // namespace jostle
