// Splitting a YAML stream into its documents without YAML::LoadAll.
//
// yaml-cpp 0.7's LoadAll can loop forever on malformed input (found by
// fuzzing: stray closing brackets make it yield empty documents without
// consuming anything). Splitting on document markers ('---' / '...' at the
// start of a line) and loading each document with YAML::Load bounds the work.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace meshca {

struct YamlDocument {
  std::string text;
  int first_line = 0;  // 0-based line of the document's first line in the stream
};

// The documents that hold something other than blank lines and comments.
std::vector<YamlDocument> split_yaml_documents(std::string_view stream);

}  // namespace meshca
