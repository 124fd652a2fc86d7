#include "core/yaml_documents.hpp"

namespace meshca {
namespace {

bool is_marker(std::string_view line, std::string_view marker) {
  if (!line.starts_with(marker)) return false;
  line.remove_prefix(marker.size());
  return line.empty() || line[0] == ' ' || line[0] == '\t' || line[0] == '\r';
}

bool has_content(std::string_view line) {
  for (char c : line) {
    if (c == '#') return false;
    if (c != ' ' && c != '\t' && c != '\r') return true;
  }
  return false;
}

}  // namespace

std::vector<YamlDocument> split_yaml_documents(std::string_view stream) {
  std::vector<YamlDocument> docs;
  YamlDocument current;
  bool content = false;
  int line_no = 0;
  auto finish = [&] {
    if (content) docs.push_back(std::move(current));
    current = YamlDocument{};
    content = false;
  };
  for (std::size_t start = 0; start < stream.size(); ++line_no) {
    auto end = stream.find('\n', start);
    std::string_view line = stream.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    start = end == std::string_view::npos ? stream.size() : end + 1;
    if (is_marker(line, "---")) {
      finish();
      current.first_line = line_no;
      // "--- {inline: document}" keeps its content on the marker line.
      current.text.append(line).append("\n");
      content = has_content(line.substr(3));
      continue;
    }
    if (is_marker(line, "...")) {
      finish();
      current.first_line = line_no + 1;
      continue;
    }
    if (current.text.empty()) current.first_line = line_no;
    current.text.append(line).append("\n");
    content = content || has_content(line);
  }
  finish();
  return docs;
}

}  // namespace meshca
