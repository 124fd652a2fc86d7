// The phases of a root rotation as an operator reads them: for `meshca plan
// show` (before the ceremony) and OUT/PHASES.md (written by the rotation,
// ceremony/rotation.hpp). Only text about the plan; nothing here signs or
// writes.
#pragma once

#include <string>
#include <vector>

#include "plan/plan.hpp"

namespace meshca::ceremony {

inline constexpr int kRotationPhases = 3;
inline constexpr const char* kRotationRunbookFile = "PHASES.md";

// One phase of the procedure, for the operator.
struct RotationPhase {
  int number = 0;
  std::string title;
  std::string root_cert;   // what root-cert.pem trusts
  std::string cert_chain;  // what cert-chain.pem holds
  std::string intermediate;
  std::vector<std::string> steps;  // what to do, in order
  std::string done_when;           // when the next phase may start
};

// The phases of the plan's rotation (empty without a rotation section).
std::vector<RotationPhase> rotation_phases(const Plan& plan);

// The phases as a Markdown runbook (written to OUT/PHASES.md).
std::string rotation_runbook_markdown(const Plan& plan);

// The CA in service as the operator knows it: the plan's root, or an
// adopted CA (rotation.current_ca) by kind, file and pin, with the fact
// that its key never comes to the room.
std::string current_ca_description(const Plan& plan);

// `phase-N` below the rotation output.
std::string rotation_phase_dir(int phase);

}  // namespace meshca::ceremony
