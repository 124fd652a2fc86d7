#include <sstream>

#include "plan/ceremony_script.hpp"
#include "plan/readable_text.hpp"

// The renderers of the ceremony script (ceremony_script.hpp): Markdown, and
// one print-ready HTML page for the room.
namespace meshca::ceremony {
namespace {

// Numbered steps per printed page: each starts a page, so the sheet's page
// count and every step's page follow from the step count alone (what the
// PDF test checks), and a step never splits across pages.
constexpr std::size_t kStepsPerPage = 3;

// How many rows the cover's attendance table leaves for each role.
constexpr std::pair<const char*, int> kAttendance[] = {{"operator", 1}, {"witness", 3}, {"custodian", 2}};

std::string lettered(const char* prefix, std::size_t index) { return prefix + std::to_string(index + 1); }

std::string script_intro(const CeremonyScript& s) {
  return "Plan '" + s.plan_name + "': " + std::to_string(s.meshes) + " mesh" + (s.meshes == 1 ? "" : "es") + ", " +
         std::to_string(s.clusters) + " cluster" + (s.clusters == 1 ? "" : "s") + ", " + std::to_string(s.steps.size()) +
         " numbered steps. The numbers are the transcript's: meshca transcript verify prints the same steps under the same "
         "numbers. Fill in every blank from what the tool displays; initial each step as it completes.";
}

// ---- Markdown ----

void markdown_step(std::ostream& os, const std::string& label, const ScriptStep& step) {
  os << "\n### " << label << ". " << markdown_escape(step.title);
  if (!step.record.empty()) os << " (transcript: `" << step.record << "`)";
  os << "\n\n";
  for (const auto& [role, duty] : step.duties) os << "- **" << role << "**: " << markdown_escape(duty) << "\n";
  if (!step.expected.empty() || !step.blanks.empty()) os << "\n| must show | value |\n| --- | --- |\n";
  for (const auto& [what, value] : step.expected) os << "| " << markdown_escape(what) << " | `" << markdown_escape(value) << "` |\n";
  for (const auto& blank : step.blanks) os << "| " << markdown_escape(blank) << " | ________________________________ |\n";
  os << "\nTime: ______  Operator: ______  Witnesses: ______\n";
}

std::string render_script_markdown(const CeremonyScript& s) {
  std::ostringstream os;
  os << "# Ceremony script: `" << s.plan_name << "`\n\n"
     << "- Plan digest: `" << s.plan_digest << "`\n- " << markdown_escape(script_intro(s)) << "\n\n"
     << "| role | name | signature |\n| --- | --- | --- |\n";
  for (const auto& [role, rows] : kAttendance)
    for (int i = 0; i < rows; ++i) os << "| " << role << " | | |\n";
  os << "\n## Before the run\n";
  for (std::size_t i = 0; i < s.preparation.size(); ++i) markdown_step(os, lettered("P", i), s.preparation[i]);
  os << "\n## The run (meshca ceremony run)\n";
  for (const auto& step : s.steps) markdown_step(os, "Step " + std::to_string(step.number), step);
  os << "\n## After the run\n";
  for (std::size_t i = 0; i < s.closing.size(); ++i) markdown_step(os, lettered("C", i), s.closing[i]);
  return os.str();
}

// ---- HTML ----

// A4 portrait; everything inline (no fonts, images or scripts from
// anywhere), so the sheet prints the same in an offline room.
constexpr const char* kStyle =
    "@page{size:A4;margin:14mm 14mm 16mm}*{box-sizing:border-box}"
    "body{font-family:'DejaVu Sans',sans-serif;font-size:10pt;color:#000;margin:0}"
    "h1{font-size:16pt;margin:0 0 4mm}h2{font-size:13pt;margin:4mm 0 2mm}"
    ".page{break-before:page;page-break-before:always}"
    ".step{break-inside:avoid;page-break-inside:avoid;border:1px solid #444;padding:2mm 3mm;margin:0 0 4mm}"
    ".step h3{font-size:11pt;margin:0 0 2mm}.step h3 .rec{font-weight:normal;font-size:8pt;color:#444;float:right}"
    "table{border-collapse:collapse;table-layout:fixed;width:100%;margin:1mm 0}"
    "th,td{border:1px solid #999;padding:1mm 2mm;text-align:left;vertical-align:top}"
    "th{width:30%;background:#eee;font-weight:normal}"
    "code{font-family:'DejaVu Sans Mono',monospace;font-size:8.5pt;word-break:break-all}"
    "td.fill{height:7mm}.sign{margin:2mm 0 0}.sign span{display:inline-block;width:30mm;border-bottom:1px solid #000}"
    "table.people td{height:8mm}"
    "@media screen{body{max-width:190mm;margin:2em auto}}";

void html_step(std::ostream& os, const std::string& label, const ScriptStep& step) {
  os << "<section class=\"step\"><h3>" << html_escape(label) << ". " << html_escape(step.title);
  if (!step.record.empty()) os << " <span class=\"rec\">transcript: " << html_escape(step.record) << "</span>";
  os << "</h3>\n<table class=\"duties\">";
  for (const auto& [role, duty] : step.duties) os << "<tr><th>" << html_escape(role) << "</th><td>" << html_escape(duty) << "</td></tr>";
  os << "</table>\n";
  if (!step.expected.empty() || !step.blanks.empty()) {
    os << "<table class=\"values\">";
    for (const auto& [what, value] : step.expected)
      os << "<tr><th>" << html_escape(what) << "</th><td><code>" << html_escape(value) << "</code></td></tr>";
    for (const auto& blank : step.blanks) os << "<tr><th>" << html_escape(blank) << "</th><td class=\"fill\"></td></tr>";
    os << "</table>\n";
  }
  os << "<p class=\"sign\">Time <span></span> Operator <span></span> Witnesses <span></span></p></section>\n";
}

std::string render_script_html(const CeremonyScript& s) {
  std::ostringstream os;
  os << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>meshca ceremony script " << html_escape(s.plan_name)
     << "</title>\n<style>" << kStyle << "</style></head><body>\n";
  os << "<h1>Ceremony script: " << html_escape(s.plan_name) << "</h1>\n<p>Plan digest: <code>" << s.plan_digest << "</code></p>\n<p>"
     << html_escape(script_intro(s)) << "</p>\n<table class=\"people\"><tr><th>role</th><th>name</th><th>signature</th></tr>";
  for (const auto& [role, rows] : kAttendance)
    for (int i = 0; i < rows; ++i) os << "<tr><th>" << role << "</th><td></td><td></td></tr>";
  os << "</table>\n<h2>Before the run</h2>\n";
  for (std::size_t i = 0; i < s.preparation.size(); ++i) html_step(os, lettered("P", i), s.preparation[i]);
  for (const auto& step : s.steps) {
    if ((step.number - 1) % kStepsPerPage == 0) {
      os << "<div class=\"page\">" << (step.number == 1 ? "<h2>The run (meshca ceremony run)</h2>" : "") << "</div>\n";
    }
    html_step(os, "Step " + std::to_string(step.number), step);
  }
  os << "<div class=\"page\"><h2>After the run</h2></div>\n";
  for (std::size_t i = 0; i < s.closing.size(); ++i) html_step(os, lettered("C", i), s.closing[i]);
  os << "</body></html>\n";
  return os.str();
}

}  // namespace

// As with the plan views, anything unreadable that reaches the script is
// escaped visibly (the plan decoder refuses it in the first place).
std::string render_ceremony_script(const CeremonyScript& script, ScriptFormat format) {
  return escape_unreadable(format == ScriptFormat::html ? render_script_html(script) : render_script_markdown(script), true);
}

}  // namespace meshca::ceremony
