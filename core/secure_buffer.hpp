// SecureBuffer: bytes that hold a secret (PIN, passphrase, key material).
//
// The buffer is wiped with OPENSSL_cleanse when it is destroyed, cleared or
// reallocated, cannot be copied by accident (move only), and has no stream
// operator so it cannot end up in a log line or an exception message.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace meshca {

class SecureBuffer {
 public:
  SecureBuffer() = default;
  explicit SecureBuffer(std::string_view bytes);
  ~SecureBuffer();

  SecureBuffer(const SecureBuffer&) = delete;
  SecureBuffer& operator=(const SecureBuffer&) = delete;
  SecureBuffer(SecureBuffer&& other) noexcept;
  SecureBuffer& operator=(SecureBuffer&& other) noexcept;

  void append(std::string_view bytes);
  void append(char c);
  // Removes trailing '\n' / '\r' (a secret read from a file or a terminal).
  void strip_trailing_newlines();
  void clear();

  const char* data() const { return bytes_.data(); }
  char* data() { return bytes_.data(); }
  std::size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  std::string_view view() const { return {bytes_.data(), bytes_.size()}; }
  bool equals(const SecureBuffer& other) const;

 private:
  void reserve_wiped(std::size_t capacity);
  std::vector<char> bytes_;
};

// Wipes a std::string that briefly held a secret (e.g. a file read).
void cleanse(std::string& s);

}  // namespace meshca
