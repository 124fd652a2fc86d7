#include "cli/terminal.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <vector>
#include <ostream>

#include "plan/plan_reader.hpp"

namespace meshca::cli {
namespace {

// Restores the terminal's echo setting on every path out.
class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    if (::tcgetattr(fd_, &saved_) == 0) {
      termios quiet = saved_;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      active_ = ::tcsetattr(fd_, TCSAFLUSH, &quiet) == 0;
    }
  }
  ~EchoOff() {
    if (active_) ::tcsetattr(fd_, TCSAFLUSH, &saved_);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

SecureBuffer read_line_without_echo(int fd, const std::string& label) {
  std::string prompt = label + ": ";
  (void)!::write(fd, prompt.data(), prompt.size());
  SecureBuffer line;
  {
    EchoOff quiet(fd);
    char c;
    while (::read(fd, &c, 1) == 1 && c != '\n') line.append(c);
  }
  (void)!::write(fd, "\n", 1);
  return line;
}

}  // namespace

// True when this process has a controlling terminal to talk to (the device
// node exists everywhere; opening it fails without a terminal).
bool have_terminal() {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

SecretPrompt terminal_prompt() {
  if (!have_terminal()) return {};
  return [](const std::string& purpose, bool confirm) {
    int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0) throw Error(ErrorKind::key_store, "cannot open the terminal to ask for the " + purpose);
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    std::string label = purpose;
    label[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(label[0])));
    SecureBuffer first = read_line_without_echo(fd, label);
    if (confirm) {
      SecureBuffer again = read_line_without_echo(fd, "Repeat " + purpose);
      if (!first.equals(again)) throw Error(ErrorKind::key_store, "the two entries of the " + purpose + " differ");
    }
    return first;
  };
}

std::function<bool(const std::string&, const std::string&)> terminal_confirm() {
  if (!have_terminal()) return {};
  return [](const std::string& question, const std::string& expected) {
    int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0) return false;
    std::string prompt = question + ": ";
    (void)!::write(fd, prompt.data(), prompt.size());
    std::string answer;
    char c;
    while (::read(fd, &c, 1) == 1 && c != '\n') answer.push_back(c);
    ::close(fd);
    return answer == expected;
  };
}

std::map<std::string, std::string> component_versions() {
  return {{"meshca", MESHCA_VERSION}, {"openssl", OpenSSL_version(OPENSSL_VERSION)}, {"libp11", MESHCA_LIBP11_VERSION}};
}

void report_error(std::ostream& err, const Error& e) {
  err << "meshca: error: " << e.what() << "\n";
  if (const auto* multi = dynamic_cast<const MultiError*>(&e)) {
    for (const auto& detail : multi->details()) err << "  " << detail << "\n";
  }
}

namespace {

// The names given to positionals (PLAN, OUT, ...), in order.
std::vector<std::string> positional_names(const po::positional_options_description& positionals) {
  std::vector<std::string> names;
  const unsigned count = std::min(positionals.max_total_count(), 8u);
  for (unsigned i = 0; i < count; ++i) {
    const std::string& name = positionals.name_for_position(i);
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

// "plan" -> "PLAN", the way the usage line writes an argument.
std::string metavariable(const std::string& name) {
  std::string upper;
  for (char c : name) upper.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return upper;
}

// The usage line(s): `usage` up to its first blank line.
std::string usage_lines(const std::string& usage) {
  auto blank = usage.find("\n\n");
  return usage.substr(0, blank);
}

// Boost names a positional by its internal option ("the option '--plan' is
// required"); the user only ever saw PLAN in the usage line.
std::string with_metavariables(std::string message, const std::vector<std::string>& names) {
  for (const auto& name : names) {
    for (const std::string& quoted : {"'--" + name + "'", "--" + name}) {
      for (auto pos = message.find(quoted); pos != std::string::npos; pos = message.find(quoted, pos)) {
        message.replace(pos, quoted.size(), metavariable(name));
      }
    }
  }
  return message;
}

}  // namespace

std::string usage_line(const std::string& usage) { return usage_lines(usage); }

std::pair<std::string, std::string> parse_cluster_id(const std::string& id) {
  const auto slash = id.find('/');
  std::string mesh = id.substr(0, slash);
  std::string cluster = slash == std::string::npos ? "" : id.substr(slash + 1);
  if (!ceremony::is_dns1123_label(mesh) || !ceremony::is_dns1123_label(cluster)) {
    throw Error(ErrorKind::usage, "--cluster " + id + ": write it as MESH/CLUSTER (the plan's names)");
  }
  return {mesh, cluster};
}

bool parse_command_line(const Args& args, const po::options_description& options,
                        const po::positional_options_description& positionals, po::variables_map& vm,
                        std::ostream& out, const std::string& usage) {
  const auto names = positional_names(positionals);
  try {
    po::store(po::command_line_parser(args).options(options).positional(positionals).run(), vm);
    if (vm.count("help")) {
      // Positionals are arguments, not options: listed by their usage-line
      // names, and left out of the option table.
      po::options_description visible("options");
      std::string arguments;
      for (const auto& option : options.options()) {
        const std::string& name = option->long_name();
        if (std::find(names.begin(), names.end(), name) == names.end()) {
          visible.add(option);
        } else {
          std::string meta = metavariable(name);
          arguments += "  " + meta + std::string(meta.size() < 22 ? 22 - meta.size() : 1, ' ') + option->description() + "\n";
        }
      }
      out << usage << "\n";
      if (!arguments.empty()) out << "\narguments:\n" << arguments;
      out << "\n" << visible << "\n";
      return false;
    }
    // Every missing required argument at once, in the usage line's order:
    // the arguments, then the required options.
    std::vector<std::string> missing;
    for (const auto& name : names) {
      const auto* option = options.find_nothrow(name, false);
      if (option != nullptr && option->semantic()->is_required() && !vm.count(name)) missing.push_back(metavariable(name));
    }
    for (const auto& option : options.options()) {
      const std::string& name = option->long_name();
      if (std::find(names.begin(), names.end(), name) == names.end() && option->semantic()->is_required() &&
          !vm.count(name)) {
        missing.push_back("--" + name);
      }
    }
    if (!missing.empty()) {
      std::string list;
      for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
      throw MultiError(ErrorKind::usage, "missing " + list, {usage_lines(usage)});
    }
    po::notify(vm);
  } catch (const po::required_option& e) {
    std::string name = e.get_option_name();
    while (name.starts_with("-")) name.erase(0, 1);
    const bool positional = std::find(names.begin(), names.end(), name) != names.end();
    throw MultiError(ErrorKind::usage, "missing " + (positional ? metavariable(name) : "--" + name), {usage_lines(usage)});
  } catch (const po::error& e) {
    throw MultiError(ErrorKind::usage, with_metavariables(e.what(), names) + " (see --help)", {usage_lines(usage)});
  }
  return true;
}

int dispatch_subcommand(const std::string& group, const char* usage,
                        const std::vector<std::pair<std::string, Subcommand>>& subcommands, const Args& args,
                        Terminal& term) {
  if (args.empty()) {
    throw MultiError(ErrorKind::usage, "missing the subcommand of meshca " + group, {usage_lines(usage)});
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    term.out << usage << "\n";
    return 0;
  }
  for (const auto& [name, run] : subcommands) {
    if (args[0] == name) return run(Args(args.begin() + 1, args.end()), term);
  }
  throw Error(ErrorKind::usage, "unknown subcommand '" + group + " " + args[0] + "' (see meshca " + group + " --help)");
}

void reject_secret_arguments(const Args& args) {
  // The hint must name something that works for this command: only the hsm
  // commands have --pin-source; every other command reads its secrets from
  // the references the plan holds.
  const bool hsm = !args.empty() && args[0] == "hsm";
  const std::string where = hsm ? "use --pin-source env:NAME, file:PATH or prompt"
                                 : "the plan says where each secret comes from (root.key.file.passphrase, "
                                   "root.key.pkcs11.pin: env:NAME, file:PATH or prompt; see docs/plan-reference.md)";
  static const char* kSecretOptions[] = {"--pin", "--passphrase", "--password", "--so-pin", "--pass"};
  for (const auto& arg : args) {
    for (const char* option : kSecretOptions) {
      std::string name(option);
      if (arg == name || arg.starts_with(name + "=")) {
        throw Error(ErrorKind::usage,
                    name + " is not accepted: secrets never go on the command line (visible in ps and shell history); " + where);
      }
    }
    if (arg.find("pin-value=") != std::string::npos) {
      throw Error(ErrorKind::usage, "a PKCS#11 URI with pin-value is not accepted on the command line; " +
                                        (hsm ? "use pin-source=env:NAME in the URI or --pin-source" : where));
    }
  }
}

}  // namespace meshca::cli
