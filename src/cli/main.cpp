// The `myco` command: builds the CLI11 tree from the command families, parses, runs the chosen
// command, and turns every failure into one "myco: error:" line and an exit code (cli.hpp).
// Also home to the helpers every family shares and to the small `config` family.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "cli/cli.hpp"
#include "cli/client.hpp"
#include "io/config.hpp"

namespace myco::cli {

int PrintError(int exit_code, std::string_view message) {
  std::string line = "myco: error: ";
  for (const char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
  while (!line.empty() && line.back() == ' ') line.pop_back();
  line += '\n';
  std::fflush(stdout);
  std::fputs(line.c_str(), stderr);
  return exit_code;
}

Result<int64_t> ParseIntegerFlag(std::string_view flag, std::string_view text, int64_t min,
                                 int64_t max) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  const bool whole = end == text.data() + text.size() && !text.empty();
  if (ec == std::errc::result_out_of_range && whole) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(flag) + " must be between " + std::to_string(min) + " and " +
                         std::to_string(max) + ", got " + std::string(text));
  }
  if (ec != std::errc() || !whole) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(flag) + " must be an integer, got '" + std::string(text) + "'");
  }
  if (Status s = CheckRange(flag, value, min, max); !s.ok()) return s.error();
  return value;
}

Result<double> ParseNumberFlag(std::string_view flag, std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(flag) + " must be a number, got '" + std::string(text) + "'");
  }
  return value;
}

Status CheckRange(std::string_view flag, int64_t value, int64_t min, int64_t max) {
  if (value >= min && value <= max) return Status::Ok();
  return MakeError(ErrorCode::kInvalidArgument,
                   std::string(flag) + " must be between " + std::to_string(min) + " and " +
                       std::to_string(max) + ", got " + std::to_string(value));
}

Status CheckWritablePath(std::string_view flag, const std::string& path) {
  auto fail = [&](const std::string& why) {
    return MakeError(ErrorCode::kUnavailable,
                     "cannot write " + std::string(flag) + " file '" + path + "': " + why);
  };
  if (path.empty()) return fail("empty path");
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0) {
    if (S_ISDIR(info.st_mode)) return fail("is a directory");
    if (::access(path.c_str(), W_OK) != 0) return fail(std::strerror(errno));
    return Status::Ok();
  }
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  if (::stat(dir.c_str(), &info) != 0) return fail(std::strerror(errno));
  if (!S_ISDIR(info.st_mode)) return fail("'" + dir + "' is not a directory");
  if (::access(dir.c_str(), W_OK | X_OK) != 0) return fail(std::strerror(errno));
  return Status::Ok();
}

uint64_t PeakRssBytes() {
  struct rusage usage {};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports kilobytes
}

namespace {

// ---- the `config` family ----

void AddConfigCommands(CLI::App& app, CommandAction& action) {
  CLI::App* config = app.add_subcommand("config", "Inspect node configuration files");
  config->require_subcommand(1);
  CLI::App* check = config->add_subcommand(
      "check", "Validate a TOML config file and print the effective configuration");
  auto path = std::make_shared<std::string>();
  check->add_option("FILE", *path, "The TOML file (docs/CONFIG.md lists the keys)")->required();
  check->callback([path, &action] {
    action = [path] {
      Result<NodeConfig> config = LoadNodeConfig(*path);
      if (!config.ok()) return PrintError(kExitRuntime, config.error().message);
      std::cout << "# effective configuration of " << *path << "\n"
                << FormatNodeConfig(config.value()) << std::flush;
      return kExitOk;
    };
  });
}

// The deepest subcommand the user reached, for a "--help" hint that points at the right place.
CLI::App* DeepestCommand(CLI::App& app, std::string& path) {
  path = app.get_name();
  CLI::App* current = &app;
  while (true) {
    const auto parsed = current->get_subcommands();
    if (parsed.empty()) return current;
    current = parsed.front();
    path += " " + current->get_name();
  }
}

// CLI11 sentences start with a capital ("The following argument..."); ours continue a prefix.
// Acronyms and names ("FILE") keep their case.
std::string FoldFirstLetter(std::string text) {
  if (text.size() >= 2 && std::isupper(static_cast<unsigned char>(text[0])) &&
      !std::isupper(static_cast<unsigned char>(text[1]))) {
    text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  }
  return text;
}

std::string DescribeParseError(CLI::App& app, const CLI::ParseError& e) {
  std::string path;
  CLI::App* deepest = DeepestCommand(app, path);
  const std::string hint = " (see '" + path + " --help')";
  // CLI11 reports "a subcommand is required" before it complains about the word it did not
  // recognise; the word is what the user needs to hear about.
  if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && !deepest->remaining().empty()) {
    const std::string word = deepest->remaining().front();
    if (!word.empty() && word[0] == '-') return "unknown option '" + word + "'" + hint;
    return "unknown command '" + word + "'" + hint;
  }
  return FoldFirstLetter(e.what()) + hint;
}

// Parses the command line into `action`; returns an exit code when there is nothing to run (help,
// version, a usage error), or nullopt. The CLI11 tree lives only in here: a `myco node` runs for
// days and has no use for the ~150 KB of heap the tree of every command holds.
std::optional<int> Parse(int argc, char** argv, CommandAction& action) {
  CLI::App app("myco: machines that find each other, share capacity and spread knowledge", "myco");
  app.set_version_flag("--version", "myco " + std::string(kVersion));
  app.require_subcommand(1);

  AddConfigCommands(app, action);
  CLI::App* simulate =
      app.add_subcommand("simulate", "Run scenarios in the deterministic in-process simulator");
  simulate->require_subcommand(1);
  AddSimulateGrowCommand(*simulate, action);
  AddSimulateBroadcastCommand(*simulate, action);
  AddSimulateStressCommand(*simulate, action);
  AddSimulateDiscoveryCommand(*simulate, action);
  AddClientCommands(app, action);
  AddUpCommand(app, action);
  AddBenchNetCommand(app, action);
  AddNodeCommand(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return PrintError(kExitUsage, DescribeParseError(app, e));
  }
  if (!action) return PrintError(kExitUsage, "no command given (see 'myco --help')");
  return std::nullopt;
}

int Run(int argc, char** argv) {
  CommandAction action;
  if (std::optional<int> exit_code = Parse(argc, argv, action)) return *exit_code;
  return action();
}

}  // namespace
}  // namespace myco::cli

namespace {

// Simulations touch gigabytes of small heap objects in no particular order, so with 4 KB pages
// nearly every cache miss is a TLB miss too. glibc backs its heap with transparent huge pages
// when the glibc.malloc.hugetlb tunable is set, and reads tunables only at startup, so `myco
// simulate` runs itself again once with it set (simulate broadcast, 10,000 nodes x 1,000
// broadcasts: 61 -> 51 s). It also keeps freed memory rather than handing the top of the heap
// back to the kernel (trim_threshold, top_pad) and serves blocks up to 32 MB from the heap
// (mmap_threshold): the heap grows and shrinks by megabytes as per-node tables grow, and every
// huge page handed back is zeroed again when the heap regrows (page faults 8,240 -> 2,241 at
// 10,000 nodes x 300 broadcasts). Results cannot change: the heap's layout never reaches them.
// Left alone if the user set GLIBC_TUNABLES; if exec fails, the command just runs as it is.
void UseHugePagesForSimulations(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "simulate") != 0) return;
  if (std::getenv("GLIBC_TUNABLES") != nullptr) return;
  if (std::getenv("MYCO_HUGEPAGES_TRIED") != nullptr) return;  // never a second time
  setenv("MYCO_HUGEPAGES_TRIED", "1", 1);
  setenv("GLIBC_TUNABLES",
         "glibc.malloc.hugetlb=1:glibc.malloc.trim_threshold=1073741824:"
         "glibc.malloc.top_pad=67108864:glibc.malloc.mmap_threshold=33554432",
         1);
  execv("/proc/self/exe", argv);
  unsetenv("GLIBC_TUNABLES");
}

}  // namespace

int main(int argc, char** argv) {
  UseHugePagesForSimulations(argc, argv);
  // Last resort: a command that throws still ends with one readable line, never "terminate".
  try {
    return myco::cli::Run(argc, argv);
  } catch (const std::bad_alloc&) {
    return myco::cli::PrintError(myco::cli::kExitRuntime, "out of memory");
  } catch (const std::exception& e) {
    return myco::cli::PrintError(myco::cli::kExitRuntime,
                                 std::string("unexpected failure: ") + e.what());
  } catch (...) {
    return myco::cli::PrintError(myco::cli::kExitRuntime, "unexpected failure");
  }
}
