#include "hsm/pkcs11_module_file.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "core/error.hpp"
#include "core/hex.hpp"

namespace meshca::hsm {
namespace {

namespace fs = std::filesystem;

std::string user_name(uid_t uid) {
  if (uid == 0) return "root";
  std::vector<char> buf(4096);
  passwd pw{};
  passwd* found = nullptr;
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) return found->pw_name;
  return "uid " + std::to_string(uid);
}

std::string octal(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777U);
  return buf;
}

// Refuses one path (the module or a directory above it) that someone other
// than root or the running user could change.
void check_trusted(const fs::path& p, const std::string& module, bool is_module) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) {
    throw Error(ErrorKind::key_store, "cannot inspect " + p.string() + " (a component of the PKCS#11 module path)", module);
  }
  const uid_t me = ::geteuid();
  const std::string what = is_module ? "the PKCS#11 module " + p.string() : "the directory " + p.string() +
                                                                              " above the PKCS#11 module";
  if (st.st_uid != 0 && st.st_uid != me) {
    throw Error(ErrorKind::key_store,
                what + " is owned by " + user_name(st.st_uid) +
                    ", who could change the code meshca would run with the root key's PIN; refusing to load it. "
                    "Install the module (and its directories) owned by root: chown root:root " +
                    p.string(),
                module);
  }
  // A sticky directory owned by root (/tmp) is safe above a trusted entry:
  // others may not rename or remove what they do not own there.
  const bool sticky_root_dir = !is_module && S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) != 0 && st.st_uid == 0;
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && !sticky_root_dir) {
    throw Error(ErrorKind::key_store,
                what + " is writable by group or others (mode " + octal(st.st_mode) +
                    "), so another user could replace the code meshca would run with the root key's PIN; "
                    "refusing to load it. Fix: chmod go-w " +
                    p.string(),
                module);
  }
}

std::string sha256_file(const std::string& path, const std::string& module) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::key_store, "cannot read the PKCS#11 module to hash it", module);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw Error(ErrorKind::key_store, "cannot read the PKCS#11 module to hash it", module);
  return sha256_hex(bytes);
}

}  // namespace

std::string ModuleFile::describe() const {
  return path + (resolved != path ? " -> " + resolved : std::string()) + " (owner " + owner_name + ", mode " +
         octal(mode) + ", sha256 " + sha256 + ")";
}

ModuleFile check_module_file(const std::string& path) {
  if (path.empty()) {
    throw Error(ErrorKind::key_store,
                "no PKCS#11 module given; name the token vendor's PKCS#11 library (.so) by its absolute path "
                "(see docs/tokens.md for common ones)");
  }
  if (!fs::path(path).is_absolute()) {
    throw Error(ErrorKind::key_store,
                "the PKCS#11 module path must be absolute (a bare name would be looked up in the library search "
                "path, which the environment can change); give the full path, e.g. /usr/lib/x86_64-linux-gnu/" +
                    fs::path(path).filename().string(),
                path);
  }
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw Error(ErrorKind::key_store,
                "PKCS#11 module not found; check the module path (the token vendor's PKCS#11 library, .so; "
                "docs/tokens.md lists common ones) and that the vendor package is installed",
                path);
  }
  fs::path resolved = fs::canonical(path, ec);
  if (ec) throw Error(ErrorKind::key_store, "cannot resolve the PKCS#11 module path: " + ec.message(), path);
  if (!fs::is_regular_file(resolved, ec)) throw Error(ErrorKind::key_store, "the PKCS#11 module is not a regular file", path);
  // The path as given (its symbolic links and their directories) and the
  // file it resolves to, with every directory above each.
  for (const fs::path& start : {fs::path(path).lexically_normal(), resolved}) {
    bool first = true;
    for (fs::path p = start; !p.empty(); p = p.parent_path()) {
      check_trusted(p, path, first);
      first = false;
      if (p == p.root_path()) break;
    }
  }
  struct stat st {};
  ::stat(resolved.c_str(), &st);
  ModuleFile f;
  f.path = path;
  f.resolved = resolved.string();
  f.owner = st.st_uid;
  f.owner_name = user_name(st.st_uid);
  f.mode = st.st_mode & 07777U;
  f.sha256 = sha256_file(f.resolved, path);
  return f;
}

}  // namespace meshca::hsm
