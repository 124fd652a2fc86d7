#include "cli/terminal.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <ostream>

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
    if (fd < 0) throw Error(ExitCode::key_store, "cannot open the terminal to ask for the " + purpose);
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    std::string label = purpose;
    label[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(label[0])));
    SecureBuffer first = read_line_without_echo(fd, label);
    if (confirm) {
      SecureBuffer again = read_line_without_echo(fd, "Repeat " + purpose);
      if (!first.equals(again)) throw Error(ExitCode::key_store, "the two entries of the " + purpose + " differ");
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

bool parse_command_line(const Args& args, const po::options_description& options,
                        const po::positional_options_description& positionals, po::variables_map& vm,
                        std::ostream& out, const std::string& usage) {
  try {
    po::store(po::command_line_parser(args).options(options).positional(positionals).run(), vm);
    if (vm.count("help")) {
      out << usage << "\n\n" << options << "\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error(ExitCode::usage, std::string(e.what()) + " (see --help)");
  }
  return true;
}

int dispatch_subcommand(const std::string& group, const char* usage,
                        const std::vector<std::pair<std::string, Subcommand>>& subcommands, const Args& args,
                        Terminal& term) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    term.out << usage << "\n";
    return args.empty() ? static_cast<int>(ExitCode::usage) : 0;
  }
  for (const auto& [name, run] : subcommands) {
    if (args[0] == name) return run(Args(args.begin() + 1, args.end()), term);
  }
  throw Error(ExitCode::usage, "unknown subcommand '" + group + " " + args[0] + "' (see meshca " + group + " --help)");
}

void reject_secret_arguments(const Args& args) {
  static const char* kSecretOptions[] = {"--pin", "--passphrase", "--password", "--so-pin", "--pass"};
  for (const auto& arg : args) {
    for (const char* option : kSecretOptions) {
      std::string name(option);
      if (arg == name || arg.starts_with(name + "=")) {
        throw Error(ExitCode::usage, name + " is not accepted: secrets never go on the command line (visible in ps and shell history); use --pin-source env:NAME, file:PATH or prompt");
      }
    }
    if (arg.find("pin-value=") != std::string::npos) {
      throw Error(ExitCode::usage, "a PKCS#11 URI with pin-value is not accepted on the command line; use pin-source or --pin-source");
    }
  }
}

}  // namespace meshca::cli
