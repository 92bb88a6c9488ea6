// `myco up`: a whole local network of real daemons on loopback, for trying myco out, demos,
// benchmarks and scripts. Starts N `myco node` processes (src/io/launcher.hpp), prints who is
// where, writes DIR/network.json, watches them, and stops them all on Ctrl-C or SIGTERM.
#include <signal.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "cli/cli.hpp"
#include "io/launcher.hpp"

namespace myco::cli {
namespace {

struct UpFlags {
  std::string nodes = "3";
  std::string base_port = "7400";
  std::string dir = "myco-net";
  std::string secret;
  std::string ready_timeout = "20";
  std::string seed = "0";
  std::vector<std::string> node_args;
  bool quiet = false;
};

// SIGINT/SIGTERM/SIGHUP stay blocked for the whole command and are taken with sigtimedwait, so a
// Ctrl-C at any moment (even half-way through the start) ends in an orderly stop.
sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

bool StopRequested() {
  sigset_t pending;
  sigemptyset(&pending);
  if (sigpending(&pending) != 0) return false;
  return sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1 ||
         sigismember(&pending, SIGHUP) == 1;
}

void PrintTable(const Launcher& launcher) {
  std::printf("%-6s %-10s %-22s %-22s %s\n", "name", "id", "p2p", "api", "pid");
  for (const LaunchedNode& node : launcher.nodes()) {
    std::printf("%-6s %-10s %-22s %-22s %d\n", node.name.c_str(), node.id.substr(0, 8).c_str(),
                node.listen.c_str(), node.api.c_str(), static_cast<int>(node.pid));
  }
  std::fflush(stdout);
}

void ReportExits(const std::vector<NodeExit>& exits, const Launcher& launcher, bool stopping) {
  for (const NodeExit& exit : exits) {
    if (stopping && exit.clean) continue;
    std::fprintf(stderr, "myco up: %s (pid %d) %s: %s; log: %s\n", exit.name.c_str(),
                 static_cast<int>(exit.pid),
                 stopping ? "did not stop cleanly" : "died unexpectedly", exit.how.c_str(),
                 launcher.nodes().at(exit.index).log_path.c_str());
  }
}

int RunUp(const UpFlags& flags) {
  Result<int64_t> nodes = ParseIntegerFlag("--nodes", flags.nodes, 1, kLaunchNodesMax);
  if (!nodes.ok()) return PrintError(kExitUsage, nodes.error().message);
  Result<int64_t> base_port = ParseIntegerFlag("--base-port", flags.base_port, 1, 65535);
  if (!base_port.ok()) return PrintError(kExitUsage, base_port.error().message);
  Result<int64_t> timeout = ParseIntegerFlag("--ready-timeout", flags.ready_timeout, 1, 3600);
  if (!timeout.ok()) return PrintError(kExitUsage, timeout.error().message);
  Result<int64_t> seed = ParseIntegerFlag("--seed", flags.seed, 0, INT64_MAX);
  if (!seed.ok()) return PrintError(kExitUsage, seed.error().message);

  LaunchOptions options;
  options.nodes = static_cast<int>(nodes.value());
  options.base_port = static_cast<uint16_t>(base_port.value());
  options.dir = flags.dir;
  options.secret = flags.secret;
  options.ready_timeout = Seconds(timeout.value());
  options.seed = static_cast<uint64_t>(seed.value());
  options.node_args = flags.node_args;

  // A shell starts background jobs with SIGINT ignored, and an ignored signal is discarded even
  // while blocked: restore the default so sigtimedwait sees it.
  const sigset_t stop_signals = StopSignals();
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) signal(sig, SIG_DFL);

  const auto started = std::chrono::steady_clock::now();
  auto elapsed_s = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  Launcher launcher(options);
  auto last_line = std::chrono::steady_clock::now();
  auto progress = [&](int ready, int total) {
    const auto now = std::chrono::steady_clock::now();
    if (flags.quiet || (ready != total && now - last_line < std::chrono::seconds(1))) return;
    last_line = now;
    std::fprintf(stderr, "myco up: %d/%d nodes ready (%.1f s)\n", ready, total, elapsed_s());
  };
  if (!flags.quiet) {
    std::fprintf(stderr, "myco up: starting %d nodes in %s (ports %d-%d)\n", options.nodes,
                 flags.dir.c_str(), options.base_port, options.base_port + 2 * options.nodes - 1);
  }
  if (Status s = launcher.Start(progress, StopRequested); !s.ok()) {
    launcher.Stop();
    if (StopRequested()) {
      std::fprintf(stderr, "myco up: interrupted; stopped the nodes already started\n");
      return kExitOk;
    }
    // The launcher's message is one line, then the tail of the failing node's log: the tail goes
    // first, indented, so the last line the user sees is the one error line.
    const std::string& message = s.error().message;
    const size_t nl = message.find('\n');
    if (nl != std::string::npos) {
      std::string tail = message.substr(nl + 1);
      size_t start = 0;
      while (start < tail.size()) {
        const size_t end = std::min(tail.find('\n', start), tail.size());
        std::fprintf(stderr, "  | %s\n", tail.substr(start, end - start).c_str());
        start = end + 1;
      }
    }
    return PrintError(kExitRuntime, message.substr(0, nl));
  }
  if (Status s = launcher.WriteNetworkFile(); !s.ok()) {
    launcher.Stop();
    return PrintError(kExitRuntime, s.error().message);
  }
  PrintTable(launcher);
  std::printf(
      "\n%d nodes up in %.1f s. Network file: %s/network.json; secret: %s/secret;\n"
      "API tokens: %s/<name>/api.token; logs: %s/<name>/node.log. Ctrl-C stops the network.\n",
      options.nodes, elapsed_s(), flags.dir.c_str(), flags.dir.c_str(), flags.dir.c_str(),
      flags.dir.c_str());
  std::fflush(stdout);

  int running = options.nodes;
  while (true) {
    const timespec wait{.tv_sec = 0, .tv_nsec = 200'000'000};
    const int sig = sigtimedwait(&stop_signals, nullptr, &wait);
    if (sig > 0) break;
    const std::vector<NodeExit> exits = launcher.Reap();
    ReportExits(exits, launcher, /*stopping=*/false);
    running -= static_cast<int>(exits.size());
    if (running == 0) {
      return PrintError(kExitRuntime, "every node of the network has exited");
    }
  }
  std::fprintf(stderr, "myco up: stopping %d nodes\n", running);
  const std::vector<NodeExit> exits = launcher.Stop(Seconds(10));
  ReportExits(exits, launcher, /*stopping=*/true);
  // Scripts take an existing network.json to mean a running network.
  std::remove((flags.dir + "/network.json").c_str());
  std::fprintf(stderr, "myco up: stopped\n");
  return kExitOk;
}

}  // namespace

void AddUpCommand(CLI::App& app, CommandAction& action) {
  CLI::App* up = app.add_subcommand(
      "up", "Start a local network of N myco nodes on loopback and keep it running until Ctrl-C");
  auto flags = std::make_shared<UpFlags>();
  up->add_option("--nodes", flags->nodes, "Nodes to start, 1 to 1000 (default 3)");
  up->add_option(
      "--base-port", flags->base_port,
      "Node k listens on base+2(k-1) and serves its API on the next port (default 7400)");
  up->add_option("--dir", flags->dir,
                 "Directory of the network: one data dir per node, network.json, secret (default "
                 "myco-net; an existing one is reused with its identities)");
  up->add_option("--secret", flags->secret,
                 "Network secret (default: the one in DIR/secret, else a new random one)");
  up->add_option("--ready-timeout", flags->ready_timeout,
                 "Seconds a node may take to print its ready line (default 20)");
  up->add_option("--seed", flags->seed, "Seed of the bootstrap choices (default: random)");
  up->add_option("--node-arg", flags->node_args,
                 "Extra flag passed to every `myco node` (repeatable)")
      ->allow_extra_args(false);
  up->add_flag("--quiet", flags->quiet, "No progress lines");
  up->callback([flags, &action] { action = [flags] { return RunUp(*flags); }; });
}

}  // namespace myco::cli
