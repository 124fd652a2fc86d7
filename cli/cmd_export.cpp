// meshca export OUT --cluster MESH/CLUSTER --tar FILE
//
// Packs one cluster's bundle directory (every layout the plan wrote) into a
// deterministic ustar archive (output_layout/tar_archive.hpp) to carry off
// the air-gapped machine, and prints its SHA-256 in `sha256sum` format so
// the receiving side can check it. FILE is created 0600 and never replaces
// an existing file.
#include <iostream>

#include "cli/terminal.hpp"
#include "core/files.hpp"
#include "core/hex.hpp"
#include "output_layout/tar_archive.hpp"
#include "plan/plan_reader.hpp"

namespace meshca::cli {

int run_export(const Args& args, Terminal& term) {
  po::options_description options("meshca export");
  options.add_options()("help,h", "this help")("out", po::value<std::string>()->required(), "the ceremony's output directory")(
      "cluster", po::value<std::string>()->required(), "MESH/CLUSTER: the bundle to export")(
      "tar", po::value<std::string>()->required(), "the archive to create (never overwritten)");
  po::positional_options_description positionals;
  positionals.add("out", 1);
  po::variables_map vm;
  if (!parse_command_line(args, options, positionals, vm, term.out,
                          "usage: meshca export OUT --cluster MESH/CLUSTER --tar FILE\n\n"
                          "Packs one cluster's bundle into a deterministic tar (it holds the private key: keep it sealed)\n"
                          "and prints its SHA-256 in sha256sum format.\n\n"
                          "example: meshca export out/ --cluster prod/us-east-1 --tar us-east-1.tar")) {
    return 0;
  }
  const std::string id = vm["cluster"].as<std::string>();
  const auto [mesh, cluster] = parse_cluster_id(id);
  const fs::path dir = fs::path(vm["out"].as<std::string>()) / mesh / cluster;
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(dir, ec))) {
    throw Error(ErrorKind::invalid_input, "no bundle directory for " + id, dir.string());
  }
  auto entries = output_layout::collect_tar_entries(dir, mesh + "/" + cluster);
  if (entries.empty()) throw Error(ErrorKind::invalid_input, "the bundle directory is empty", dir.string());
  const std::size_t count = entries.size();
  SecureBuffer archive = output_layout::make_tar(std::move(entries));
  const std::string file = vm["tar"].as<std::string>();
  write_file_atomic(file, archive.view(), kPrivateFileMode, Replace::never);
  term.out << sha256_hex(archive.view()) << "  " << file << "\n";
  term.err << "meshca: wrote " << file << ": " << count << " files of " << id
           << " (ustar, sorted, mode 0600, owner 0/0, mtime 0; it holds the private key: keep it sealed)\n";
  return 0;
}

}  // namespace meshca::cli
