#include "ceremony/output_tree.hpp"

#include <set>

#include "ceremony/external_root.hpp"
#include "ceremony/issuance.hpp"
#include "ceremony/revocation.hpp"
#include "ceremony/runner.hpp"
#include "ceremony/transcript.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/output_lock.hpp"
#include "output_layout/checksums.hpp"
#include "output_layout/layouts.hpp"

namespace meshca::ceremony {
namespace {

namespace fs = std::filesystem;
namespace ol = output_layout;

enum class Kind { file, directory };

// write_file_atomic()'s temporary sibling of `name`, left by a killed run
// and removed by the next writer.
bool is_temp_of(const std::string& entry, const std::set<std::string>& names) {
  for (const auto& n : names)
    if (entry.starts_with("." + n + ".tmp-")) return true;
  return false;
}

class TreeSurvey {
 public:
  TreeSurvey(const Plan& plan, const fs::path& out) : plan_(plan), out_(out) {}

  std::vector<OutputTreeProblem> run() {
    const std::set<std::string> top_files{kPlanCopy, ol::kChecksumsFile, kTranscriptFile, kRevocationLedgerFile, kOutputLockFile};
    std::map<std::string, const MeshPlan*> meshes;
    for (const auto& m : plan_.meshes) meshes[m.name] = &m;
    for (const auto& entry : entries(out_)) {
      const std::string name = entry.path().filename().string();
      if (top_files.count(name) || is_temp_of(name, top_files)) {
        expect(entry, Kind::file);
      } else if (name == std::string(kStagingDirName)) {
        expect(entry, Kind::directory);  // the lock holder cleans it
      } else if (name == kRootDir) {
        if (expect(entry, Kind::directory)) check_root_dir(entry.path());
      } else if (name == kRetiredDir) {
        if (expect(entry, Kind::directory)) check_archive(entry.path());
      } else if (auto m = meshes.find(name); m != meshes.end()) {
        if (expect(entry, Kind::directory)) check_mesh(*m->second, entry.path());
      } else {
        add(entry.path(), "is not part of this plan's output (no mesh of the plan is called '" + name +
                              "'); move it out of the output directory");
      }
    }
    return std::move(problems_);
  }

 private:
  std::vector<fs::directory_entry> entries(const fs::path& dir) {
    std::vector<fs::directory_entry> list;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) {
      add(dir, "cannot be listed: " + ec.message());
      return list;
    }
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) list.push_back(*it);
    if (ec) add(dir, "cannot be listed: " + ec.message());
    return list;
  }

  void add(const fs::path& path, const std::string& message) {
    problems_.push_back({path.lexically_relative(out_).string(), message});
  }

  // Whether `entry` is what belongs there; a problem when not.
  bool expect(const fs::directory_entry& entry, Kind kind) {
    std::error_code ec;
    auto status = entry.symlink_status(ec);
    if (fs::is_symlink(status)) {
      add(entry.path(), "is a symbolic link; meshca never follows links in an output directory");
      return false;
    }
    bool ok = kind == Kind::directory ? fs::is_directory(status) : fs::is_regular_file(status);
    if (!ok) add(entry.path(), kind == Kind::directory ? "must be a directory" : "must be a regular file");
    return ok;
  }

  void check_root_dir(const fs::path& dir) {
    std::set<std::string> names{ol::kRootCertFile, kRootCrlFile};
    // A root under the corporate CA: its CSR and the imported corporate
    // chain (also in the directory where a rotation's new root is prepared).
    const bool new_root_external = plan_.rotation && plan_.rotation->new_root.issuer == RootIssuer::external;
    if (plan_.root.issuer == RootIssuer::external || new_root_external) {
      names.insert(kRootCsrFile);
      names.insert(kIssuerChainFile);
      names.insert(kIssuerCrlsFile);
    }
    for (const auto& entry : entries(dir)) {
      const std::string name = entry.path().filename().string();
      if (names.count(name) || is_temp_of(name, names)) {
        expect(entry, Kind::file);
      } else {
        add(entry.path(), "is not a file meshca writes under root/");
      }
    }
  }

  void check_mesh(const MeshPlan& mesh, const fs::path& dir) {
    std::map<std::string, const ClusterPlan*> clusters;
    for (const auto& c : mesh.clusters) clusters[c.name] = &c;
    for (const auto& entry : entries(dir)) {
      const std::string name = entry.path().filename().string();
      auto c = clusters.find(name);
      if (c == clusters.end()) {
        add(entry.path(), "is not a cluster of mesh " + mesh.name + " in the plan; move it out of the output directory");
      } else if (expect(entry, Kind::directory)) {
        check_bundle(mesh, *c->second, entry.path());
      }
    }
  }

  // The files of every selected layout, in the subdirectories they imply.
  void check_bundle(const MeshPlan& mesh, const ClusterPlan& cluster, const fs::path& dir) {
    const auto options = layout_options(mesh, cluster, "");
    std::set<std::string> files;
    if (const char* crls = ol::crl_file_name(options)) files.insert(crls);
    std::set<std::string> dirs;
    for (const auto& name : ol::layout_file_names(options)) {
      files.insert(name);
      for (fs::path p = fs::path(name).parent_path(); !p.empty(); p = p.parent_path()) dirs.insert(p.string());
    }
    walk_bundle(dir, dir, files, dirs);
  }

  void walk_bundle(const fs::path& bundle, const fs::path& dir, const std::set<std::string>& files,
                   const std::set<std::string>& dirs) {
    for (const auto& entry : entries(dir)) {
      const std::string rel = entry.path().lexically_relative(bundle).string();
      if (files.count(rel)) {
        expect(entry, Kind::file);
      } else if (dirs.count(rel)) {
        if (expect(entry, Kind::directory)) walk_bundle(bundle, entry.path(), files, dirs);
      } else {
        add(entry.path(), "is not a file of this cluster's layouts; move it out of the output directory");
      }
    }
  }

  // Archived bundles: any directories and regular files, never a link.
  void check_archive(const fs::path& dir) {
    for (const auto& entry : entries(dir)) {
      std::error_code ec;
      auto status = entry.symlink_status(ec);
      if (fs::is_directory(status)) {
        check_archive(entry.path());
      } else if (!fs::is_regular_file(status)) {
        expect(entry, Kind::file);
      }
    }
  }

  const Plan& plan_;
  fs::path out_;
  std::vector<OutputTreeProblem> problems_;
};

}  // namespace

void refuse_output_tree_problems(const Plan& plan, const fs::path& out) {
  auto problems = output_tree_problems(plan, out);
  if (problems.empty()) return;
  std::vector<std::string> details;
  for (const auto& p : problems) details.push_back((out / p.path).string() + ": " + p.message);
  throw MultiError(ErrorKind::output,
                   std::to_string(details.size()) + " entr" + (details.size() == 1 ? "y" : "ies") + " of " + out.string() +
                       " do not belong to this plan's output; nothing was read or written (move them out of the output directory)",
                   details);
}

std::vector<OutputTreeProblem> output_tree_problems(const Plan& plan, const fs::path& out) {
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(out, ec))) return {};
  return TreeSurvey(plan, out).run();
}

}  // namespace meshca::ceremony
