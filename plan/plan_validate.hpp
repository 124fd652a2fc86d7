// Stage three of plan reading: the rules between fields of the resolved
// plan. Each rule is a small function that adds findings at the lines the
// operator has to edit; every rule runs (all findings are reported in one
// pass), except that a rule comparing fields that already have findings
// stays silent rather than repeat them in other words.
//
// Rules: unique mesh names, trust domains and cluster names; cross_sign
// needs root pathLen 2; a rotation's new root differs from the current
// one; CRL signers have cRLSign; every intermediate lies inside its root's
// validity and has its own subject; what each output layout requires of
// the certificates (output_layout::layout_requirements).
#pragma once

#include "plan/findings.hpp"
#include "plan/plan_document.hpp"
#include "plan/plan_resolve.hpp"

namespace meshca::ceremony {

void validate_plan(const PlanDocument& doc, const ResolvedPlan& resolved, Findings& findings, UnixTime now);

// rotation.current_ca (plan/adopted_ca.hpp): the adopted CA read (relative
// to `base_dir`) and pinned at `at`, each problem a finding at its field.
// Implemented in plan/adopted_ca.cpp beside the reader.
void check_adopted_ca(const AdoptedCaSection& section, const std::filesystem::path& base_dir, Findings& findings, UnixTime at);

}  // namespace meshca::ceremony
