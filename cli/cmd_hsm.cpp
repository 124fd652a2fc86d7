// `meshca hsm list` and `meshca hsm keygen`: look into a PKCS#11 module and
// generate a root key inside a token before (or instead of) a ceremony.
//
// PINs never come from argv: --pin-source takes env:NAME, file:PATH or
// prompt (default env:MESHCA_PIN for keygen), and a URI with pin-value= is
// refused.
#include <openssl/pem.h>
#include <p11-kit/pkcs11.h>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/terminal.hpp"
#include "core/error.hpp"
#include "core/hex.hpp"
#include "hsm/pkcs11_inventory.hpp"
#include "hsm/pkcs11_key_store.hpp"
#include "hsm/pkcs11_uri.hpp"
#include "pki/certificate.hpp"
#include "pki/key.hpp"

namespace po = boost::program_options;

namespace meshca::cli {
namespace {

constexpr const char* kModuleEnv = "MESHCA_PKCS11_MODULE";

const char* const kHsmUsage =
    "usage: meshca hsm <subcommand> [options]\n"
    "\n"
    "subcommands:\n"
    "  list     show the tokens of a PKCS#11 module and the keys on them\n"
    "  keygen   generate a key pair inside a token (sensitive, never extractable)\n"
    "\n"
    "Run `meshca hsm <subcommand> --help` for its options. PINs are never taken from\n"
    "the command line: use --pin-source env:NAME | file:PATH | prompt.\n"
    "\n"
    "example: meshca hsm list --module /usr/lib/softhsm/libsofthsm2.so";

const char* const kListUsage =
    "usage: meshca hsm list --module MODULE [--token LABEL | --serial S] [--pin-source SRC] [--json]\n"
    "\n"
    "Shows the tokens of a PKCS#11 module and their keys (no secret values): per token its label,\n"
    "serial, flags and PIN limits, per key its label, id, algorithm and the attributes that matter\n"
    "for a CA key (sensitive, extractable, usage). --module defaults to $MESHCA_PKCS11_MODULE.\n"
    "\n"
    "example: MESHCA_PIN=... meshca hsm list --module /usr/lib/softhsm/libsofthsm2.so --token meshca --pin-source env:MESHCA_PIN";

const char* const kKeygenUsage =
    "usage: meshca hsm keygen --module MODULE --token LABEL --label L --algorithm ALG [options]\n"
    "       meshca hsm keygen --uri 'pkcs11:token=...;object=...?module-path=...' --algorithm ALG\n"
    "\n"
    "Generates a key pair inside the token: private key sensitive, never extractable, signing-only where the\n"
    "token allows it (the usage read back is printed). Refuses when an object with the label (or id) already\n"
    "exists. --module defaults to $MESHCA_PKCS11_MODULE.\n"
    "\n"
    "example: MESHCA_PIN=... meshca hsm keygen --module /usr/lib/softhsm/libsofthsm2.so --token meshca --label root-2026 --algorithm "
    "ecdsa-p384";

using Json = nlohmann::ordered_json;

Json json_opt_bool(const std::optional<bool>& b) { return b ? Json(*b) : Json(nullptr); }
std::string yes_no(const std::optional<bool>& b) { return b ? (*b ? "yes" : "no") : "-"; }

// Rejects PIN values on argv before Boost sees them, with a clear message.
void reject_pin_options(const Args& args) {
  for (const auto& a : args) {
    for (const char* bad : {"--pin", "--so-pin", "--pin-value", "-p"}) {
      std::string_view arg(a);
      if (arg == bad || (arg.starts_with(bad) && arg.size() > std::strlen(bad) && arg[std::strlen(bad)] == '=')) {
        throw Error(ErrorKind::usage, "PINs are never accepted on the command line; use --pin-source env:NAME, file:PATH or prompt");
      }
    }
  }
}

// A required argument the option table cannot mark as required (it may come
// from the --uri or the environment): the same "missing ..." and usage line
// as parse_command_line gives.
[[noreturn]] void missing(const char* usage, const std::string& what) {
  throw MultiError(ErrorKind::usage, "missing " + what, {usage_line(usage)});
}

std::string opt(const po::variables_map& vm, const char* name) {
  return vm.count(name) != 0 ? vm[name].as<std::string>() : std::string();
}

SecretRef parse_pin_source(const std::string& text) {
  try {
    return SecretRef::parse(text);
  } catch (const Error& e) {
    throw Error(ErrorKind::usage, "--pin-source: " + e.message());
  }
}

std::string default_module() {
  const char* env = std::getenv(kModuleEnv);
  return env != nullptr ? std::string(env) : std::string();
}

hsm::KeyStoreContext store_context(Terminal& term) {
  hsm::KeyStoreContext ctx;
  std::error_code ec;
  ctx.base_dir = std::filesystem::current_path(ec);
  ctx.prompt = term.prompt;
  ctx.pkcs11_modules = std::make_shared<hsm::Pkcs11Modules>();
  return ctx;
}

// ---------------------------------------------------------------- list

std::string joined(const std::vector<std::string>& items, const char* none = "-") {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ",") + i;
  return s.empty() ? none : s;
}

std::string pin_range(const hsm::Pkcs11TokenInfo& t) {
  return std::to_string(t.min_pin_len) + "-" +
         (t.max_pin_len == 0 || t.max_pin_len == CK_EFFECTIVELY_INFINITE ? std::string("any")
                                                                           : std::to_string(t.max_pin_len));
}

void print_inventory_text(const hsm::Pkcs11Inventory& inv, std::ostream& out) {
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", inv.file.mode);
  out << "module: " << inv.module << " (" << inv.library << ")\n"
      << "  file: " << inv.file.resolved << "  owner " << inv.file.owner_name << "  mode " << mode << "\n"
      << "  sha256: " << inv.file.sha256 << "\n";
  if (inv.tokens.empty()) out << "no tokens\n";
  for (const auto& t : inv.tokens) {
    if (!t.token_initialized()) {
      out << "\nslot " << t.slot_id << ": uninitialized token\n";
      continue;
    }
    out << "\ntoken '" << t.label << "'  serial " << t.serial << "  " << t.manufacturer << " / " << t.model
        << "  slot " << t.slot_id << "\n";
    std::string flags = "initialized";
    if (t.login_required()) flags += ", login required";
    flags += t.user_pin_initialized() ? ", user PIN initialized" : ", NO user PIN";
    if (t.user_pin_locked()) flags += ", user PIN LOCKED";
    if (t.user_pin_final_try()) flags += ", user PIN final try";
    if (t.user_pin_count_low()) flags += ", user PIN count low";
    out << "  flags: " << flags << "\n"
        << "  user PIN length: " << pin_range(t) << "\n"
        << "  generates and signs: " << joined(t.can_generate, "none of meshca's algorithms") << "\n"
        << "  signs with existing keys: " << joined(t.can_sign, "none of meshca's algorithms") << "\n";
    if (!t.keys_listed) continue;
    out << (t.logged_in ? "  keys (logged in):\n" : "  keys (public objects only; give --pin-source to log in):\n");
    if (t.keys.empty()) {
      out << "    none\n";
      continue;
    }
    std::vector<std::vector<std::string>> rows{
        {"CLASS", "TYPE", "LABEL", "ID", "SENSITIVE", "EXTRACTABLE", "ALWAYS-SENS", "NEVER-EXTR", "LOCAL", "USAGE"}};
    for (const auto& k : t.keys) {
      std::string type = k.key_type;
      if (k.rsa_bits) type += " " + std::to_string(*k.rsa_bits);
      if (!k.ec_curve.empty()) type += " " + k.ec_curve;
      rows.push_back({k.object_class, type, "'" + k.label + "'", k.id_hex.empty() ? "-" : k.id_hex,
                      yes_no(k.sensitive), yes_no(k.extractable), yes_no(k.always_sensitive),
                      yes_no(k.never_extractable), yes_no(k.local), joined(k.usage)});
    }
    std::vector<std::size_t> width(rows.front().size(), 0);
    for (const auto& r : rows) {
      for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    }
    for (const auto& r : rows) {
      std::string line = "   ";
      for (std::size_t i = 0; i < r.size(); ++i) {
        line += " " + r[i];
        if (i + 1 < r.size()) line += std::string(width[i] - r[i].size(), ' ');
      }
      out << line << "\n";
    }
  }
}

void print_inventory_json(const hsm::Pkcs11Inventory& inv, std::ostream& out) {
  Json tokens = Json::array();
  for (const auto& t : inv.tokens) {
    Json token{{"slot_id", t.slot_id},
               {"label", t.label},
               {"serial", t.serial},
               {"manufacturer", t.manufacturer},
               {"model", t.model},
               {"flags",
                {{"token_initialized", t.token_initialized()},
                 {"login_required", t.login_required()},
                 {"user_pin_initialized", t.user_pin_initialized()},
                 {"user_pin_locked", t.user_pin_locked()},
                 {"user_pin_count_low", t.user_pin_count_low()},
                 {"user_pin_final_try", t.user_pin_final_try()}}},
               {"pin_length", {{"min", t.min_pin_len}, {"max", t.max_pin_len}}},
               {"can_generate", t.can_generate},
               {"can_sign", t.can_sign},
               {"logged_in", t.logged_in},
               {"keys", nullptr}};
    if (t.keys_listed) {
      Json keys = Json::array();
      for (const auto& k : t.keys) {
        Json key{{"class", k.object_class}, {"label", k.label}, {"id", k.id_hex}, {"type", k.key_type}};
        if (k.rsa_bits) key["rsa_bits"] = *k.rsa_bits;
        if (!k.ec_curve.empty()) key["ec_curve"] = k.ec_curve;
        key["sensitive"] = json_opt_bool(k.sensitive);
        key["extractable"] = json_opt_bool(k.extractable);
        key["always_sensitive"] = json_opt_bool(k.always_sensitive);
        key["never_extractable"] = json_opt_bool(k.never_extractable);
        key["local"] = json_opt_bool(k.local);
        key["usage"] = k.usage;
        keys.push_back(std::move(key));
      }
      token["keys"] = std::move(keys);
    }
    tokens.push_back(std::move(token));
  }
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", inv.file.mode);
  Json doc{{"module", inv.module},
           {"library", inv.library},
           {"module_file",
            {{"path", inv.file.resolved}, {"owner", inv.file.owner_name}, {"mode", mode}, {"sha256", inv.file.sha256}}},
           {"tokens", std::move(tokens)}};
  out << doc.dump(2) << "\n";
}

int run_list(const Args& args, Terminal& term) {
  po::options_description desc("meshca hsm list");
  desc.add_options()("help,h", "show this help")(
      "module", po::value<std::string>(),
      "PKCS#11 module (.so) to load; default: $MESHCA_PKCS11_MODULE")(
      "init-args", po::value<std::string>(),
      "C_Initialize arguments for modules that need them (NSS softokn: \"configdir='sql:DIR' ...\")")(
      "token", po::value<std::string>(), "only this token (label)")("serial", po::value<std::string>(),
                                                                    "only the token with this serial")(
      "pin-source", po::value<std::string>(),
      "log in to list private keys too: env:NAME | file:PATH | prompt (needs --token when the module has "
      "several tokens)")("json", po::bool_switch(), "print JSON");
  po::variables_map vm;
  if (!parse_command_line(args, desc, {}, vm, term.out, kListUsage)) return 0;
  hsm::Pkcs11InventoryRequest request;
  request.module = vm.count("module") != 0 ? opt(vm, "module") : default_module();
  if (request.module.empty()) missing(kListUsage, "--module (or set MESHCA_PKCS11_MODULE)");
  request.init_args = opt(vm, "init-args");
  request.token = opt(vm, "token");
  request.serial = opt(vm, "serial");
  if (vm.count("pin-source") != 0) request.pin = parse_pin_source(opt(vm, "pin-source"));
  hsm::Pkcs11Inventory inventory;
  try {
    inventory = hsm::list_pkcs11(request, store_context(term));
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::invalid_input && request.pin && request.token.empty() && request.serial.empty()) {
      throw Error(ErrorKind::usage, e.message() + " (--token)");
    }
    throw;
  }
  if (vm["json"].as<bool>()) {
    print_inventory_json(inventory, term.out);
  } else {
    print_inventory_text(inventory, term.out);
  }
  return 0;
}

// ---------------------------------------------------------------- keygen

// Fills `field` from the option when set; both set and different is a usage error.
void merge(std::string& field, const std::string& option_value, const char* option) {
  if (option_value.empty()) return;
  if (!field.empty() && field != option_value) {
    throw Error(ErrorKind::usage, std::string("--") + option + " disagrees with the --uri");
  }
  field = option_value;
}

std::string public_key_pem(const EVP_PKEY* key) {
  pki::BioPtr bio = pki::memory_bio();
  if (PEM_write_bio_PUBKEY(bio.get(), const_cast<EVP_PKEY*>(key)) != 1) pki::throw_openssl("PEM_write_bio_PUBKEY");
  return pki::bio_contents(bio.get());
}

int run_keygen(const Args& args, Terminal& term) {
  po::options_description desc("meshca hsm keygen");
  desc.add_options()("help,h", "show this help")("uri", po::value<std::string>(),
                                                 "RFC 7512 PKCS#11 URI naming module-path, token, object (label), id")(
      "module", po::value<std::string>(), "PKCS#11 module (.so); default: $MESHCA_PKCS11_MODULE")(
      "init-args", po::value<std::string>(),
      "C_Initialize arguments for modules that need them (NSS softokn: \"configdir='sql:DIR' ...\")")(
      "token", po::value<std::string>(), "token label")("serial", po::value<std::string>(), "token serial")(
      "label", po::value<std::string>(), "label (CKA_LABEL) of the new key pair")(
      "id", po::value<std::string>(), "id (CKA_ID) in hex; default: 16 random bytes")(
      "algorithm", po::value<std::string>(), ("key algorithm: " + pki::key_algorithm_choices()).c_str())(
      "pin-source", po::value<std::string>(), "user PIN: env:NAME | file:PATH | prompt (default env:MESHCA_PIN)")(
      "json", po::bool_switch(), "print JSON");
  po::variables_map vm;
  if (!parse_command_line(args, desc, {}, vm, term.out, kKeygenUsage)) return 0;

  hsm::Pkcs11KeyRef ref;
  bool pin_from_uri = false;
  if (vm.count("uri") != 0) {
    ref = hsm::parse_pkcs11_uri(opt(vm, "uri"));  // Error(invalid_input) for a malformed URI or a pin-value
    pin_from_uri = !(ref.pin.kind == SecretKind::env && ref.pin.value == "MESHCA_PIN");
  }
  merge(ref.module, opt(vm, "module"), "module");
  merge(ref.token, opt(vm, "token"), "token");
  merge(ref.serial, opt(vm, "serial"), "serial");
  merge(ref.label, opt(vm, "label"), "label");
  merge(ref.id_hex, opt(vm, "id"), "id");
  if (ref.module.empty()) ref.module = default_module();
  std::vector<std::string> absent;
  if (ref.module.empty()) absent.emplace_back("--module (or module-path= in --uri)");
  if (ref.token.empty() && ref.serial.empty()) absent.emplace_back("--token (or --serial)");
  if (ref.label.empty() && ref.id_hex.empty()) absent.emplace_back("--label and/or --id");
  if (vm.count("algorithm") == 0) absent.emplace_back("--algorithm (" + pki::key_algorithm_choices() + ")");
  if (!absent.empty()) {
    std::string list;
    for (const auto& a : absent) list += (list.empty() ? "" : ", ") + a;
    missing(kKeygenUsage, list);
  }
  ref.init_args = opt(vm, "init-args");
  auto algorithm = pki::parse_key_algorithm(opt(vm, "algorithm"));
  if (!algorithm) throw Error(ErrorKind::usage, "--algorithm must be one of " + pki::key_algorithm_choices());
  if (vm.count("pin-source") != 0) {
    if (pin_from_uri) throw Error(ErrorKind::usage, "give the PIN source either in the --uri or as --pin-source");
    ref.pin = parse_pin_source(opt(vm, "pin-source"));
  }

  auto store = hsm::generate_pkcs11_key(ref, *algorithm, store_context(term));
  const hsm::Pkcs11KeyFacts* facts = hsm::pkcs11_facts(*store);
  hsm::Pkcs11KeyRef result = ref;
  result.label = facts->key_label;
  result.id_hex = facts->key_id_hex;
  result.token = facts->token.label;
  result.serial = facts->token.serial;
  const std::string uri = hsm::format_pkcs11_uri(result);
  const std::string pem = public_key_pem(store->public_key());
  const std::string key_id_hex = to_hex(pki::key_identifier(store->public_key()));

  if (vm["json"].as<bool>()) {
    Json doc{{"generated", true},
             {"description", store->description()},
             {"module", facts->module},
             {"module_sha256", facts->module_sha256},
             {"token", {{"label", facts->token.label}, {"serial", facts->token.serial}, {"model", facts->token.model}}},
             {"key",
              {{"label", facts->key_label},
               {"id", facts->key_id_hex},
               {"algorithm", std::string(pki::key_algorithm_name(facts->algorithm))},
               {"sensitive", facts->sensitive},
               {"extractable", facts->extractable},
               {"always_sensitive", facts->always_sensitive},
               {"never_extractable", facts->never_extractable},
               {"usage", facts->usage.describe()},
               {"signing_only", facts->usage.signing_only()},
               {"generation_template", facts->generation_template},
               {"key_identifier", key_id_hex}}},
             {"uri", uri},
             {"public_key_pem", pem}};
    term.out << doc.dump(2) << "\n";
  } else {
    term.out << "generated " << store->description() << "\n"
             << "  uri:            " << uri << "\n"
             << "  key identifier: " << key_id_hex << " (SKI of certificates for this key)\n"
             << "  usage:          " << facts->usage.describe()
             << (facts->usage.signing_only() ? " (signing-only)"
                                             : " (NOT signing-only: the token refused the signing-only template; "
                                               "generated with '" + facts->generation_template + "')")
             << "\n"
             << pem;
  }
  return 0;
}

}  // namespace

int run_hsm(const Args& args, Terminal& term) {
  reject_pin_options(args);
  return dispatch_subcommand("hsm", kHsmUsage, {{"list", run_list}, {"keygen", run_keygen}}, args, term);
}

}  // namespace meshca::cli
