#include "core/secure_buffer.hpp"

#include <openssl/crypto.h>

namespace meshca {

SecureBuffer::SecureBuffer(std::string_view bytes) { append(bytes); }

SecureBuffer::~SecureBuffer() { clear(); }

SecureBuffer::SecureBuffer(SecureBuffer&& other) noexcept : bytes_(std::move(other.bytes_)) {}

SecureBuffer& SecureBuffer::operator=(SecureBuffer&& other) noexcept {
  if (this != &other) {
    clear();
    bytes_ = std::move(other.bytes_);
  }
  return *this;
}

// std::vector would free its old block unwiped when it grows, so growth goes
// through a fresh block and the old one is cleansed first.
void SecureBuffer::reserve_wiped(std::size_t capacity) {
  if (capacity <= bytes_.capacity()) return;
  std::vector<char> bigger;
  bigger.reserve(capacity < 64 ? 64 : capacity * 2);
  bigger.assign(bytes_.begin(), bytes_.end());
  clear();
  bytes_ = std::move(bigger);
}

void SecureBuffer::append(std::string_view bytes) {
  reserve_wiped(bytes_.size() + bytes.size());
  bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
}

void SecureBuffer::append(char c) { append(std::string_view(&c, 1)); }

void SecureBuffer::strip_trailing_newlines() {
  while (!bytes_.empty() && (bytes_.back() == '\n' || bytes_.back() == '\r')) {
    OPENSSL_cleanse(&bytes_.back(), 1);
    bytes_.pop_back();
  }
}

void SecureBuffer::clear() {
  if (bytes_.capacity() > 0) OPENSSL_cleanse(bytes_.data(), bytes_.capacity());
  bytes_.clear();
}

bool SecureBuffer::equals(const SecureBuffer& other) const {
  return size() == other.size() && CRYPTO_memcmp(data(), other.data(), size()) == 0;
}

void cleanse(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace meshca
