#include "collector/alerts/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <cstdlib>

namespace jostle::collector::alerts {
namespace {

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kBase62Alphabet =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr size_t kMessageIdRandomChars = 24;

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

Result<std::string> HmacSha256(std::string_view key, std::string_view message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_len = 0;
  const unsigned char* out = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                                  reinterpret_cast<const unsigned char*>(message.data()),
                                  message.size(), digest.data(), &digest_len);
  if (out == nullptr) return Status::Internal("HMAC-SHA256 failed in OpenSSL");
  return std::string(reinterpret_cast<const char*>(digest.data()), digest_len);
}

std::string SignedContent(std::string_view id, std::string_view timestamp, std::string_view body) {
  std::string content;
  content.reserve(id.size() + timestamp.size() + body.size() + 2);
  content.append(id).append(".").append(timestamp).append(".").append(body);
  return content;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) |
                 (static_cast<uint8_t>(bytes[i + 1]) << 8) | static_cast<uint8_t>(bytes[i + 2]);
    out.push_back(kBase64Alphabet[(n >> 18) & 63]);
    out.push_back(kBase64Alphabet[(n >> 12) & 63]);
    out.push_back(kBase64Alphabet[(n >> 6) & 63]);
    out.push_back(kBase64Alphabet[n & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    out.push_back(kBase64Alphabet[(n >> 18) & 63]);
    out.push_back(kBase64Alphabet[(n >> 12) & 63]);
    out.append("==");
  } else if (rest == 2) {
    uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8);
    out.push_back(kBase64Alphabet[(n >> 18) & 63]);
    out.push_back(kBase64Alphabet[(n >> 12) & 63]);
    out.push_back(kBase64Alphabet[(n >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  size_t end = text.size();
  size_t padding = 0;
  while (end > 0 && text[end - 1] == '=' && padding < 2) {
    --end;
    ++padding;
  }
  if (padding > 0 && text.size() % 4 != 0) {
    return Status::InvalidArgument("base64: padded input length " + std::to_string(text.size()) +
                                   " is not a multiple of 4");
  }
  if (end % 4 == 1) {
    return Status::InvalidArgument("base64: length " + std::to_string(end) +
                                   " leaves a single dangling character");
  }
  std::string out;
  out.reserve(end / 4 * 3 + 2);
  uint32_t buffer = 0;
  int bits = 0;
  for (size_t i = 0; i < end; ++i) {
    int v = Base64Value(text[i]);
    if (v < 0) {
      return Status::InvalidArgument("base64: invalid character at offset " + std::to_string(i));
    }
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

Result<std::string> DecodeSecret(std::string_view secret) {
  if (secret.empty()) return Status::InvalidArgument("webhook secret is empty");
  if (!secret.starts_with(kSecretPrefix)) return std::string(secret);
  Result<std::string> key = Base64Decode(secret.substr(kSecretPrefix.size()));
  if (!key.ok()) return key.status().WithContext("webhook secret after \"whsec_\"");
  if (key->empty()) return Status::InvalidArgument("webhook secret \"whsec_\" has no key bytes");
  return key;
}

std::string NewMessageId() {
  std::array<unsigned char, kMessageIdRandomChars> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    // The CSPRNG failing is not expected on Linux; fall back so an alert still goes out.
    for (auto& b : random) b = static_cast<unsigned char>(std::rand());
  }
  std::string id = "msg_";
  for (unsigned char b : random) id.push_back(kBase62Alphabet[b % kBase62Alphabet.size()]);
  return id;
}

Result<std::string> SignPayload(std::string_view secret, std::string_view id, int64_t timestamp_s,
                                std::string_view body) {
  Result<std::string> key = DecodeSecret(secret);
  if (!key.ok()) return key.status();
  Result<std::string> mac = HmacSha256(*key, SignedContent(id, std::to_string(timestamp_s), body));
  if (!mac.ok()) return mac.status();
  return "v1," + Base64Encode(*mac);
}

Status VerifySignature(std::string_view secret, std::string_view id, std::string_view timestamp,
                       std::string_view body, std::string_view header) {
  if (id.empty()) return Status::InvalidArgument("webhook-id is empty");
  if (id.find('.') != std::string_view::npos) {
    return Status::InvalidArgument("webhook-id contains '.'");
  }
  int64_t ts = 0;
  auto [ptr, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
  if (timestamp.empty() || ec != std::errc() || ptr != timestamp.data() + timestamp.size()) {
    return Status::InvalidArgument("webhook-timestamp \"" + std::string(timestamp) +
                                   "\" is not decimal unix seconds");
  }
  if (header.empty()) return Status::InvalidArgument("webhook-signature is empty");
  Result<std::string> key = DecodeSecret(secret);
  if (!key.ok()) return key.status();
  Result<std::string> expected = HmacSha256(*key, SignedContent(id, timestamp, body));
  if (!expected.ok()) return expected.status();

  bool matched = false;
  size_t pos = 0;
  while (pos < header.size()) {
    size_t space = header.find(' ', pos);
    std::string_view entry =
        header.substr(pos, space == std::string_view::npos ? std::string_view::npos : space - pos);
    pos = space == std::string_view::npos ? header.size() : space + 1;
    if (!entry.starts_with("v1,")) continue;
    Result<std::string> given = Base64Decode(entry.substr(3));
    if (!given.ok() || given->size() != expected->size()) continue;
    // Every v1 entry is compared so the time taken does not depend on which one matched.
    if (CRYPTO_memcmp(given->data(), expected->data(), expected->size()) == 0) matched = true;
  }
  if (!matched) return Status::PermissionDenied("no v1 entry of webhook-signature matches");
  return Status::Ok();
}

bool TimestampWithinTolerance(int64_t timestamp_s, int64_t now_s, int64_t tolerance_s) {
  int64_t diff = now_s - timestamp_s;
  if (diff < 0) diff = -diff;
  return diff <= tolerance_s;
}

}  // namespace jostle::collector::alerts
