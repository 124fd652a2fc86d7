#include "pki/handles.hpp"

#include <openssl/err.h>

namespace meshca::pki {

std::string drain_openssl_errors() {
  std::string text;
  const char* file = nullptr;
  int line = 0;
  const char* data = nullptr;
  int flags = 0;
  while (unsigned long code = ERR_get_error_all(&file, &line, nullptr, &data, &flags)) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!text.empty()) text += "; ";
    text += buf;
    if (data != nullptr && (flags & ERR_TXT_STRING) && *data) {
      text += " (";
      text += data;
      text += ")";
    }
  }
  return text;
}

void throw_openssl(const std::string& what, ErrorKind code) {
  std::string queue = drain_openssl_errors();
  throw Error(code, queue.empty() ? what : what + ": " + queue);
}

BioPtr memory_bio() { return BioPtr(check(BIO_new(BIO_s_mem()), "BIO_new")); }

BioPtr memory_bio(std::string_view bytes) {
  return BioPtr(check(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())), "BIO_new_mem_buf"));
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

}  // namespace meshca::pki
