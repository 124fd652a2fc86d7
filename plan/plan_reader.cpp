#include "plan/plan_reader.hpp"

#include "core/error.hpp"
#include "core/files.hpp"
#include "plan/federation.hpp"
#include "plan/pinned_keys.hpp"
#include "plan/plan_decode.hpp"
#include "plan/plan_resolve.hpp"
#include "plan/plan_validate.hpp"
#include "plan/profiles.hpp"
#include "plan/rotation_trust.hpp"

namespace meshca::ceremony {

Plan parse_plan(std::string_view yaml_text, const std::string& source_name, const std::filesystem::path& base_dir, UnixTime now,
                PinnedKeyFiles pinned_key_files) {
  Findings findings(source_name);
  const PlanDocument doc = decode_plan(yaml_text, findings, now);
  ResolvedPlan resolved = resolve_plan(doc, findings, now);
  if (pinned_key_files == PinnedKeyFiles::read) read_pinned_keys(resolved, base_dir, findings);
  resolve_federation(doc, resolved, base_dir, findings);
  resolve_rotation_trust(doc, resolved, findings);
  if (doc.rotation && doc.rotation->current_ca) check_adopted_ca(*doc.rotation->current_ca, base_dir, findings, now);
  validate_plan(doc, resolved, findings, now);
  if (!findings.ok()) findings.fail("plan");
  Plan& plan = resolved.plan;
  plan.source = source_name;
  plan.base_dir = base_dir;
  plan.text = std::string(yaml_text);
  return std::move(plan);
}

std::set<std::string> accepted_fields(std::string_view yaml_text, DocumentKind kind) {
  if (kind == DocumentKind::profile) return accepted_profile_fields(yaml_text);
  Findings findings("fields");
  try {
    (void)decode_plan(yaml_text, findings, now_utc());
  } catch (const Error&) {
    // Invalid documents still show which fields the decoder accepts.
  }
  return findings.accepted();
}

Plan load_plan(const std::filesystem::path& path, UnixTime now, PinnedKeyFiles pinned_key_files) {
  std::string text = read_file(path, std::size_t{4} * 1024 * 1024);
  auto base = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  return parse_plan(text, path.string(), base, now, pinned_key_files);
}

}  // namespace meshca::ceremony
