#include "verify/bundle_discovery.hpp"

#include <algorithm>
#include <set>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "core/secure_buffer.hpp"

namespace meshca::verify {
namespace {

namespace fs = std::filesystem;

// OUT/<mesh>/<cluster>/<layout>/ is three levels below OUT; one more for a
// directory of several OUTs. Deeper trees are not meshca's and not walked.
constexpr int kMaxDepth = 4;
// Bundles archived by a renewal (OUT/retired/<mesh>/<cluster>/<serial>/).
constexpr const char* kRetiredDirectory = "retired";

bool holds_bundle(const fs::path& dir) {
  std::error_code ec;
  for (const char* name : {kCaCertFile, kCaKeyFile, kCertChainFile, kTlsCertFile, kTlsKeyFile, kTlsCaFile})
    if (fs::exists(dir / name, ec)) return true;
  // A cluster directory that lost all but root-cert.pem is a broken bundle,
  // not a root: verify says which files are missing.
  return fs::exists(dir / kRootCertFile, ec) && !is_root_directory(dir);
}

// Inside an OUT's retired/ (a `retired` directory beside OUT's root/).
bool archived(const fs::path& path) {
  std::error_code ec;
  fs::path p = fs::absolute(path, ec).lexically_normal();
  for (fs::path dir = p; dir.has_relative_path(); dir = dir.parent_path()) {
    if (dir.filename() == kRetiredDirectory && fs::is_directory(dir.parent_path() / kRootDirectory, ec)) return true;
    if (dir == dir.parent_path()) break;
  }
  return false;
}

std::string retired_note(const fs::path& dir) {
  return dir.string() + ": skipped: bundles archived by a renewal are not in service (name one of them to check it)";
}

}  // namespace

class InputDiscovery::Walk {
 public:
  explicit Walk(InputUse use) : use_(use) {}

  void add_path(const fs::path& path) {
    std::error_code ec;
    auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) throw Error(ErrorKind::invalid_input, "no such file or directory", path.string());
    if (fs::is_directory(status)) {
      if (!holds_bundle(path) && archived(path)) {
        out_.notes.push_back(retired_note(path));
        return;
      }
      std::size_t before = named_;
      add_directory(path, 0);
      if (named_ == before) {
        throw Error(ErrorKind::invalid_input, "no bundle, root directory or Secret manifest found in or below this directory",
                    path.string());
      }
      return;
    }
    add_file(path);
  }

  // Reading a bundle directory (its files, and the Secret manifest beside
  // them parsed to compare with them) is most of what discovery costs: the
  // walk only keeps a slot for each, in its order, and the directories are
  // read here, one worker per core.
  DiscoveredInputs take() {
    parallel_for(pending_.size(), 0, [&]() -> ItemWork {
      return [&](std::size_t n) {
        const Pending& p = pending_[n];
        out_.sources[p.slot] = std::move(load_bundle_sources(p.dir).front());
      };
    });
    pending_.clear();
    return std::move(out_);
  }

 private:
  // A directory or file named twice (a root directory by both its files, a
  // bundle by a glob and by name) is read once. Several Secrets of one
  // manifest may share a label (one name in several clusters): they are
  // kept, as the manifest holds them.
  bool first_time(const fs::path& path) {
    std::error_code ec;
    fs::path key = fs::weakly_canonical(path, ec);
    return seen_.insert(ec ? path.lexically_normal().string() : key.string()).second;
  }

  void add_sources(const fs::path& path) {
    ++named_;
    if (!first_time(path)) return;
    for (auto& src : load_bundle_sources(path)) out_.sources.push_back(std::move(src));
  }

  // A directory is read in take(), with the others.
  void add_bundle_directory(const fs::path& dir) {
    ++named_;
    if (!first_time(dir)) return;
    out_.sources.emplace_back();
    pending_.push_back({out_.sources.size() - 1, dir});
  }

  void add_directory(const fs::path& dir, int depth) {
    if (is_root_directory(dir) || holds_bundle(dir)) {
      add_bundle_directory(dir);
      return;
    }
    if (depth >= kMaxDepth) return;
    std::vector<fs::path> children;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code type_ec;
      if (it->is_directory(type_ec) && !it->is_symlink(type_ec)) children.push_back(it->path());
    }
    if (ec) throw Error(ErrorKind::invalid_input, "cannot list the directory: " + ec.message(), dir.string());
    std::sort(children.begin(), children.end());
    for (const auto& child : children) {
      std::string name = child.filename().string();
      if (name.starts_with(".")) continue;  // .meshca-tmp: a run's staging area, never a result
      if (name == kRetiredDirectory) {
        ++named_;  // skipped, with a note: not "nothing found"
        out_.notes.push_back(retired_note(child));
        continue;
      }
      add_directory(child, depth + 1);
    }
  }

  void add_file(const fs::path& path) {
    fs::path parent = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    std::string name = path.filename().string();
    if (use_ == InputUse::bundles && is_root_directory(parent) && (name == kRootCertFile || name == kRootCrlFile)) {
      add_bundle_directory(parent);
      return;
    }
    std::string text = read_input_file(path);
    if (use_ == InputUse::certificates && !looks_like_secret_manifest(text)) {
      if (first_time(path)) out_.sources.push_back(pem_file_source(path, std::move(text)));
      cleanse(text);
      return;
    }
    cleanse(text);
    add_sources(path);
  }

  struct Pending {
    std::size_t slot;  // in out_.sources
    fs::path dir;
  };

  InputUse use_;
  DiscoveredInputs out_;
  std::vector<Pending> pending_;
  std::set<std::string> seen_;  // canonical paths already read
  std::size_t named_ = 0;       // bundles, roots and skipped directories met, read before or not
};

InputDiscovery::InputDiscovery(InputUse use) : walk_(std::make_unique<Walk>(use)) {}
InputDiscovery::~InputDiscovery() = default;
void InputDiscovery::add(const fs::path& path) { walk_->add_path(path); }
DiscoveredInputs InputDiscovery::take() { return walk_->take(); }

DiscoveredInputs discover_inputs(const std::vector<std::string>& paths, InputUse use) {
  InputDiscovery discovery(use);
  for (const auto& path : paths) discovery.add(path);
  DiscoveredInputs found = discovery.take();
  if (found.sources.empty()) {
    std::string why;
    for (const auto& note : found.notes) why += (why.empty() ? "" : "; ") + note;
    throw Error(ErrorKind::invalid_input, "nothing to check: " + why);
  }
  return found;
}

}  // namespace meshca::verify
