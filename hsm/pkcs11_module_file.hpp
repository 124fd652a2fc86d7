// Whether a PKCS#11 module file may be loaded into the ceremony process.
//
// Loading a module runs its code with the root key's PIN in memory, so the
// file must be one only root (or the operator running meshca) can change:
// the path is absolute, and the file and every directory above it (after
// resolving symbolic links, i.e. what dlopen actually maps) are owned by root
// or the running user and not writable by group or others (a sticky
// directory owned by root, like /tmp, is accepted above the file). A module that
// fails is refused with Error(key_store) naming the offending path and the
// fix; nothing is loaded. The SHA-256 of the file is computed for the
// operator and the transcript.
#pragma once

#include <sys/types.h>

#include <string>

namespace meshca::hsm {

struct ModuleFile {
  std::string path;      // as given
  std::string resolved;  // symbolic links resolved
  uid_t owner = 0;
  std::string owner_name;  // "root", or the uid as text
  unsigned mode = 0;       // permission bits (07777)
  std::string sha256;      // lowercase hex of the file's bytes

  // "/usr/lib/softhsm/libsofthsm2.so (root, 0644, sha256 ab12...)"
  std::string describe() const;
};

// Checks `path` as above and hashes it. Error(key_store) with the fix when
// the path is relative, missing, or writable by someone else.
ModuleFile check_module_file(const std::string& path);

}  // namespace meshca::hsm
