// What may exist in a ceremony's output directory (OUT), and nothing else.
//
//   OUT/.meshca-lock  .meshca-tmp/        the writer's lock and staging area
//   OUT/plan.yaml SHA256SUMS transcript.jsonl revocations.json
//   OUT/root/root-cert.pem root-crl.pem
//   OUT/<mesh>/<cluster>/<layout files of that cluster>, ca-crl.pem
//   OUT/retired/...                         archived bundles (directories and files)
//
// output_tree_problems() is the one answer to "is anything in OUT that does
// not belong there": a symbolic link anywhere, a file where a directory
// belongs (or the reverse), a mesh or cluster the plan does not name, a file
// no layout writes. The runner asks before the key store is opened (a
// problem is a conflict, exit 5, nothing written); `meshca audit` reports
// the same problems as findings.
//

#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "plan/plan.hpp"

namespace meshca::ceremony {

struct OutputTreeProblem {
  std::string path;  // relative to OUT
  std::string message;
};

std::vector<OutputTreeProblem> output_tree_problems(const Plan& plan, const std::filesystem::path& out);

// MultiError(output) listing every problem, for a writer that must not read,
// clean or write anything in OUT (nor open the key store) until it is clean.
void refuse_output_tree_problems(const Plan& plan, const std::filesystem::path& out);

}  // namespace meshca::ceremony
