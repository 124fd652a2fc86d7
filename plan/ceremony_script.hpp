// The ceremony script: the numbered steps of `meshca ceremony run` for the
// room, computed from the resolved plan in one place.
//
// ceremony_steps() is the single source of the step list. `meshca plan
// script` prints it as the sheet the witnesses hold (Markdown or print-ready
// HTML); the ceremony runner stamps each transcript record with the number
// of the step it belongs to (number_of); `meshca transcript verify` prints
// the recorded steps under the same numbers and titles. So the paper and the
// transcript can be compared line by line, and a test can compare them.
//
// A step shows what is known before the run (plan digest, key reference,
// subjects, pinned SPKI hashes, counts, layouts) and leaves a blank for what
// only the run knows (certificate fingerprints, the transcript head): the
// witness copies the value the tool displays. The checks before step 1 and
// after the last step happen in the room without a transcript record; they
// are lettered (P1.., C1..), not numbered.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plan/plan.hpp"

namespace meshca::ceremony {

struct ScriptStep {
  std::size_t number = 0;  // 1..N for recorded steps; 0 for the lettered checks before and after
  std::string record;      // the transcript record this step writes ("open", "intermediate", ...); "" for room checks
  std::string subject;     // "mesh/cluster" for a cluster's step, else ""
  std::string title;
  std::vector<std::pair<std::string, std::string>> duties;    // role ("operator", "witnesses", "custodians") -> what they do
  std::vector<std::pair<std::string, std::string>> expected;  // what the step must show, known before the run
  std::vector<std::string> blanks;                            // what the witness copies from the tool's output
};

struct CeremonyScript;
CeremonyScript ceremony_steps(const Plan& plan);

struct CeremonyScript {
  std::string plan_name;
  std::string plan_digest;
  std::size_t meshes = 0, clusters = 0;
  std::vector<ScriptStep> preparation;  // P1.. before the run
  std::vector<ScriptStep> steps;        // 1..N, as the transcript numbers them
  std::vector<ScriptStep> closing;      // C1.. after the run

  // The number of the step that writes transcript record `record` (for
  // "intermediate": of cluster `subject`, "mesh/cluster"); nullopt when the
  // script has no such step.
  std::optional<std::size_t> number_of(std::string_view record, std::string_view subject = {}) const;
  const ScriptStep* step(std::size_t number) const;

 private:
  friend CeremonyScript ceremony_steps(const Plan& plan);
  std::map<std::string, std::size_t> numbers_;  // record + "\n" + subject -> step number
};

// The script of `meshca ceremony run` for `plan`, in the order the runner
// records its steps (the per-cluster steps in plan order; the runner may
// record them in another order, under these numbers).
CeremonyScript ceremony_steps(const Plan& plan);

enum class ScriptFormat { markdown, html };
std::optional<ScriptFormat> parse_script_format(std::string_view name);
// HTML: one self-contained page with a print stylesheet (A4, a page break
// before the cluster steps and the closing checks), no network reference.
std::string render_ceremony_script(const CeremonyScript& script, ScriptFormat format);

}  // namespace meshca::ceremony
