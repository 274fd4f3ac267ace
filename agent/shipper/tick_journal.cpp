#include "agent/shipper/tick_journal.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace jostle::agent {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view kSuffix = ".ticks";
constexpr std::string_view kTail = "]}";  // BatchEncoder::Tail
constexpr size_t kHeaderBytes = 8;

void PutLe32(char* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t GetLe32(const char* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return v;
}

uint32_t Crc32(std::string_view bytes) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

TickJournal::~TickJournal() { CloseFile(); }

void TickJournal::CloseFile() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status TickJournal::Begin(uint64_t seq, int64_t agent_start_ns) {
  CloseFile();
  failed_ = false;
  char name[64];
  std::snprintf(name, sizeof name, "%020llu-%lld", static_cast<unsigned long long>(seq),
                static_cast<long long>(agent_start_ns));
  path_ = dir_ + "/" + name + std::string(kSuffix);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    failed_ = true;
    Status s = Status::FromErrno(errno, path_);
    path_.clear();
    return s;
  }
  return Status::Ok();
}

Status TickJournal::Append(std::string_view piece) {
  if (fd_ < 0 || failed_) return Status::Ok();
  // One write per record: the header and the piece together, so that a record is cut
  // short only by a crash inside the write.
  std::string record(kHeaderBytes, '\0');
  PutLe32(record.data(), static_cast<uint32_t>(piece.size()));
  PutLe32(record.data() + 4, Crc32(piece));
  record.append(piece);
  Status s = WriteAll(fd_, record, path_);
  if (!s.ok()) {
    failed_ = true;
    CloseFile();
    ::unlink(path_.c_str());
    path_.clear();
  }
  return s;
}

std::string TickJournal::Finish() {
  CloseFile();
  return std::exchange(path_, {});
}

Result<std::vector<RecoveredBatch>> RecoverTickJournals(const std::string& dir) {
  std::vector<RecoveredBatch> out;
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& de : fs::directory_iterator(dir, ec)) {
    std::string name = de.path().filename().string();
    if (name.size() > kSuffix.size() && name.compare(name.size() - kSuffix.size(),
                                                     kSuffix.size(), kSuffix) == 0) {
      names.push_back(std::move(name));
    }
  }
  if (ec) return Status::IOError("spool dir " + dir + ": " + ec.message());
  // "<seq>-<start>": by agent start, then seq.
  auto key = [](const std::string& n) {
    size_t dash = n.find('-');
    return std::make_pair(n.substr(dash + 1), n.substr(0, dash));
  };
  std::sort(names.begin(), names.end(),
            [&](const std::string& a, const std::string& b) { return key(a) < key(b); });
  for (const auto& name : names) {
    RecoveredBatch b;
    b.path = dir + "/" + name;
    std::ifstream in(b.path, std::ios::binary);
    std::ostringstream data;
    data << in.rdbuf();
    std::string bytes = data.str();
    std::string_view rest = bytes;
    std::string_view last;
    while (rest.size() >= kHeaderBytes) {
      uint32_t size = GetLe32(rest.data());
      uint32_t crc = GetLe32(rest.data() + 4);
      if (rest.size() - kHeaderBytes < size) break;  // cut short
      std::string_view piece = rest.substr(kHeaderBytes, size);
      if (Crc32(piece) != crc) break;
      b.text.append(piece);
      last = piece;
      ++b.records;
      rest.remove_prefix(kHeaderBytes + size);
    }
    if (!rest.empty()) {
      spdlog::warn("spool: {}: {} bytes after the last whole tick dropped (cut short)", b.path,
                   rest.size());
    }
    if (b.records > 0 && last != kTail) b.text.append(kTail);
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace jostle::agent
