#include "ceremony/plan_parser.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <map>
#include <set>

#include "ceremony/profiles.hpp"
#include "ceremony/readable_text.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "hsm/pkcs11_uri.hpp"
#include "output_layout/yaml_documents.hpp"
#include "output_layout/layouts.hpp"
#include "templates/embedded.hpp"

namespace meshca::ceremony {
namespace {

constexpr std::string_view kApiVersion = "meshca/v1";
constexpr std::string_view kKind = "CeremonyPlan";
constexpr std::string_view kProfileKind = "CertificateProfile";
constexpr int kMaxPathLen = 8;

// The 0-based line and column of the first byte that is not well-formed
// UTF-8 (overlongs, surrogates and code points past U+10FFFF included) or is
// a control character YAML does not allow, or nullopt. YAML requires UTF-8,
// and the digest's canonical JSON does too.
std::optional<std::pair<int, int>> first_invalid_utf8(std::string_view text) {
  int line = 0, column = 0;
  for (std::size_t i = 0; i < text.size();) {
    Utf8Char c = decode_utf8(text, i);
    // YAML's printable set excludes C0 controls other than tab, CR and LF
    // (yaml-cpp 0.7 loops forever on a NUL inside a document).
    bool control = (c.code_point < 0x20 && c.code_point != '\t' && c.code_point != '\n' && c.code_point != '\r') ||
                   c.code_point == 0x7f;
    if (!c.ok || control) return std::pair{line, column};
    if (c.code_point == '\n') {
      ++line;
      column = 0;
    } else {
      ++column;
    }
    i += c.length;
  }
  return std::nullopt;
}

// Collects findings with their location and field path.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  void error(const YAML::Node& at, const std::string& path, const std::string& message) {
    error(at.Mark(), path, message);
  }
  void error(const YAML::Mark& mark, const std::string& path, const std::string& message) {
    std::string where = file_;
    if (!mark.is_null()) where += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    errors_.push_back({mark.is_null() ? -1 : mark.line, mark.is_null() ? -1 : mark.column, path,
                       where + ": " + (path.empty() ? "" : path + ": ") + message});
  }
  SourceLocation location(const YAML::Node& node) const {
    auto m = node.Mark();
    return {file_, m.is_null() ? 0 : m.line + 1, m.is_null() ? 0 : m.column + 1};
  }
  bool ok() const { return errors_.empty(); }

  // Every finding, in the order of the lines they point at (the order the
  // operator fixes them in); findings about the whole document come first.
  std::vector<std::string> errors() const {
    std::vector<Finding> sorted = errors_;
    std::stable_sort(sorted.begin(), sorted.end(), [](const Finding& a, const Finding& b) {
      return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
    std::vector<std::string> text;
    for (const auto& f : sorted) text.push_back(f.text);
    return text;
  }

  // True when a finding's field path has a component ending in one of
  // `fields` ("validity" matches root.validity and defaults.intermediate.
  // validity): a cross-field check that depends on those fields has nothing
  // sound to compare and stays silent, while independent checks still run.
  bool any_error_in(std::initializer_list<std::string_view> fields) const {
    for (const auto& f : errors_) {
      for (std::string_view field : fields) {
        for (auto pos = f.path.find(field); pos != std::string::npos; pos = f.path.find(field, pos + 1)) {
          const auto end = pos + field.size();
          const bool starts = pos == 0 || f.path[pos - 1] == '.' || f.path[pos - 1] == ']';
          const bool ends = end == f.path.size() || f.path[end] == '.' || f.path[end] == '[';
          if (starts && ends) return true;
        }
      }
    }
    return false;
  }

  // Records the fields a mapping accepts ("meshes[].clusters[].name"), so
  // the documentation can be checked against the parser.
  void accept(const std::string& path, const std::vector<std::string>& keys) {
    std::string normalized;
    for (std::size_t i = 0; i < path.size(); ++i) {
      normalized.push_back(path[i]);
      if (path[i] == '[') {
        while (i + 1 < path.size() && path[i + 1] != ']') ++i;
      }
    }
    for (const auto& key : keys) accepted_.insert(normalized.empty() ? key : normalized + "." + key);
  }
  const std::set<std::string>& accepted() const { return accepted_; }

 private:
  struct Finding {
    int line;  // -1: about the whole document
    int column;
    std::string path;
    std::string text;
  };
  std::string file_;
  std::vector<Finding> errors_;
  std::set<std::string> accepted_;
};

// "ab12…" or "AB:12:…" (64 hex digits) as pki::sha256_fingerprint prints
// it; "" when `text` is not a SHA-256 fingerprint.
std::string normalized_sha256_fingerprint(std::string_view text) {
  std::string hex;
  for (char c : text) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return {};
    hex.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  if (hex.size() != 64) return {};
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) out += (out.empty() ? "" : ":") + hex.substr(i, 2);
  return out;
}

std::string join_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}
std::string index_path(const std::string& parent, std::size_t i) { return parent + "[" + std::to_string(i) + "]"; }

std::string type_name(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Null: return "empty";
    default: return "undefined";
  }
}

// A mapping read with strict key checking: every key must be known and
// appear once; a missing required key is reported at the mapping.
class MapReader {
 public:
  MapReader(Diagnostics& d, const YAML::Node& node, std::string path, std::vector<std::string> known)
      : d_(d), node_(node), path_(std::move(path)) {
    d_.accept(path_, known);
    if (!node.IsMap()) {
      d_.error(node, path_, "must be a mapping, found " + type_name(node));
      valid_ = false;
      return;
    }
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) {
        d_.error(it->first, path_, "keys must be plain strings");
        continue;
      }
      std::string key = it->first.Scalar();
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        d_.error(it->first, join_path(path_, escape_unreadable(key, false)), "unknown field; expected one of: " + list(known));
        continue;
      }
      if (!seen.insert(key).second) {
        d_.error(it->first, join_path(path_, key), "duplicate key");
        continue;
      }
      values_.emplace(key, it->second);
    }
  }

  bool valid() const { return valid_; }
  const YAML::Node& node() const { return node_; }
  const std::string& path() const { return path_; }
  std::string field(const std::string& key) const { return join_path(path_, key); }
  bool has(const std::string& key) const { return values_.count(key) && !values_.at(key).IsNull(); }
  YAML::Node get(const std::string& key) const { return values_.count(key) ? values_.at(key) : YAML::Node(); }

  // A present, non-null value or an error "missing required field".
  std::optional<YAML::Node> required(const std::string& key) {
    if (has(key)) return values_.at(key);
    if (valid_) d_.error(node_, field(key), "missing required field");
    return std::nullopt;
  }

  std::optional<std::string> string(const std::string& key, bool required_field) {
    if (!has(key)) {
      if (required_field && valid_) d_.error(node_, field(key), "missing required field");
      return std::nullopt;
    }
    const YAML::Node& v = values_.at(key);
    if (!v.IsScalar()) {
      d_.error(v, field(key), "must be a string, found " + type_name(v));
      return std::nullopt;
    }
    if (v.Scalar().empty()) {
      d_.error(v, field(key), "must not be empty");
      return std::nullopt;
    }
    // Every string an operator or auditor reads: names, subjects, trust
    // domains, labels. Only a description may hold line breaks and tabs.
    if (auto bad = first_unreadable(v.Scalar(), key == "description")) {
      d_.error(v, field(key), unreadable_problem(*bad));
      return std::nullopt;
    }
    return v.Scalar();
  }

  std::optional<int> integer(const std::string& key, int min, int max) {
    if (!has(key)) return std::nullopt;
    const YAML::Node& v = values_.at(key);
    int value = 0;
    const std::string& s = v.IsScalar() ? v.Scalar() : std::string();
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (!v.IsScalar() || v.Tag() == "!" || ec != std::errc() || ptr != s.data() + s.size()) {
      d_.error(v, field(key), "must be a whole number");
      return std::nullopt;
    }
    if (value < min || value > max) {
      d_.error(v, field(key), "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return std::nullopt;
    }
    return value;
  }

  std::optional<bool> boolean(const std::string& key) {
    if (!has(key)) return std::nullopt;
    const YAML::Node& v = values_.at(key);
    if (v.IsScalar() && v.Tag() != "!" && (v.Scalar() == "true" || v.Scalar() == "false")) return v.Scalar() == "true";
    d_.error(v, field(key), "must be true or false");
    return std::nullopt;
  }

  static std::string list(const std::vector<std::string>& items) {
    std::string s;
    for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
    return s;
  }

 private:
  Diagnostics& d_;
  YAML::Node node_;
  std::string path_;
  bool valid_ = true;
  std::map<std::string, YAML::Node> values_;
};

// Field-wise overrides for an intermediate (defaults, then per cluster).
struct IntermediateOverrides {
  std::optional<pki::KeyAlgorithm> algorithm;
  std::optional<ValiditySpec> validity;
  std::vector<std::pair<std::string, std::string>> subject;  // templates, merged per attribute
  std::optional<NameConstraintsMode> name_constraints;
  std::optional<SourceLocation> validity_at;   // where `validity` (or not_after) is written
  std::optional<SourceLocation> algorithm_at;  // where key.algorithm is written
  ValueSources sources;  // of the fields set above, subject per attribute

  // `top` wins field by field (subject attribute by attribute).
  void overlay(const IntermediateOverrides& top) {
    for (const auto& [field, source] : top.sources) sources[field] = source;
    if (top.algorithm) algorithm_at = top.algorithm_at;  // a profile's algorithm is written nowhere in the plan
    if (top.algorithm) algorithm = top.algorithm;
    if (top.validity) validity = top.validity;
    if (top.validity) validity_at = top.validity_at;  // a profile's validity is written nowhere in the plan
    if (top.name_constraints) name_constraints = top.name_constraints;
    for (const auto& entry : top.subject) {  // not a structured binding: clang 14 cannot capture one
      auto it = std::find_if(subject.begin(), subject.end(), [&](const auto& p) { return p.first == entry.first; });
      if (it != subject.end()) {
        it->second = entry.second;
      } else {
        subject.push_back(entry);
      }
    }
  }
};

// The intermediate defaults a profile gives (key, validity, subject).
IntermediateOverrides profile_defaults(const ProfileSpec& profile, const ValueSource& source) {
  IntermediateOverrides o;
  o.algorithm = profile.algorithm;
  o.validity = profile.validity;
  o.subject = profile.subject;
  o.sources["key.algorithm"] = source;
  o.sources["validity"] = source;
  for (const auto& [attr, value] : profile.subject) o.sources["subject." + attr] = source;
  return o;
}

// The profile named at one level (plan-wide or a mesh's), with the source
// its values carry.
struct ChosenProfile {
  ProfileSpec spec;
  ValueSource source;
};

// What the plan-wide level gives each mesh.
struct PlanLevel {
  ChosenProfile profile;            // plan-wide, or the built-in default
  IntermediateOverrides defaults;   // `defaults.intermediate` over the built-in name_constraints
  IntermediateOverrides resolved;   // the profile's intermediate defaults, then `defaults`
};

class PlanParser {
 public:
  PlanParser(std::string source_name, std::filesystem::path base_dir, UnixTime now)
      : d_(source_name), base_dir_(std::move(base_dir)), now_(now) {}

  const std::set<std::string>& accepted_fields() const { return d_.accepted(); }

  Plan parse(std::string_view text) {
    YAML::Node root = load(text, "plan");
    Plan plan;
    plan.text = std::string(text);
    plan.base_dir = base_dir_;
    read_document(root, plan);
    if (!d_.ok()) fail("plan");
    return plan;
  }

  ProfileSpec parse_profile(std::string_view text) {
    YAML::Node root = load(text, "profile");
    ProfileSpec profile;
    read_profile_document(root, profile);
    if (!d_.ok()) fail("profile");
    return profile;
  }

 private:
  YAML::Node load(std::string_view text, const char* what) {
    if (auto bad = first_invalid_utf8(text)) {
      YAML::Mark mark;
      mark.line = bad->first;
      mark.column = bad->second;
      d_.error(mark, "", std::string("the ") + what + " is not valid UTF-8 text (a malformed byte or a control character)");
      fail(what);
    }
    // A second document would be invisible to the ceremony and the digest
    // alike, yet readable by an auditor: refuse it. (Not YAML::LoadAll: it
    // can loop forever on malformed input, see output_layout/yaml_documents.)
    auto docs = output_layout::split_yaml_documents(text);
    if (docs.size() > 1) {
      YAML::Mark mark;
      mark.line = docs[1].first_line;
      mark.column = 0;
      d_.error(mark, "", std::string("a second YAML document ('---'); a ") + what + " is exactly one document");
      fail(what);
    }
    try {
      return YAML::Load(std::string(text));
    } catch (const YAML::DeepRecursion& e) {
      // yaml-cpp words this "bad file"; say what is actually wrong.
      d_.error(e.mark, "", std::string("the ") + what + " nests collections deeper than the YAML parser allows (" +
                               std::to_string(e.depth()) + " levels); a plan needs fewer than ten");
      fail(what);
    } catch (const YAML::Exception& e) {
      if (auto tab = indenting_tab(text, e.mark)) {
        d_.error(*tab, "", "a tab character in the indentation (YAML indents with spaces only; yaml-cpp says: " + e.msg + ")");
      } else {
        d_.error(e.mark, "", "YAML syntax error: " + e.msg);
      }
      fail(what);
    }
  }

  // The first tab in the leading whitespace of a line up to the one the
  // parser stopped at: YAML forbids tabs there, and the parser's own message
  // ("illegal block entry", "illegal map value", ...) does not say so.
  static std::optional<YAML::Mark> indenting_tab(std::string_view text, const YAML::Mark& stop) {
    int line = 0;
    for (std::size_t start = 0; start <= text.size();) {
      if (!stop.is_null() && line > stop.line) break;
      const auto end = std::min(text.find('\n', start), text.size());
      for (std::size_t i = start; i < end && (text[i] == ' ' || text[i] == '\t' || text[i] == '-'); ++i) {
        if (text[i] == '\t') {
          YAML::Mark mark;
          mark.line = line;
          mark.column = static_cast<int>(i - start);
          return mark;
        }
      }
      start = end + 1;
      ++line;
    }
    return std::nullopt;
  }

  [[noreturn]] void fail(const char* what) {
    const auto errors = d_.errors();
    std::string summary = std::string("the ") + what + " has " + std::to_string(errors.size()) + " error" +
                          (errors.size() == 1 ? "" : "s");
    throw MultiError(ExitCode::invalid_input, summary, errors);
  }

  void read_document(const YAML::Node& doc, Plan& plan) {
    if (doc.IsNull()) {
      d_.error(doc, "", "the plan is empty; start from `meshca plan init`");
      return;
    }
    MapReader top(d_, doc, "", {"apiVersion", "kind", "metadata", "organization", "profile", "root", "defaults", "meshes", "outputs",
                                "rotation", "revocation"});
    if (!top.valid()) return;
    if (auto v = top.string("apiVersion", true); v && *v != kApiVersion) {
      d_.error(top.get("apiVersion"), "apiVersion", "unsupported version '" + *v + "'; this meshca reads " + std::string(kApiVersion));
    }
    if (auto v = top.string("kind", true); v && *v != kKind) {
      d_.error(top.get("kind"), "kind", "must be " + std::string(kKind));
    }
    if (auto m = top.required("metadata")) read_metadata(*m, plan);
    plan.organization = top.string("organization", false).value_or("");
    const PlanLevel plan_level = read_plan_level(top, plan);
    if (auto r = top.required("root")) read_root(*r, "root", plan.root);
    apply_root_profile(plan_level.profile, plan.root);
    if (top.has("outputs")) read_outputs(top.get("outputs"), "outputs", plan.outputs);
    if (auto m = top.required("meshes")) read_meshes(*m, plan, plan_level);
    if (top.has("rotation")) read_rotation(top.get("rotation"), plan);
    if (top.has("revocation")) {
      read_revocation(top.get("revocation"), plan.revocation);
      check_crl_signers(top.get("revocation"), plan);
    }
    check_hierarchy(plan);
    check_layouts(plan);
  }

  // The plan-wide `profile` and `defaults`. Precedence, lowest first: the
  // plan-wide (or built-in) profile, then `defaults.intermediate`; meshes
  // and clusters overlay their own (read_meshes).
  PlanLevel read_plan_level(MapReader& top, Plan& plan) {
    const bool named = top.has("profile");
    ChosenProfile profile{read_profile_choice(top, plan.profile), {}};
    profile.source = named ? ValueSource{SourceLevel::plan_profile, "profile " + plan.profile + " (plan-wide)"}
                           : ValueSource{SourceLevel::builtin, "profile " + plan.profile + " (built-in default)"};
    PlanLevel level{profile, {}, profile_defaults(profile.spec, profile.source)};
    level.defaults.name_constraints = NameConstraintsMode::none;
    level.defaults.sources["name_constraints"] = {SourceLevel::builtin, "built-in default"};
    if (top.has("defaults")) read_defaults(top.get("defaults"), level.defaults);
    level.resolved.overlay(level.defaults);
    return level;
  }

  // ---- certificate profiles ----------------------------------------------

  // `profile: NAME` in `m` (plan or mesh): a built-in profile. `name` keeps
  // its value when the field is absent.
  ProfileSpec read_profile_choice(MapReader& m, std::string& name) {
    if (auto chosen = m.string("profile", false)) {
      if (templates::profile_text(*chosen)) {
        name = *chosen;
      } else {
        std::string known;
        for (const auto& n : templates::profile_names()) known += (known.empty() ? "" : ", ") + n;
        d_.error(m.get("profile"), m.field("profile"), "unknown profile '" + *chosen + "'; built-in profiles: " + known);
      }
    }
    try {
      return builtin_profile(name, now_);
    } catch (const MultiError& e) {
      for (const auto& detail : e.details()) d_.error(m.node(), m.field("profile"), detail);
    }
    return {};
  }

  // The plan-wide profile decides the root's keyUsage, and its pathLen
  // unless root.path_len is given.
  void apply_root_profile(const ChosenProfile& profile, RootPlan& root) {
    root.key_usage = profile.spec.root.key_usage;
    root.sources["key_usage"] = profile.source;
    if (root_path_len_given_) {
      root.sources["path_len"] = {SourceLevel::root, "root.path_len"};
      return;
    }
    root.path_len = profile.spec.root.path_len;
    root.sources["path_len"] = profile.source;
  }

  void read_profile_document(const YAML::Node& doc, ProfileSpec& p) {
    if (doc.IsNull()) {
      d_.error(doc, "", "the profile is empty");
      return;
    }
    MapReader top(d_, doc, "", {"apiVersion", "kind", "metadata", "root", "intermediate"});
    if (!top.valid()) return;
    if (auto v = top.string("apiVersion", true); v && *v != kApiVersion) {
      d_.error(top.get("apiVersion"), "apiVersion", "unsupported version '" + *v + "'; this meshca reads " + std::string(kApiVersion));
    }
    if (auto v = top.string("kind", true); v && *v != kProfileKind) {
      d_.error(top.get("kind"), "kind", "must be " + std::string(kProfileKind));
    }
    if (auto node = top.required("metadata")) {
      MapReader m(d_, *node, "metadata", {"name", "description"});
      if (auto name = m.string("name", true)) {
        if (!is_dns1123_label(*name)) d_.error(m.get("name"), "metadata.name", "'" + *name + "' " + kDnsLabelRule);
        p.name = *name;
      }
      p.description = m.string("description", false).value_or("");
    }
    if (auto node = top.required("root")) {
      MapReader m(d_, *node, "root", {"path_len", "key_usage"});
      if (m.valid()) p.root = read_ca_extensions(m, 1);
    }
    if (auto node = top.required("intermediate")) {
      MapReader m(d_, *node, "intermediate", {"path_len", "key_usage", "dns_names", "key", "validity", "subject"});
      if (!m.valid()) return;
      p.intermediate = read_ca_extensions(m, 0);
      p.intermediate.dns_names = read_dns_names(m);
      if (auto key = m.required("key")) {
        MapReader k(d_, *key, m.field("key"), {"algorithm"});
        if (auto alg = read_algorithm(k)) p.algorithm = *alg;
      }
      if (auto v = read_validity(m, true)) p.validity = *v;
      if (auto subject = m.required("subject")) {
        merge_subject(*subject, m.field("subject"), p.subject, true);
        if (subject->IsMap() && std::none_of(p.subject.begin(), p.subject.end(), [](const auto& a) { return a.first == "CN"; })) {
          d_.error(*subject, m.field("subject.CN"), "missing required field");
        }
      }
    }
  }

  // path_len (a number from `min_path_len`, or `unlimited`) and key_usage.
  CaExtensionsSpec read_ca_extensions(MapReader& m, int min_path_len) {
    CaExtensionsSpec ext;
    if (auto v = m.required("path_len")) {
      if (v->IsScalar() && v->Scalar() == "unlimited") {
        ext.path_len = std::nullopt;
      } else {
        ext.path_len = m.integer("path_len", min_path_len, kMaxPathLen);
        if (!ext.path_len) ext.path_len = min_path_len;  // reported; keep a value
      }
    }
    if (auto list = m.required("key_usage")) {
      static const std::vector<std::string> known{"digitalSignature", "keyCertSign", "cRLSign", "nonRepudiation",
                                                  "keyEncipherment"};
      if (!list->IsSequence() || list->size() == 0) {
        d_.error(*list, m.field("key_usage"), "must be a non-empty list of " + MapReader::list(known));
        return ext;
      }
      std::set<std::string> seen;
      for (std::size_t i = 0; i < list->size(); ++i) {
        const YAML::Node item = (*list)[i];
        std::string path = index_path(m.field("key_usage"), i);
        if (!item.IsScalar() || std::find(known.begin(), known.end(), item.Scalar()) == known.end()) {
          d_.error(item, path, "unknown key usage; a meshca CA certificate can carry " + MapReader::list(known));
        } else if (!seen.insert(item.Scalar()).second) {
          d_.error(item, path, "duplicate key usage");
        }
      }
      ext.key_usage = {.digital_signature = seen.count("digitalSignature") > 0,
                       .key_cert_sign = seen.count("keyCertSign") > 0,
                       .crl_sign = seen.count("cRLSign") > 0,
                       .non_repudiation = seen.count("nonRepudiation") > 0,
                       .key_encipherment = seen.count("keyEncipherment") > 0};
      if (!ext.key_usage.key_cert_sign && !seen.empty()) {
        d_.error(*list, m.field("key_usage"), "must include keyCertSign: a CA certificate signs certificates");
      }
    }
    return ext;
  }

  // dns_names: DNS subjectAltName entries an intermediate carries.
  std::vector<std::string> read_dns_names(MapReader& m) {
    std::vector<std::string> names;
    if (!m.has("dns_names")) return names;
    const YAML::Node list = m.get("dns_names");
    if (!list.IsSequence()) {
      d_.error(list, m.field("dns_names"), "must be a list of DNS names");
      return names;
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      const YAML::Node item = list[i];
      bool ok = item.IsScalar() && !item.Scalar().empty();
      for (std::size_t start = 0; ok && start <= item.Scalar().size();) {
        auto end = item.Scalar().find('.', start);
        if (end == std::string::npos) end = item.Scalar().size();
        ok = is_dns1123_label(item.Scalar().substr(start, end - start));
        start = end + 1;
      }
      if (!ok) {
        d_.error(item, index_path(m.field("dns_names"), i), "must be a DNS name of DNS-1123 labels");
      } else {
        names.push_back(item.Scalar());
      }
    }
    return names;
  }

  void read_metadata(const YAML::Node& node, Plan& plan) {
    MapReader m(d_, node, "metadata", {"name", "description"});
    if (auto name = m.string("name", true)) {
      if (!is_dns1123_label(*name)) {
        d_.error(m.get("name"), "metadata.name", "'" + *name + "' " + kDnsLabelRule);
      }
      plan.name = *name;
    }
    plan.description = m.string("description", false).value_or("");
  }

  void read_defaults(const YAML::Node& node, IntermediateOverrides& defaults) {
    MapReader m(d_, node, "defaults", {"intermediate"});
    if (m.has("intermediate")) {
      read_intermediate(m.get("intermediate"), "defaults.intermediate", defaults,
                        {SourceLevel::plan_defaults, "defaults.intermediate"});
    }
  }

  // An `intermediate` section (plan defaults, mesh or cluster) overlaid on
  // `o`: every field it sets wins and records `source`.
  void read_intermediate(const YAML::Node& node, const std::string& path, IntermediateOverrides& o,
                         const ValueSource& source) {
    MapReader m(d_, node, path, {"key", "validity", "not_before", "not_after", "subject", "name_constraints"});
    if (!m.valid()) return;
    if (m.has("key")) {
      MapReader key(d_, m.get("key"), m.field("key"), {"algorithm"});
      if (auto alg = read_algorithm(key)) {
        o.algorithm = alg;
        o.algorithm_at = d_.location(key.get("algorithm"));
        o.sources["key.algorithm"] = source;
      }
    }
    if (auto v = read_validity(m, false)) {
      o.validity = v;
      // Where the value is written: the operator edits that line.
      o.validity_at = d_.location(m.has("validity") ? m.get("validity") : m.has("not_after") ? m.get("not_after") : m.node());
      o.sources["validity"] = source;
    }
    if (m.has("subject")) {
      for (const auto& attr : merge_subject(m.get("subject"), m.field("subject"), o.subject, true)) {
        o.sources["subject." + attr] = source;
      }
    }
    if (auto nc = m.string("name_constraints", false)) {
      o.sources["name_constraints"] = source;
      if (*nc == "trust_domain") {
        o.name_constraints = NameConstraintsMode::trust_domain;
      } else if (*nc == "none") {
        o.name_constraints = NameConstraintsMode::none;
      } else {
        d_.error(m.get("name_constraints"), m.field("name_constraints"),
                 "'" + *nc + "' is not a name constraints mode; use trust_domain or none");
      }
    }
  }

  std::optional<pki::KeyAlgorithm> read_algorithm(MapReader& key) {
    auto name = key.string("algorithm", true);
    if (!name) return std::nullopt;
    if (auto alg = pki::parse_key_algorithm(*name)) return alg;
    std::string message = "unknown algorithm '" + *name + "'; use " + pki::key_algorithm_choices();
    if (name->starts_with("rsa-")) {
      int bits = 0;
      std::from_chars(name->data() + 4, name->data() + name->size(), bits);
      if (bits > 0 && bits < 2048) message = "RSA keys shorter than 2048 bits are not accepted; use rsa-2048 or larger";
    }
    d_.error(key.get("algorithm"), key.field("algorithm"), message);
    return std::nullopt;
  }

  std::optional<UnixTime> read_time(MapReader& m, const std::string& key) {
    auto text = m.string(key, false);
    if (!text) return std::nullopt;
    std::string error;
    auto t = parse_rfc3339(*text, error);
    if (!t) d_.error(m.get(key), m.field(key), error);
    return t;
  }

  std::optional<ValiditySpec> read_validity(MapReader& m, bool required) {
    ValiditySpec v;
    bool any = false;
    if (auto text = m.string("validity", false)) {
      std::string error;
      v.duration = parse_duration(*text, error);
      if (!v.duration) {
        d_.error(m.get("validity"), m.field("validity"), error);
        return std::nullopt;
      }
      any = true;
    }
    if (m.has("not_before")) {
      v.not_before = read_time(m, "not_before");
      if (!v.not_before) return std::nullopt;  // already reported
      any = true;
    }
    if (m.has("not_after")) {
      v.not_after = read_time(m, "not_after");
      if (m.has("validity")) {
        d_.error(m.get("not_after"), m.field("not_after"), "give either validity or not_after, not both");
        return std::nullopt;
      }
      if (!v.not_after) return std::nullopt;  // already reported
      any = true;
    }
    if (!any) {
      if (required) d_.error(m.node(), m.field("validity"), "missing required field (a duration such as 20y, or not_after)");
      return std::nullopt;
    }
    if (!v.duration && !v.not_after) {
      d_.error(m.node(), m.field("validity"), "not_before alone does not say when the certificate ends; add validity or not_after");
      return std::nullopt;
    }
    if (v.not_before && v.not_after && *v.not_after <= *v.not_before) {
      d_.error(m.get("not_after"), m.field("not_after"), "must be later than not_before");
      return std::nullopt;
    }
    if (v.not_after && *v.not_after <= now_) {
      d_.error(m.get("not_after"), m.field("not_after"), "is in the past");
      return std::nullopt;
    }
    if (!v.not_after && add_duration(v.not_before.value_or(now_), *v.duration) <= now_) {
      d_.error(m.get("validity"), m.field("validity"),
               "ends in the past (" + format_rfc3339(add_duration(v.not_before.value_or(now_), *v.duration)) + ", counted from not_before)");
      return std::nullopt;
    }
    return v;
  }

  // Subject attributes; `templates` allows {mesh}-style placeholders.
  // Returns the attributes it set.
  std::vector<std::string> merge_subject(const YAML::Node& node, const std::string& path,
                                         std::vector<std::pair<std::string, std::string>>& attrs, bool templates) {
    std::vector<std::string> set;
    MapReader m(d_, node, path, pki::DistinguishedName::known_attributes());
    if (!m.valid()) return set;
    for (const auto& attr : pki::DistinguishedName::known_attributes()) {
      auto value = m.string(attr, false);
      if (!value) continue;
      std::string problem = attribute_problem(attr, *value, templates);
      if (problem.empty() && templates) problem = placeholder_problem(attr, *value);
      if (!problem.empty()) {
        d_.error(m.get(attr), m.field(attr), problem);
        continue;
      }
      auto it = std::find_if(attrs.begin(), attrs.end(), [&](const auto& p) { return p.first == attr; });
      if (it != attrs.end()) {
        it->second = *value;
      } else {
        attrs.emplace_back(attr, *value);
      }
      set.push_back(attr);
    }
    return set;
  }

  // "" when every {name} in `tmpl` is a placeholder expand_subject knows.
  static std::string placeholder_problem(const std::string& attr, const std::string& tmpl) {
    static const std::set<std::string> known{"mesh", "cluster", "trust_domain", "organization"};
    for (auto open = tmpl.find('{'); open != std::string::npos; open = tmpl.find('{', open + 1)) {
      auto close = tmpl.find('}', open);
      std::string var = tmpl.substr(open + 1, close == std::string::npos ? std::string::npos : close - open - 1);
      if (close == std::string::npos || !known.count(var)) {
        return "unknown placeholder '{" + var + "}' in subject " + attr +
               "; use {mesh}, {cluster}, {trust_domain} or {organization}";
      }
    }
    return {};
  }

  static std::string attribute_problem(const std::string& attr, const std::string& value, bool templates) {
    if (attr == "C" && (value.size() != 2 || !std::isupper(static_cast<unsigned char>(value[0])) ||
                        !std::isupper(static_cast<unsigned char>(value[1])))) {
      return "'" + value + "' is not a two-letter ISO 3166 country code (e.g. US)";
    }
    if (character_count(value) > 64 && !templates) return "longer than the 64 characters X.509 allows (RFC 5280 upper bound)";
    if (auto bad = first_unreadable(value, false)) return unreadable_problem(*bad);
    if (!templates && value.find('{') != std::string::npos) {
      return "placeholders such as {mesh} are only allowed in intermediate subjects";
    }
    return {};
  }

  // `root`, or `rotation.new_root` (same fields): `path` names it in errors.
  // Only the plan's own root feeds the profile and layout checks below.
  void read_root(const YAML::Node& node, const std::string& path, RootPlan& root) {
    MapReader m(d_, node, path, {"subject", "key", "validity", "not_before", "not_after", "path_len"});
    if (!m.valid()) return;
    if (auto s = m.required("subject")) {
      std::vector<std::pair<std::string, std::string>> attrs;
      merge_subject(*s, m.field("subject"), attrs, false);
      // A CN that is present but refused is reported once, as refused.
      if (s->IsMap() && !(*s)["CN"]) {
        d_.error(*s, m.field("subject.CN"), "missing required field");
      }
      root.subject = pki::DistinguishedName::canonical(attrs);
    }
    if (auto k = m.required("key")) read_root_key(*k, m.field("key"), root.key);
    if (auto v = read_validity(m, true)) root.validity = *v;
    root.path_len = m.integer("path_len", 0, kMaxPathLen).value_or(1);
    if (path == "root") {
      root_path_len_given_ = m.has("path_len");
      root_path_len_at_ = m.get("path_len").Mark();
    }
    if (m.has("path_len") && root.path_len.value_or(1) < 1) {
      d_.error(m.get("path_len"), m.field("path_len"),
               "0 forbids the per-cluster intermediate CAs below the root; use 1 (or more)");
    }
  }

  void read_root_key(const YAML::Node& node, const std::string& path, hsm::RootKeyRef& key) {
    MapReader m(d_, node, path, {"algorithm", "store", "pkcs11", "file"});
    if (!m.valid()) return;
    if (auto alg = read_algorithm(m)) key.algorithm = *alg;
    if (path == "root.key") root_algorithm_at_ = m.get("algorithm").Mark();
    auto store = m.string("store", true);
    if (!store) return;
    if (*store == "file") {
      key.kind = hsm::KeyStoreKind::file;
      if (m.has("pkcs11")) d_.error(m.get("pkcs11"), m.field("pkcs11"), "not allowed with store: file");
      if (auto f = m.required("file")) read_file_key(*f, m.field("file"), key.file);
    } else if (*store == "pkcs11") {
      key.kind = hsm::KeyStoreKind::pkcs11;
      if (m.has("file")) d_.error(m.get("file"), m.field("file"), "not allowed with store: pkcs11");
      if (auto p = m.required("pkcs11")) read_pkcs11_key(*p, m.field("pkcs11"), key.pkcs11);
    } else {
      d_.error(m.get("store"), m.field("store"), "'" + *store + "' is not a key store; use pkcs11 or file");
    }
  }

  // ---- revocation ----------------------------------------------------------

  void read_revocation(const YAML::Node& node, RevocationPlan& revocation) {
    MapReader m(d_, node, "revocation", {"crl", "next_update"});
    if (!m.valid()) return;
    revocation.crl = m.boolean("crl").value_or(false);
    auto text = m.string("next_update", false);
    if (!text) return;
    std::string error;
    auto duration = parse_duration(*text, error);
    if (!duration) {
      d_.error(m.get("next_update"), m.field("next_update"), error);
      return;
    }
    const std::int64_t seconds = add_duration(now_, *duration) - now_;
    constexpr std::int64_t kHour = 3600, kYear = 366 * 86400;
    if (seconds < kHour || seconds > kYear) {
      d_.error(m.get("next_update"), m.field("next_update"),
               "must be between 1h and 1y: peers refuse a stale CRL, so `meshca crl refresh` must run before it passes");
      return;
    }
    revocation.next_update = *duration;
  }

  // A CRL signed by a CA without cRLSign is rejected by every peer.
  void check_crl_signers(const YAML::Node& node, const Plan& plan) {
    if (!plan.revocation.crl || d_.any_error_in({"profile", "revocation", "crl"})) return;
    const YAML::Node at = node.IsMap() && node["crl"] ? node["crl"] : node;
    if (!plan.root.key_usage.crl_sign) {
      d_.error(at, "revocation.crl", "profile '" + plan.profile + "' gives the root no cRLSign key usage, so it cannot sign CRLs");
    }
    for (const auto& mesh : plan.meshes) {
      if (!mesh.clusters.empty() && !mesh.clusters.front().intermediate.key_usage.crl_sign) {
        d_.error(at, "revocation.crl",
                 "profile '" + mesh.profile + "' of mesh '" + mesh.name + "' gives intermediates no cRLSign key usage, so they cannot sign CRLs");
      }
    }
  }

  // ---- root rotation -------------------------------------------------------

  void read_rotation(const YAML::Node& node, Plan& plan) {
    MapReader m(d_, node, "rotation", {"current_output", "current_root_sha256", "new_root", "cross_sign"});
    if (!m.valid()) return;
    RotationPlan rotation;
    if (auto dir = m.string("current_output", true)) rotation.current_output = *dir;
    if (auto pin = m.string("current_root_sha256", false)) {
      std::string fingerprint = normalized_sha256_fingerprint(*pin);
      if (fingerprint.empty()) {
        d_.error(m.get("current_root_sha256"), m.field("current_root_sha256"),
                 "must be the SHA-256 fingerprint of the current root (64 hex digits, colons allowed), as `meshca inspect` prints it");
      }
      rotation.current_root_sha256 = fingerprint;
    }
    rotation.cross_sign = m.boolean("cross_sign").value_or(false);
    if (rotation.cross_sign && plan.root.path_len && *plan.root.path_len < 2) {
      d_.error(m.get("cross_sign"), m.field("cross_sign"),
               "needs the current root's pathLen to be 2 or more (root.path_len is " + path_len_text(plan.root.path_len) +
                   "): a peer that trusts only the current root follows it -> cross-signed new root -> intermediate, "
                   "two CAs below it. The three phases work without cross_sign");
    }
    if (auto r = m.required("new_root")) {
      read_root(*r, m.field("new_root"), rotation.new_root);
      // The profile decides the root's keyUsage; pathLen follows the current
      // root unless the new root sets its own.
      rotation.new_root.key_usage = plan.root.key_usage;
      rotation.new_root.sources = plan.root.sources;
      if (!r->IsMap() || !(*r)["path_len"]) {
        rotation.new_root.path_len = plan.root.path_len;
      } else {
        rotation.new_root.sources["path_len"] = {SourceLevel::root, "rotation.new_root.path_len"};
      }
      check_new_root_differs(*r, plan, rotation.new_root);
    }
    plan.rotation = std::move(rotation);
  }

  // A rotation to the same name or the same key would leave peers unable to
  // tell the roots apart (chain building picks by subject and key id).
  void check_new_root_differs(const YAML::Node& node, const Plan& plan, const RootPlan& new_root) {
    auto at = [&node](const char* key) { return node.IsMap() && node[key] ? node[key] : node; };
    if (!d_.any_error_in({"subject"}) && new_root.subject.to_string() == plan.root.subject.to_string()) {
      d_.error(at("subject"), "rotation.new_root.subject",
               "is the current root's subject; give the new root its own name (e.g. a new year in the CN)");
    }
    if (!d_.any_error_in({"key"}) && hsm::describe_key_reference(new_root.key) == hsm::describe_key_reference(plan.root.key)) {
      d_.error(at("key"), "rotation.new_root.key", "names the current root's key; a rotation needs a new key");
    }
  }

  std::optional<SecretRef> read_secret(MapReader& m, const std::string& key) {
    auto text = m.string(key, false);
    if (!text) return std::nullopt;
    try {
      return SecretRef::parse(*text);
    } catch (const Error& e) {
      d_.error(m.get(key), m.field(key), e.message());
      return std::nullopt;
    }
  }

  void read_file_key(const YAML::Node& node, const std::string& path, hsm::FileKeyRef& file) {
    MapReader m(d_, node, path, {"path", "passphrase"});
    if (auto key_path = m.string("path", true)) file.path = *key_path;
    if (auto secret = read_secret(m, "passphrase")) file.passphrase = *secret;
  }

  void read_pkcs11_key(const YAML::Node& node, const std::string& path, hsm::Pkcs11KeyRef& ref) {
    MapReader m(d_, node, path, {"uri", "module", "token", "serial", "label", "id", "pin", "init_args", "require"});
    if (!m.valid()) return;
    if (auto uri = m.string("uri", false)) {
      try {
        // The URI parser's own hint names the hsm commands' --pin-source,
        // which the commands that read a plan do not have.
        if (uri->find("pin-value=") != std::string::npos) {
          throw Error(ExitCode::invalid_input,
                      "PIN values are not accepted in URIs (pin-value=); remove it and name where the PIN comes from "
                      "in " + m.field("pin") + " (env:NAME, file:PATH or prompt) or with pin-source=file:PATH in the URI");
        }
        ref = hsm::parse_pkcs11_uri(*uri);
      } catch (const Error& e) {
        d_.error(m.get("uri"), m.field("uri"), e.message());
      }
    }
    if (auto v = m.string("module", false)) ref.module = *v;
    if (auto v = m.string("token", false)) ref.token = *v;
    if (auto v = m.string("serial", false)) ref.serial = *v;
    if (auto v = m.string("label", false)) ref.label = *v;
    if (auto v = m.string("id", false)) {
      bool hex = v->size() % 2 == 0 && std::all_of(v->begin(), v->end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
      if (!hex) d_.error(m.get("id"), m.field("id"), "must be an even number of hex digits (the key's CKA_ID)");
      ref.id_hex = *v;
    }
    if (auto secret = read_secret(m, "pin")) ref.pin = *secret;
    if (auto v = m.string("init_args", false)) ref.init_args = *v;
    if (auto v = m.string("require", false)) {
      if (*v != "signing-only") d_.error(m.get("require"), m.field("require"), "'" + *v + "' is not a requirement; the one known is signing-only");
      ref.require_signing_only = true;
    }
    if (ref.module.empty()) d_.error(node, m.field("module"), "missing required field (or module-path in uri)");
    else if (!ref.module.starts_with("/")) d_.error(m.has("module") ? m.get("module") : node, m.field("module"), "must be an absolute path (a bare name would be searched for in the library path)");
    if (ref.token.empty() && ref.serial.empty()) {
      d_.error(node, m.field("token"), "missing required field: name the token by label (token) or serial (never by slot number)");
    }
    if (ref.label.empty() && ref.id_hex.empty()) d_.error(node, m.field("label"), "missing required field (or id)");
  }

  // `outputs` of the plan or of one mesh (which starts from the plan's).
  void read_outputs(const YAML::Node& node, const std::string& path, OutputPlan& out) {
    MapReader m(d_, node, path, {"layouts", "namespace", "cert_manager", "spire"});
    if (!m.valid()) return;
    if (m.has("layouts")) read_layouts(m.get("layouts"), m.field("layouts"), out);
    if (auto ns = m.string("namespace", false)) {
      if (!is_dns1123_label(*ns)) d_.error(m.get("namespace"), m.field("namespace"), "'" + *ns + "' " + kDnsLabelRule);
      out.namespace_name = *ns;
    }
    if (m.has("cert_manager")) {
      MapReader cm(d_, m.get("cert_manager"), m.field("cert_manager"), {"kind", "name", "namespace"});
      if (auto kind = cm.string("kind", false)) {
        if (*kind != "Issuer" && *kind != "ClusterIssuer") {
          d_.error(cm.get("kind"), cm.field("kind"), "'" + *kind + "' is not Issuer or ClusterIssuer");
        }
        out.cert_manager.kind = *kind;
      }
      for (auto [key, target] : {std::pair{"name", &out.cert_manager.name}, std::pair{"namespace", &out.cert_manager.namespace_name}}) {
        if (auto v = cm.string(key, false)) {
          if (!is_dns1123_label(*v)) d_.error(cm.get(key), cm.field(key), "'" + *v + "' " + kDnsLabelRule);
          *target = *v;
        }
      }
    }
    if (m.has("spire")) {
      MapReader sp(d_, m.get("spire"), m.field("spire"), {"directory"});
      if (auto dir = sp.string("directory", false)) {
        bool plain = std::none_of(dir->begin(), dir->end(), [](char c) {
          return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
        });
        if (!dir->starts_with("/") || dir->size() < 2 || dir->ends_with("/") || !plain) {
          d_.error(sp.get("directory"), sp.field("directory"),
                   "must be an absolute path on the SPIRE server, without a trailing '/', quotes, backslashes or control characters");
        }
        out.spire.directory = *dir;
      }
    }
  }

  void read_layouts(const YAML::Node& layouts, const std::string& path, OutputPlan& out) {
    if (!layouts.IsSequence() || layouts.size() == 0) {
      d_.error(layouts, path, "must be a non-empty list");
      return;
    }
    std::string known;
    const auto& all = output_layout::all_layouts();
    for (std::size_t i = 0; i < all.size(); ++i) {
      known += std::string(i == 0 ? "" : i + 1 == all.size() ? " and " : ", ") + std::string(output_layout::layout_name(all[i]));
    }
    out.layouts.clear();
    for (std::size_t i = 0; i < layouts.size(); ++i) {
      const YAML::Node item = layouts[i];
      if (!item.IsScalar() || !output_layout::parse_layout(item.Scalar())) {
        d_.error(item, index_path(path, i), "unknown layout; this version writes " + known);
      } else if (out.has_layout(item.Scalar())) {
        d_.error(item, index_path(path, i), "duplicate layout");
      } else {
        out.layouts.push_back(item.Scalar());
      }
    }
    if (out.has_layout(kLayoutK8sSecret) && !out.has_layout(kLayoutIstioCacerts) && !out.has_layout(kLayoutIstioTls)) {
      d_.error(layouts, path,
               "must include istio-cacerts (the bundle files) or istio-tls: k8s-secret only adds the Secret manifest of one of them");
    }
  }

  void read_meshes(const YAML::Node& node, Plan& plan, const PlanLevel& plan_level) {
    if (!node.IsSequence() || node.size() == 0) {
      d_.error(node, "meshes", "must be a non-empty list of meshes");
      return;
    }
    std::map<std::string, std::string> mesh_names, trust_domains;
    for (std::size_t i = 0; i < node.size(); ++i) {
      std::string path = index_path("meshes", i);
      MapReader m(d_, node[i], path, {"name", "trust_domain", "profile", "outputs", "intermediate", "clusters"});
      if (!m.valid()) continue;
      MeshPlan mesh;
      mesh.profile = plan.profile;
      mesh.outputs = plan.outputs;
      if (m.has("outputs")) read_outputs(m.get("outputs"), m.field("outputs"), mesh.outputs);
      // A mesh's own profile replaces the plan-wide one and overrides the
      // plan's defaults; the mesh's own `intermediate` overrides its profile.
      IntermediateOverrides mesh_defaults = plan_level.resolved;
      ChosenProfile profile = plan_level.profile;
      if (m.has("profile")) {
        profile.spec = read_profile_choice(m, mesh.profile);
        profile.source = {SourceLevel::mesh_profile, "profile " + mesh.profile + " (" + m.field("profile") + ")"};
        mesh_defaults = plan_level.defaults;
        mesh_defaults.overlay(profile_defaults(profile.spec, profile.source));
      }
      if (m.has("intermediate")) {
        read_intermediate(m.get("intermediate"), m.field("intermediate"), mesh_defaults,
                          {SourceLevel::mesh, m.field("intermediate")});
      }
      if (auto name = m.string("name", true)) {
        mesh.name = *name;
        if (!is_dns1123_label(*name)) {
          d_.error(m.get("name"), m.field("name"), "'" + *name + "' " + kDnsLabelRule);
        } else if (*name == "root" || *name == "retired") {
          d_.error(m.get("name"), m.field("name"),
                   "'" + *name + "' is reserved (OUT/root/ holds the root certificate, OUT/retired/ replaced bundles)");
        } else if (auto [it, fresh] = mesh_names.emplace(*name, path); !fresh) {
          d_.error(m.get("name"), m.field("name"), "duplicate mesh name '" + *name + "' (also " + it->second + ")");
        }
      }
      if (auto td = m.string("trust_domain", true)) {
        mesh.trust_domain = *td;
        if (std::string problem = trust_domain_problem(*td); !problem.empty()) {
          d_.error(m.get("trust_domain"), m.field("trust_domain"), problem);
        } else if (auto [it, fresh] = trust_domains.emplace(*td, path); !fresh) {
          d_.error(m.get("trust_domain"), m.field("trust_domain"),
                   "trust domain '" + *td + "' is already used by " + it->second + "; each mesh needs its own");
        }
      }
      if (auto clusters = m.required("clusters")) read_clusters(*clusters, m.field("clusters"), plan, mesh, mesh_defaults, profile);
      plan.meshes.push_back(std::move(mesh));
    }
  }

  void read_clusters(const YAML::Node& node, const std::string& path, const Plan& plan, MeshPlan& mesh,
                     const IntermediateOverrides& defaults, const ChosenProfile& profile) {
    if (!node.IsSequence() || node.size() == 0) {
      d_.error(node, path, "must be a non-empty list of clusters");
      return;
    }
    std::map<std::string, std::string> names;
    for (std::size_t j = 0; j < node.size(); ++j) {
      std::string cpath = index_path(path, j);
      MapReader m(d_, node[j], cpath, {"name", "intermediate"});
      if (!m.valid()) continue;
      ClusterPlan cluster;
      cluster.field_path = cpath;
      cluster.location = d_.location(node[j]);
      if (auto name = m.string("name", true)) {
        cluster.name = *name;
        if (!is_dns1123_label(*name)) {
          d_.error(m.get("name"), m.field("name"), "'" + *name + "' " + kDnsLabelRule);
        } else if (auto [it, fresh] = names.emplace(*name, cpath); !fresh) {
          d_.error(m.get("name"), m.field("name"), "duplicate cluster name '" + *name + "' in mesh (also " + it->second + ")");
        }
      }
      IntermediateOverrides merged = defaults;
      if (m.has("intermediate")) {
        read_intermediate(m.get("intermediate"), m.field("intermediate"), merged,
                          {SourceLevel::cluster, m.field("intermediate")});
      }
      validity_origin_[cpath] = {merged.validity_at ? mark_of(*merged.validity_at) : YAML::Mark::null_mark(),
                                 merged.sources["validity"]};
      algorithm_origin_[cpath] = {merged.algorithm_at ? mark_of(*merged.algorithm_at) : YAML::Mark::null_mark(),
                                  merged.sources["key.algorithm"]};
      cluster.intermediate.algorithm = *merged.algorithm;
      cluster.intermediate.validity = *merged.validity;
      cluster.intermediate.name_constraints = *merged.name_constraints;
      cluster.intermediate.path_len = profile.spec.intermediate.path_len;
      cluster.intermediate.key_usage = profile.spec.intermediate.key_usage;
      cluster.intermediate.dns_names = profile.spec.intermediate.dns_names;
      cluster.intermediate.sources = merged.sources;
      for (const char* field : {"path_len", "key_usage", "dns_names"}) cluster.intermediate.sources[field] = profile.source;
      cluster.intermediate.subject = expand_subject(merged.subject, plan, mesh, cluster, m);
      mesh.clusters.push_back(std::move(cluster));
    }
  }

  pki::DistinguishedName expand_subject(const std::vector<std::pair<std::string, std::string>>& templates,
                                        const Plan& plan, const MeshPlan& mesh, const ClusterPlan& cluster,
                                        const MapReader& at) {
    const std::map<std::string, std::string> vars{{"mesh", mesh.name},
                                                  {"cluster", cluster.name},
                                                  {"trust_domain", mesh.trust_domain},
                                                  {"organization", plan.organization}};
    std::vector<std::pair<std::string, std::string>> attrs;
    for (const auto& [attr, tmpl] : templates) {
      std::string value, error;
      for (std::size_t i = 0; i < tmpl.size(); ++i) {
        if (tmpl[i] != '{') {
          value.push_back(tmpl[i]);
          continue;
        }
        auto close = tmpl.find('}', i);
        std::string var = tmpl.substr(i + 1, close == std::string::npos ? std::string::npos : close - i - 1);
        if (close == std::string::npos || !vars.count(var)) {
          error = "unknown placeholder '{" + var + "}' in subject " + attr + "; use {mesh}, {cluster}, {trust_domain} or {organization}";
          break;
        }
        value += vars.at(var);
        i = close;
      }
      if (!error.empty()) {
        d_.error(at.node(), at.field("intermediate.subject." + attr), error);
        continue;
      }
      if (value.empty()) continue;  // e.g. {organization} when the plan has none
      if (character_count(value) > 64) {
        d_.error(at.node(), at.field("intermediate.subject." + attr),
                 "expands to '" + value + "', longer than the 64 characters X.509 allows");
        continue;
      }
      attrs.emplace_back(attr, value);
    }
    if (std::none_of(attrs.begin(), attrs.end(), [](const auto& a) { return a.first == "CN"; })) {
      d_.error(at.node(), at.field("intermediate.subject.CN"), "the intermediate's subject has no CN");
    }
    return pki::DistinguishedName::canonical(attrs);
  }

  // Cross-field rules: each intermediate inside the root's validity, unique
  // subjects, a root that can actually have intermediates below it.
  void check_hierarchy(const Plan& plan) {
    // Each rule runs unless a field it compares was itself wrong (then the
    // comparison would only repeat that finding in other words).
    const bool validities_sound = !d_.any_error_in({"validity", "not_before", "not_after", "profile"});
    const bool subjects_sound =
        !d_.any_error_in({"subject", "name", "trust_domain", "organization", "profile"});
    if (!validities_sound && !subjects_sound) return;
    // Every intermediate is issued under the root in service and, in a
    // rotation, again under the new root: it must fit inside both.
    std::vector<std::pair<std::string, ValiditySpec::Window>> issuers;
    if (validities_sound) {
      issuers.emplace_back("the root's validity", plan.root.validity.resolve(now_));
      if (plan.rotation) {
        issuers.emplace_back("the new root's validity (rotation.new_root)", plan.rotation->new_root.validity.resolve(now_));
      }
    }
    std::map<std::string, std::string> subjects;
    if (auto s = plan.root.subject.to_string(); !s.empty()) subjects.emplace(s, "root");
    if (plan.rotation) subjects.emplace(plan.rotation->new_root.subject.to_string(), "rotation.new_root");
    SharedFindings overlong;
    for (const auto& mesh : plan.meshes) {
      for (const auto& cluster : mesh.clusters) {
        const YAML::Mark mark = mark_of(cluster.location);
        for (const auto& [name, root] : issuers) {
          const auto w = cluster.intermediate.validity.resolve(now_);
          if (w.not_before >= root.not_before && w.not_after <= root.not_after) continue;
          overlong.add(validity_origin_, "validity", mesh, cluster,
                       "the intermediate (" + format_rfc3339(w.not_before) + " .. " + format_rfc3339(w.not_after) +
                           ") must lie inside " + name + " (" + format_rfc3339(root.not_before) + " .. " +
                           format_rfc3339(root.not_after) + ")");
        }
        if (!subjects_sound) continue;
        std::string subject = cluster.intermediate.subject.to_string();
        if (auto [it, fresh] = subjects.emplace(subject, cluster.field_path); !fresh) {
          d_.error(mark, cluster.field_path + ".intermediate.subject",
                   "resolves to '" + subject + "', the same subject as " + it->second +
                       "; add {mesh} or {cluster} to the subject template");
        }
      }
    }
    overlong.report(d_);
  }

  // Where a cluster's resolved value is written, and which level of the
  // plan it comes from.
  struct FieldOrigin {
    YAML::Mark at = YAML::Mark::null_mark();
    ValueSource source;
  };
  using FieldOrigins = std::map<std::string, FieldOrigin>;  // by cluster field path

  // Findings about a cluster's resolved value. A value written once
  // (defaults, a mesh's intermediate, a profile) is one finding at the line
  // that writes it, naming every cluster it affects; a cluster's own value
  // is reported at the cluster.
  class SharedFindings {
   public:
    void add(const FieldOrigins& origins, const std::string& field, const MeshPlan& mesh, const ClusterPlan& cluster,
             const std::string& message) {
      const auto origin = origins.find(cluster.field_path);
      const bool known = origin != origins.end();
      const std::string own_path = cluster.field_path + ".intermediate." + field;
      if (!known || origin->second.source.level == SourceLevel::cluster) {
        findings_.push_back({known && !origin->second.at.is_null() ? origin->second.at : mark_of(cluster.location), own_path,
                             message, {}});
        return;
      }
      const FieldOrigin& from = origin->second;
      const bool written = from.source.level == SourceLevel::plan_defaults || from.source.level == SourceLevel::mesh;
      const std::string path = written ? from.source.where + "." + field : own_path;
      const std::string id = mesh.name + "/" + cluster.name;
      auto same = std::find_if(findings_.begin(), findings_.end(),
                               [&](const Finding& f) { return !f.clusters.empty() && f.path == path && f.message == message; });
      if (same != findings_.end()) {
        same->clusters.push_back(id);
        return;
      }
      findings_.push_back({from.at.is_null() ? mark_of(cluster.location) : from.at, path,
                           message + (from.at.is_null() ? " (the " + field + " comes from " + from.source.where + ")" : ""),
                           {id}});
    }

    void report(Diagnostics& d) const {
      for (const auto& f : findings_) {
        std::string names;
        for (const auto& c : f.clusters) names += (names.empty() ? "" : ", ") + c;
        d.error(f.at, f.path,
                f.clusters.empty() ? f.message
                                   : f.message + "; this affects " + std::to_string(f.clusters.size()) + " cluster" +
                                         (f.clusters.size() == 1 ? "" : "s") + ": " + names);
      }
    }

   private:
    struct Finding {
      YAML::Mark at;
      std::string path;
      std::string message;
      std::vector<std::string> clusters;  // empty: the cluster's own value
    };
    std::vector<Finding> findings_;
  };

  // What the ecosystems behind some layouts require of the certificates.
  void check_layouts(const Plan& plan) {
    bool root_reported = false;
    for (std::size_t i = 0; i < plan.meshes.size(); ++i) {
      const MeshPlan& mesh = plan.meshes[i];
      const std::string mesh_path = index_path("meshes", i);
      if (mesh.outputs.has_layout(kLayoutLinkerd)) {
        SharedFindings not_p256;
        for (const auto& cluster : mesh.clusters) {
          if (cluster.intermediate.algorithm == pki::KeyAlgorithm::ecdsa_p256) continue;
          not_p256.add(algorithm_origin_, "key.algorithm", mesh, cluster,
                       "is " + std::string(pki::key_algorithm_name(cluster.intermediate.algorithm)) + ", but mesh '" +
                           mesh.name + "' writes the linkerd layout: Linkerd accepts only an ECDSA P-256 issuer key; use ecdsa-p256");
        }
        not_p256.report(d_);
        if (plan.root.key.algorithm != pki::KeyAlgorithm::ecdsa_p256 && !root_reported) {
          root_reported = true;
          d_.error(root_algorithm_at_, "root.key.algorithm",
                   "is " + std::string(pki::key_algorithm_name(plan.root.key.algorithm)) + ", but " + mesh_path +
                       " writes the linkerd layout: Linkerd requires its issuer to be signed with ECDSA P-256 and "
                       "SHA-256, so the root key must be ecdsa-p256");
        }
      }
      if (mesh.outputs.has_layout(kLayoutSpire)) check_spire_path_lengths(plan, mesh, mesh_path);
    }
  }

  // SPIRE's own server CA sits below the upstream intermediate:
  // root -> intermediate -> SPIRE server CA -> SVIDs.
  void check_spire_path_lengths(const Plan& plan, const MeshPlan& mesh, const std::string& mesh_path) {
    // Every cluster of a mesh has its profile's pathLen: the first one speaks for all.
    if (!mesh.clusters.empty() && mesh.clusters.front().intermediate.path_len.value_or(1) < 1) {
      YAML::Mark at = mark_of(mesh.clusters.front().location);
      d_.error(at, mesh_path + ".profile",
               "mesh '" + mesh.name + "' writes the spire layout, but profile '" + mesh.profile +
                   "' gives its intermediates pathLen 0: SPIRE signs its own server CA below the upstream "
                   "intermediate; use profile: spire (pathLen 1)");
    }
    if (plan.root.path_len && *plan.root.path_len < 2 && !spire_root_reported_) {
      spire_root_reported_ = true;
      d_.error(root_path_len_given_ ? root_path_len_at_ : root_algorithm_at_, "root.path_len",
               "is " + path_len_text(plan.root.path_len) + ", but " + mesh_path +
                   " writes the spire layout: root -> intermediate -> SPIRE server CA needs root.path_len: 2");
    }
  }

  static YAML::Mark mark_of(const SourceLocation& location) {
    YAML::Mark mark;
    mark.line = location.line - 1;
    mark.column = location.column - 1;
    return mark;
  }

  static constexpr const char* kDnsLabelRule =
      "is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)";

  Diagnostics d_;
  std::filesystem::path base_dir_;
  UnixTime now_;
  bool root_path_len_given_ = false;
  YAML::Mark root_path_len_at_ = YAML::Mark::null_mark();
  YAML::Mark root_algorithm_at_ = YAML::Mark::null_mark();
  bool spire_root_reported_ = false;
  FieldOrigins validity_origin_;   // each cluster's intermediate validity
  FieldOrigins algorithm_origin_;  // each cluster's intermediate key algorithm
};

}  // namespace

bool is_dns1123_label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-'; });
}

std::string trust_domain_problem(std::string_view s) {
  const std::string quoted = "'" + std::string(s) + "'";
  if (s.starts_with("spiffe://")) return quoted + " must be the bare trust domain, without spiffe://";
  if (s.empty() || s.size() > 255) return quoted + " must be 1 to 255 characters";
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    if (!ok) {
      return escape_unreadable(quoted, false) + " contains " + describe_character_at(s, i) +
             "; a SPIFFE trust domain holds only lowercase letters, digits, '.', '-' and '_' (no scheme, port or path)";
    }
  }
  if (s.front() == '.' || s.back() == '.' || s.find("..") != std::string_view::npos) {
    return quoted + " has an empty DNS label (leading, trailing or doubled '.')";
  }
  return {};
}

Plan parse_plan(std::string_view yaml_text, const std::string& source_name, const std::filesystem::path& base_dir,
                UnixTime now) {
  PlanParser parser(source_name, base_dir, now);
  Plan plan = parser.parse(yaml_text);
  plan.source = source_name;
  return plan;
}

ProfileSpec parse_profile(std::string_view yaml_text, const std::string& source_name, UnixTime now) {
  PlanParser parser(source_name, ".", now);
  return parser.parse_profile(yaml_text);
}

std::set<std::string> accepted_fields(std::string_view yaml_text, DocumentKind kind) {
  PlanParser parser("fields", ".", now_utc());
  try {
    if (kind == DocumentKind::plan) {
      parser.parse(yaml_text);
    } else {
      parser.parse_profile(yaml_text);
    }
  } catch (const Error&) {
    // Invalid documents still show which fields the parser accepts.
  }
  return parser.accepted_fields();
}

ProfileSpec builtin_profile(std::string_view name, UnixTime now) {
  auto text = templates::profile_text(name);
  if (!text) throw Error(ExitCode::invalid_input, "no built-in certificate profile '" + std::string(name) + "'");
  ProfileSpec profile = parse_profile(*text, "templates/profiles/" + std::string(name) + ".yaml", now);
  if (profile.name != name) {
    throw MultiError(ExitCode::internal, "the built-in profile is broken",
                     {"templates/profiles/" + std::string(name) + ".yaml: metadata.name: must be '" + std::string(name) + "'"});
  }
  return profile;
}

Plan load_plan(const std::filesystem::path& path, UnixTime now) {
  std::string text = read_file(path, 4 * 1024 * 1024);
  auto base = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  return parse_plan(text, path.string(), base, now);
}

}  // namespace meshca::ceremony
