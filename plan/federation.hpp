// Federation in the plan (`federation:`, docs/plan-reference.md): which
// meshes of the plan, and which external roots, trust each other.
//
// Decoding (decode_federation, declared in plan_decode.hpp) checks each
// entry's form. resolve_federation() runs after the plan is resolved: it
// refuses a federation naming an unknown mesh, a mesh named twice, fewer
// than two parties, duplicate federation names; opens every external root's
// file (relative to the plan's directory), which must hold one CA
// certificate and nothing else, whose SHA-256 is the pin; and refuses a
// trust domain claimed by two roots (an external root claiming a mesh's
// trust domain, or two different external roots claiming the same one).
// Each problem is a finding at the field. It then gives every member mesh
// its MeshPlan::trust: the plan's root vouching for the mesh's own trust
// domain and those of the plan's meshes it is federated with, and each
// external root of its federations vouching for its own trust domains.
#pragma once

#include <filesystem>

#include "plan/findings.hpp"
#include "plan/plan_resolve.hpp"

namespace meshca::ceremony {

void resolve_federation(const PlanDocument& doc, ResolvedPlan& resolved, const std::filesystem::path& base_dir, Findings& findings);

}  // namespace meshca::ceremony
