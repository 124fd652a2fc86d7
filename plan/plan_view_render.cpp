#include "plan/plan_view.hpp"

#include <map>
#include <sstream>

#include "plan/readable_text.hpp"

// The renderers of the auditor's view (plan_view.hpp): text, Markdown,
// JSON, Graphviz and one HTML page with an inline SVG tree.
namespace meshca::ceremony {
namespace {

std::string dot_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

void render_rotation_text(std::ostream& os, const RotationView& r) {
  os << "\nROOT ROTATION (meshca rotate phases PLAN --out DIR)\n";
  for (const auto& [k, val] : r.fields) os << "  " << k << std::string(k.size() < 26 ? 26 - k.size() : 1, ' ') << val << "\n";
  for (const auto& p : r.phases) {
    os << "  Phase " << p.number << ": " << p.title << " (" << rotation_phase_dir(p.number) << "/)\n"
       << "    root-cert.pem   " << p.root_cert << "\n"
       << "    cert-chain.pem  " << p.cert_chain << "\n"
       << "    ca-cert.pem     " << p.intermediate << "\n";
    for (std::size_t i = 0; i < p.steps.size(); ++i) os << "    " << i + 1 << ". " << p.steps[i] << "\n";
    os << "    next phase when: " << p.done_when << "\n";
  }
}

void render_rotation_markdown(std::ostream& os, const RotationView& r) {
  os << "\n## Root rotation\n\n`meshca rotate phases PLAN --out DIR` writes one directory per phase.\n\n"
     << "| field | value |\n| --- | --- |\n";
  for (const auto& [k, val] : r.fields) os << "| " << k << " | " << markdown_escape(val) << " |\n";
  for (const auto& p : r.phases) {
    os << "\n### Phase " << p.number << ": " << markdown_escape(p.title) << " (`" << rotation_phase_dir(p.number) << "/`)\n\n"
       << "- root-cert.pem: " << markdown_escape(p.root_cert) << "\n- cert-chain.pem: " << markdown_escape(p.cert_chain)
       << "\n- ca-cert.pem: " << markdown_escape(p.intermediate) << "\n\n";
    for (std::size_t i = 0; i < p.steps.size(); ++i) os << i + 1 << ". " << markdown_escape(p.steps[i]) << "\n";
    os << "\nNext phase when: " << markdown_escape(p.done_when) << "\n";
  }
}

nlohmann::json rotation_json(const RotationView& r) {
  nlohmann::json phases = nlohmann::json::array();
  for (const auto& p : r.phases) {
    phases.push_back({{"number", p.number},
                      {"directory", rotation_phase_dir(p.number)},
                      {"title", p.title},
                      {"root_cert", p.root_cert},
                      {"cert_chain", p.cert_chain},
                      {"intermediate", p.intermediate},
                      {"steps", p.steps},
                      {"done_when", p.done_when}});
  }
  nlohmann::json fields = nlohmann::json::object();
  for (const auto& [k, val] : r.fields) fields[k] = val;
  return {{"fields", fields}, {"phases", phases}};
}

void render_rotation_html(std::ostream& os, const RotationView& r) {
  os << "<h2>Root rotation</h2>\n<table>\n";
  for (const auto& [k, val] : r.fields) os << "<tr><th>" << html_escape(k) << "</th><td>" << html_escape(val) << "</td></tr>\n";
  os << "</table>\n";
  for (const auto& p : r.phases) {
    os << "<h3>Phase " << p.number << ": " << html_escape(p.title) << " (<code>" << rotation_phase_dir(p.number)
       << "/</code>)</h3>\n<ul><li>root-cert.pem: " << html_escape(p.root_cert) << "</li><li>cert-chain.pem: " << html_escape(p.cert_chain)
       << "</li><li>ca-cert.pem: " << html_escape(p.intermediate) << "</li></ul>\n<ol>";
    for (const auto& step : p.steps) os << "<li>" << html_escape(step) << "</li>";
    os << "</ol>\n<p>Next phase when: " << html_escape(p.done_when) << ".</p>\n";
  }
}

std::string render_text(const PlanView& v) {
  std::ostringstream os;
  os << "Plan " << v.name << (v.description.empty() ? "" : ": " + v.description) << "\n"
     << "digest " << v.digest << "\n"
     << "times resolved as if the ceremony ran at " << format_rfc3339(v.resolved_at) << " (durations count from the ceremony's start)\n";
  for (const auto& [k, val] : v.settings) os << k << ": " << val << "\n";
  for (const auto& c : v.certificates) {
    os << "\n" << (c.role == "root" ? "ROOT CA" : "INTERMEDIATE CA " + c.id) << "\n";
    for (const auto& [k, val] : c.fields) {
      os << "  " << k << std::string(k.size() < 18 ? 18 - k.size() : 1, ' ') << val;
      if (auto it = c.sources.find(k); it != c.sources.end()) os << "  [from " << it->second.where << "]";
      os << "\n";
    }
  }
  os << "\nHierarchy\n  " << v.certificates.front().field("subject") << "\n";
  for (std::size_t m = 0; m < v.meshes.size(); ++m) {
    bool last_mesh = m + 1 == v.meshes.size();
    os << "  " << (last_mesh ? "└── " : "├── ") << "mesh " << v.meshes[m].first << " (trust domain " << v.meshes[m].second << ")\n";
    std::vector<const CertificateView*> clusters;
    for (const auto& c : v.certificates)
      if (c.mesh == v.meshes[m].first) clusters.push_back(&c);
    for (std::size_t i = 0; i < clusters.size(); ++i) {
      os << "  " << (last_mesh ? "    " : "│   ") << (i + 1 == clusters.size() ? "└── " : "├── ") << clusters[i]->cluster << "  "
         << clusters[i]->field("subject") << "\n";
    }
  }
  os << "\nPolicy warnings (" << v.warnings.size() << ")\n";
  for (const auto& w : v.warnings) os << "  WARN " << w.subject << ": " << w.message << "\n";
  if (v.warnings.empty()) os << "  none\n";
  if (v.rotation) render_rotation_text(os, *v.rotation);
  return os.str();
}

std::string render_markdown(const PlanView& v) {
  std::ostringstream os;
  os << "# Ceremony plan `" << v.name << "`\n\n";
  if (!v.description.empty()) os << markdown_escape(v.description) << "\n\n";
  os << "- Plan digest: `" << v.digest << "`\n- Times resolved as if the ceremony ran at " << format_rfc3339(v.resolved_at) << "\n";
  for (const auto& [k, val] : v.settings) os << "- " << k << ": " << markdown_escape(val) << "\n";
  for (const auto& c : v.certificates) {
    os << "\n## " << (c.role == "root" ? "Root CA" : "Intermediate CA `" + c.id + "`")
       << "\n\n| field | value | from |\n| --- | --- | --- |\n";
    for (const auto& [k, val] : c.fields) {
      auto it = c.sources.find(k);
      os << "| " << k << " | " << markdown_escape(val) << " | " << (it == c.sources.end() ? "" : markdown_escape(it->second.where))
         << " |\n";
    }
  }
  os << "\n## Policy warnings\n\n";
  for (const auto& w : v.warnings) os << "- **" << w.subject << "**: " << markdown_escape(w.message) << "\n";
  if (v.warnings.empty()) os << "None.\n";
  if (v.rotation) render_rotation_markdown(os, *v.rotation);
  return os.str();
}

nlohmann::json fields_json(const std::vector<std::pair<std::string, std::string>>& fields) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, val] : fields) j[k] = val;
  return j;
}

std::string render_json(const PlanView& v) {
  nlohmann::json j{{"name", v.name},
                   {"description", v.description},
                   {"digest", v.digest},
                   {"resolved_at", format_rfc3339(v.resolved_at)},
                   {"settings", fields_json(v.settings)}};
  j["meshes"] = nlohmann::json::array();
  for (const auto& [name, td] : v.meshes) j["meshes"].push_back({{"name", name}, {"trust_domain", td}});
  j["certificates"] = nlohmann::json::array();
  for (const auto& c : v.certificates) {
    nlohmann::json sources = nlohmann::json::object();
    for (const auto& [k, source] : c.sources) {
      sources[k] = {{"from", source.where}, {"level", source_level_name(source.level)}};
    }
    j["certificates"].push_back({{"id", c.id},
                                 {"role", c.role},
                                 {"mesh", c.mesh},
                                 {"cluster", c.cluster},
                                 {"fields", fields_json(c.fields)},
                                 {"sources", sources}});
  }
  j["warnings"] = nlohmann::json::array();
  for (const auto& w : v.warnings) j["warnings"].push_back({{"subject", w.subject}, {"message", w.message}});
  if (v.rotation) j["rotation"] = rotation_json(*v.rotation);
  return j.dump(2) + "\n";
}

std::string render_dot(const PlanView& v) {
  std::ostringstream os;
  os << "digraph \"" << dot_escape(v.name) << "\" {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\"];\n";
  const auto& root = v.certificates.front();
  os << "  root [label=\"" << dot_escape(root.field("subject")) << "\\n" << dot_escape(root.field("key")) << "\", style=bold];\n";
  for (const auto& [mesh, td] : v.meshes) {
    os << "  \"mesh:" << dot_escape(mesh) << "\" [label=\"mesh " << dot_escape(mesh) << "\\n"
       << dot_escape(td) << "\", shape=ellipse];\n  root -> \"mesh:" << dot_escape(mesh) << "\";\n";
  }
  for (const auto& c : v.certificates) {
    if (c.role == "root") continue;
    os << "  \"" << dot_escape(c.id) << "\" [label=\"" << dot_escape(c.cluster) << "\\n"
       << dot_escape(c.field("key")) << ", until " << dot_escape(c.field("not after").substr(0, 10))
       << "\"];\n  \"mesh:" << dot_escape(c.mesh) << "\" -> \"" << dot_escape(c.id) << "\";\n";
  }
  os << "}\n";
  return os.str();
}

// A three-row tree (root, meshes, clusters) laid out on a grid.
std::string render_svg(const PlanView& v) {
  constexpr int kBoxW = 190, kBoxH = 46, kGap = 20, kRowH = 110, kMargin = 20;
  std::vector<const CertificateView*> clusters;
  for (const auto& c : v.certificates)
    if (c.role != "root") clusters.push_back(&c);
  int columns = std::max<int>(1, static_cast<int>(clusters.size()));
  int width = kMargin * 2 + columns * (kBoxW + kGap) - kGap;
  int height = kMargin * 2 + 2 * kRowH + kBoxH;
  std::ostringstream os;
  // A small fleet's tree shrinks to the page width; a large one keeps its
  // legible size and scrolls sideways inside its own box.
  constexpr int kMaxScaledColumns = 12;
  os << "<div style=\"overflow-x:auto\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
     << "\" viewBox=\"0 0 " << width << " " << height << "\""
     << (columns <= kMaxScaledColumns ? " style=\"max-width:100%;height:auto\"" : "") << " font-family=\"sans-serif\" font-size=\"11\">\n";
  auto box = [&](int x, int y, const std::string& line1, const std::string& line2, const char* fill) {
    os << "<rect x=\"" << x << "\" y=\"" << y << "\" width=\"" << kBoxW << "\" height=\"" << kBoxH << "\" rx=\"6\" fill=\"" << fill
       << "\" stroke=\"#333\"/>\n<text x=\"" << x + kBoxW / 2 << "\" y=\"" << y + 19 << "\" text-anchor=\"middle\" font-weight=\"bold\">"
       << html_escape(truncate_characters(line1, 32)) << "</text>\n<text x=\"" << x + kBoxW / 2 << "\" y=\"" << y + 35
       << "\" text-anchor=\"middle\">" << html_escape(truncate_characters(line2, 36)) << "</text>\n";
  };
  auto line = [&](int x1, int y1, int x2, int y2) {
    os << "<line x1=\"" << x1 << "\" y1=\"" << y1 << "\" x2=\"" << x2 << "\" y2=\"" << y2 << "\" stroke=\"#666\"/>\n";
  };
  int root_x = width / 2 - kBoxW / 2;
  box(root_x, kMargin, "Root CA", v.certificates.front().field("key"), "#fde2b8");
  int col = 0;
  for (const auto& [mesh, td] : v.meshes) {
    int first = col;
    for (const auto* c : clusters) {
      if (c->mesh != mesh) continue;
      int x = kMargin + col * (kBoxW + kGap);
      box(x, kMargin + 2 * kRowH, c->cluster, c->field("key") + " until " + c->field("not after").substr(0, 10), "#d9ecff");
      ++col;
    }
    int mesh_x = kMargin + ((first + col - 1) * (kBoxW + kGap)) / 2;
    box(mesh_x, kMargin + kRowH, "mesh " + mesh, td, "#e3f5e1");
    line(root_x + kBoxW / 2, kMargin + kBoxH, mesh_x + kBoxW / 2, kMargin + kRowH);
    for (int i = first; i < col; ++i) {
      line(mesh_x + kBoxW / 2, kMargin + kRowH + kBoxH, kMargin + i * (kBoxW + kGap) + kBoxW / 2, kMargin + 2 * kRowH);
    }
  }
  os << "</svg></div>\n";
  return os.str();
}

std::string render_html(const PlanView& v) {
  std::ostringstream os;
  os << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>meshca plan " << html_escape(v.name)
     << "</title>\n<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:0.5em 0 1.5em}"
        "td,th{border:1px solid #bbb;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f2f2f2}"
        "code{background:#f4f4f4;padding:1px 4px}.warn{color:#8a4b00}</style></head><body>\n";
  os << "<h1>Ceremony plan <code>" << html_escape(v.name) << "</code></h1>\n<p>" << html_escape(v.description) << "</p>\n";
  os << "<p>Plan digest: <code>" << v.digest << "</code><br/>Times resolved as if the ceremony ran at " << format_rfc3339(v.resolved_at)
     << ".</p>\n<ul>";
  for (const auto& [k, val] : v.settings) os << "<li>" << html_escape(k) << ": " << html_escape(val) << "</li>";
  os << "</ul>\n<h2>Hierarchy</h2>\n" << render_svg(v);
  os << "<h2>Policy warnings (" << v.warnings.size() << ")</h2>\n<ul>\n";
  for (const auto& w : v.warnings)
    os << "<li class=\"warn\"><b>" << html_escape(w.subject) << "</b>: " << html_escape(w.message) << "</li>\n";
  os << "</ul>\n";
  for (const auto& c : v.certificates) {
    os << "<h2>" << (c.role == "root" ? std::string("Root CA") : "Intermediate CA <code>" + html_escape(c.id) + "</code>")
       << "</h2>\n<table>\n";
    for (const auto& [k, val] : c.fields) {
      auto it = c.sources.find(k);
      os << "<tr><th>" << html_escape(k) << "</th><td>" << html_escape(val) << "</td><td class=\"from\">"
         << (it == c.sources.end() ? "" : "from " + html_escape(it->second.where)) << "</td></tr>\n";
    }
    os << "</table>\n";
  }
  if (v.rotation) render_rotation_html(os, *v.rotation);
  os << "</body></html>\n";
  return os.str();
}

}  // namespace

std::optional<ViewFormat> parse_view_format(std::string_view name) {
  static const std::map<std::string, ViewFormat, std::less<>> kFormats{{"text", ViewFormat::text},
                                                                       {"markdown", ViewFormat::markdown},
                                                                       {"json", ViewFormat::json},
                                                                       {"html", ViewFormat::html},
                                                                       {"dot", ViewFormat::dot}};
  auto it = kFormats.find(name);
  if (it == kFormats.end()) return std::nullopt;
  return it->second;
}

// The parser refuses unreadable characters; a view escapes any that reach
// it all the same (a Plan built in code, a future field), in every format.
std::string render_plan_view(const PlanView& view, ViewFormat format) {
  switch (format) {
    case ViewFormat::text:
      return escape_unreadable(render_text(view), true);
    case ViewFormat::markdown:
      return escape_unreadable(render_markdown(view), true);
    case ViewFormat::json:
      return escape_unreadable_json(render_json(view));
    case ViewFormat::html:
      return escape_unreadable(render_html(view), true);
    case ViewFormat::dot:
      return escape_unreadable(render_dot(view), true, "\\\\");
  }
  return escape_unreadable(render_text(view), true);
}

}  // namespace meshca::ceremony
