// Certificate profiles: which extensions a meshca CA certificate carries.
//
// A profile is a YAML file in templates/profiles/ (embedded into the
// binary), chosen by `profile:` in the plan (plan-wide: the root and every
// mesh) or per mesh (that mesh's intermediates). It is parsed as strictly as
// a plan. Plan reading (plan_resolve.hpp) resolves it into RootPlan / IntermediatePlan
// (pathLen, keyUsage, intermediate defaults); root_profile() and
// intermediate_profile() turn those into pki::CertificateProfile, the single
// place that decides what a certificate contains. A profile also declares
// what a pre-issuance lint WARN does to its certificates (`lint_warnings`,
// which ceremony/issuance's lint gate reads). Built-in profiles:
//   meshca             the defaults of docs/architecture.md; every lint passes with no finding
//   istio-tools-certs  Istio's tools/certs Makefile recipe, for teams migrating
//   linkerd            what `step` makes for Linkerd (trust anchor + issuer)
//   spire              meshca with pathLen 1 on intermediates (SPIRE upstream CA)
// See docs/plan-reference.md ("Certificate profiles").
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "pki/certificate.hpp"
#include "plan/plan.hpp"

namespace meshca::ceremony {

// Root: CA:TRUE with the plan's pathLen (or the profile's); the profile's keyUsage.
pki::CertificateProfile root_profile(const RootPlan& root, UnixTime ceremony_time);

// Intermediate: CA:TRUE with the profile's pathLen and keyUsage; URI name
// constraint on the mesh's trust domain when the plan asks for it.
pki::CertificateProfile intermediate_profile(const MeshPlan& mesh, const ClusterPlan& cluster, UnixTime ceremony_time);

// Strict parsing of a profile document: MultiError(invalid_input) whose
// details read "source:line:column: field.path: what is wrong".
ProfileSpec parse_profile(std::string_view yaml_text, const std::string& source_name, UnixTime now);

// The fields the strict profile decoder accepted while reading `yaml_text`
// (see accepted_fields in plan_reader.hpp).
std::set<std::string> accepted_profile_fields(std::string_view yaml_text);

// A built-in profile by name; Error(invalid_input) when there is none.
ProfileSpec builtin_profile(std::string_view name, UnixTime now);

}  // namespace meshca::ceremony
