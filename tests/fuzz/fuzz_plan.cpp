// Fuzzes the plan parser and validator (ceremony::parse_plan). A plan that
// validates is also digested and rendered in every auditor view, as
// `meshca plan digest` and `meshca plan show` would. meshca::Error (exit 3
// with every finding) is the expected outcome for bad input.
#include <cstdint>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "plan/plan_digest.hpp"
#include "plan/plan_reader.hpp"
#include "plan/plan_view.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace meshca;
  const auto text = fuzz::as_text(data, size);
  try {
    ceremony::Plan plan = ceremony::parse_plan(text, "fuzz.yaml", "/nonexistent/meshca-fuzz", fuzz::kNow);
    (void)ceremony::plan_digest(plan.text, "fuzz.yaml");
    auto view = ceremony::plan_view(plan, fuzz::kNow);
    for (auto format : {ceremony::ViewFormat::text, ceremony::ViewFormat::markdown, ceremony::ViewFormat::json,
                        ceremony::ViewFormat::html, ceremony::ViewFormat::dot}) {
      (void)ceremony::render_plan_view(view, format);
    }
    (void)ceremony::plan_diff(view, view);
  } catch (const Error&) {
    // Refused with a message: the expected outcome for bad input.
  }
  return 0;
}
