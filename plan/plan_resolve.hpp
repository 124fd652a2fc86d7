// Stage two of plan reading: PlanDocument -> the resolved Plan.
//
// A pure function of the decoded document and the built-in profiles: it
// applies the precedence of plan.hpp (built-in defaults < the plan-wide
// profile < `defaults` < the mesh's profile < the mesh's `intermediate` <
// the cluster's `intermediate`), records for each value where it came from
// (ValueSources, shown by `plan show`) and expands every subject template.
// The only findings it adds are about expanded subjects (too long, no CN).
#pragma once

#include <map>
#include <string>

#include "plan/findings.hpp"
#include "plan/plan_document.hpp"

namespace meshca::ceremony {

// Where a cluster's resolved value is written (line 0: written nowhere in
// the plan, e.g. a profile's default) and which level it comes from.
struct FieldOrigin {
  SourceLocation at;
  ValueSource source;
};

struct ClusterOrigins {
  FieldOrigin validity;
  FieldOrigin algorithm;  // key.algorithm
};

struct ResolvedPlan {
  Plan plan;
  std::map<std::string, ClusterOrigins> origins;  // by cluster field path ("meshes[0].clusters[1]")
};

ResolvedPlan resolve_plan(const PlanDocument& doc, Findings& findings, UnixTime now);

}  // namespace meshca::ceremony
