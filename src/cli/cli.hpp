// Declarations shared by the files of the `myco` command. One file per command family
// (main.cpp: the root, --version and `config`; simulate_grow.cpp: `simulate grow`; later
// node.cpp, status.cpp, publish.cpp, simulate_stress.cpp ...). Each family adds its
// subcommands to the CLI11 tree and, when one of them is parsed, stores what to run in the
// CommandAction; main runs it after parsing, so a parse error never leaves half a command run.
//
// The contract every command keeps: a failure prints exactly ONE line on stderr,
// "myco: error: <what went wrong>", and returns kExitUsage for bad input on the command line or
// kExitRuntime for anything that went wrong while running. No exception leaves a command.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "myco/result.hpp"

namespace CLI {
class App;
}  // namespace CLI

namespace myco::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitUsage = 2;

#ifndef MYCO_VERSION
#define MYCO_VERSION "0.1.0"
#endif
inline constexpr std::string_view kVersion = MYCO_VERSION;

// What the parsed command does; returns the process exit code.
using CommandAction = std::function<int()>;

// Prints "myco: error: <message>" (newlines folded, so it stays one line) and returns exit_code.
int PrintError(int exit_code, std::string_view message);

// Strict parsing of a flag's value: the whole text must be a decimal integer (no "1e3", no
// "12abc", no whitespace) within [min, max]. Errors read "--steps must be an integer, got 'abc'"
// or "--steps must be between 0 and 10000000, got -5" (also for values beyond int64).
Result<int64_t> ParseIntegerFlag(std::string_view flag, std::string_view text, int64_t min,
                                 int64_t max);
// The whole text must be a finite or non-finite decimal number; range checks are the caller's.
Result<double> ParseNumberFlag(std::string_view flag, std::string_view text);
// "--steps must be between 0 and 10000000, got -5" when value is outside [min, max].
Status CheckRange(std::string_view flag, int64_t value, int64_t min, int64_t max);

// Fails (kUnavailable, message naming the flag and the path) when `path` cannot be written: its
// directory is missing or read-only, or it names a directory. Run before long work so a typo in
// an output path costs nothing.
Status CheckWritablePath(std::string_view flag, const std::string& path);

// Peak resident set size of this process in bytes (getrusage), for human-facing output only.
uint64_t PeakRssBytes();

// When a long-running command prints its next progress line on stderr: at most every 2 s of
// wall time, reading the clock only every 64th call (a clock read costs more than some
// simulation slices) unless the caller forces a check. Runs shorter than 2 s print nothing.
class ProgressThrottle {
 public:
  // True when a line is due now; elapsed_s() and slice_s() then describe it.
  bool Due(bool force_check = false) {
    if (++calls_ % 64 != 0 && !force_check) return false;
    const auto now = Clock::now();
    if (now - last_ < kInterval) return false;
    elapsed_s_ = std::chrono::duration<double>(now - start_).count();
    slice_s_ = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    return true;
  }
  double elapsed_s() const { return elapsed_s_; }  // since the throttle was made
  double slice_s() const { return slice_s_; }      // since the previous line (or the start)

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr auto kInterval = std::chrono::seconds(2);
  uint64_t calls_ = 0;
  const Clock::time_point start_ = Clock::now();
  Clock::time_point last_ = start_;
  double elapsed_s_ = 0;
  double slice_s_ = 0;
};

// ---- command families ----

// `simulate grow` (simulate_grow.cpp), added under the `simulate` subcommand.
void AddSimulateGrowCommand(CLI::App& simulate, CommandAction& action);
// `simulate broadcast` (simulate_broadcast.cpp).
void AddSimulateBroadcastCommand(CLI::App& simulate, CommandAction& action);
// `simulate stress` (simulate_stress.cpp) and `simulate discovery` (simulate_discovery.cpp).
void AddSimulateStressCommand(CLI::App& simulate, CommandAction& action);
void AddSimulateDiscoveryCommand(CLI::App& simulate, CommandAction& action);
// `up` (up_cmd.cpp): a local network of real daemons; `bench net` (bench_net.cpp).
void AddUpCommand(CLI::App& app, CommandAction& action);
void AddBenchNetCommand(CLI::App& app, CommandAction& action);
// `node` (node_cmd.cpp): run one node in the foreground.
void AddNodeCommand(CLI::App& app, CommandAction& action);

}  // namespace myco::cli
