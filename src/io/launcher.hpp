// Launcher: starts and supervises a local network of real `myco node` processes on loopback, for
// `myco up`, `myco bench net`, the demo and the multi-process tests.
//
// Node k (1-based) is named "nk", keeps its state in DIR/nk (identity, api.token), writes its
// stdout and stderr to DIR/nk/node.log, listens for peers on 127.0.0.1:(base_port + 2(k-1)) and
// serves its API on the next port. Node 1 starts a new network; every later node bootstraps through
// a few random nodes that are already up (never all through node 1, so the entry points do not
// form a star). The network secret is shared: the one given, else the one saved in DIR/secret by a
// previous run, else a fresh random one (saved, mode 0600), so a second `myco up` on the same
// directory brings back the same network with the same identities.
//
// Children are in their own process group (a terminal's Ctrl-C reaches only the launcher, which
// then stops them in order) and get SIGTERM if the launcher dies (PR_SET_PDEATHSIG), so a crashed
// launcher does not leave orphans. One launcher per directory (flock on DIR/up.lock).
//
// Bounds: at most kLaunchNodesMax nodes; at most spawn_batch nodes starting at once; a node that
// does not print its ready line within ready_timeout fails the start with the tail of its log.
//
// REQUIRES: external synchronization; the caller blocks SIGINT/SIGTERM itself if it wants to
// handle them (the children get an empty signal mask and default dispositions either way).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "myco/result.hpp"
#include "myco/time.hpp"

namespace myco {

// More processes than this would exhaust ports and file descriptors long before it told us
// anything a simulation cannot.
inline constexpr int kLaunchNodesMax = 1000;

struct LaunchOptions {
  int nodes = 3;
  uint16_t base_port = 7400;
  std::string dir = "myco-net";
  std::string secret;  // empty: reuse DIR/secret or generate one
  std::string binary;  // the myco executable; empty: /proc/self/exe
  int bootstrap_peers = 3;
  int spawn_batch = 16;
  Duration ready_timeout = Seconds(20);
  uint64_t seed = 0;                   // bootstrap choices; 0: from the clock
  std::vector<std::string> node_args;  // extra flags for every `myco node`
};

// One node as the launcher and network.json describe it.
struct LaunchedNode {
  std::string name;  // "n1" ...
  std::string id;    // 64 hex characters, from the ready line
  std::string listen;
  std::string api;
  std::string data_dir;
  std::string token_path;
  std::string log_path;
  pid_t pid = 0;  // 0 when not running
};

// DIR/network.json, for scripts and `myco bench net --dir`.
struct NetworkFile {
  std::string dir;
  std::string secret_path;
  pid_t launcher_pid = 0;
  std::vector<LaunchedNode> nodes;
};
std::string FormatNetworkJson(const NetworkFile& network);
Result<NetworkFile> ParseNetworkJson(std::string_view text);
Result<NetworkFile> LoadNetworkJson(const std::string& path);

// The fields of the daemon's "myco: ready name=.. id=.. listen=.. api=.." line.
struct ReadyLine {
  std::string name, id, listen, api;
};
std::optional<ReadyLine> ParseReadyLine(std::string_view line);

// The last `lines` lines of a file (at most 4 KiB of them), for error messages.
std::string LogTail(const std::string& path, int lines);

// Up to `count` distinct entries of `candidates`, chosen uniformly with `seed`.
std::vector<int> ChooseDistinct(const std::vector<int>& candidates, int count, uint64_t seed);

// A node process that ended, as Reap and Stop report it.
struct NodeExit {
  int index = 0;
  std::string name;
  pid_t pid = 0;
  std::string how;  // "exit 0", "exit 3", "killed by signal 9"
  bool clean = false;
};

class Launcher {
 public:
  explicit Launcher(LaunchOptions options);
  ~Launcher();  // stops whatever still runs
  Launcher(const Launcher&) = delete;
  Launcher& operator=(const Launcher&) = delete;

  // Prepares the directory, then starts the nodes and waits for each ready line. `progress` gets
  // (ready, total) after every node; `cancelled` is polled while waiting (Ctrl-C). On failure the
  // nodes already started keep running until Stop or the destructor.
  Status Start(const std::function<void(int ready, int total)>& progress = {},
               const std::function<bool()>& cancelled = {});

  // SIGTERM to every running node, waits up to `grace` for all of them, SIGKILLs the rest.
  std::vector<NodeExit> Stop(Duration grace = Seconds(10));

  // Children that exited since the last call (never blocks).
  std::vector<NodeExit> Reap();

  // Sends `signal` to node `index` (0-based); with SIGKILL also reaps it.
  Status Kill(int index, int signal);
  // Starts a stopped node again with its identity, bootstrapping through running nodes, and waits
  // for its ready line.
  Status Restart(int index);

  // Writes DIR/network.json (atomically: a temporary file renamed over it).
  Status WriteNetworkFile() const;

  const std::vector<LaunchedNode>& nodes() const { return nodes_; }
  const std::string& dir() const { return options_.dir; }
  const std::string& secret() const { return secret_; }
  bool running(int index) const { return nodes_.at(index).pid > 0; }

 private:
  struct Pending;
  Status PrepareDirectory();
  Result<pid_t> Spawn(int index, const std::vector<int>& bootstrap, bool truncate_log);
  Status WaitReady(std::vector<Pending>& pending, int& ready, int total,
                   const std::function<void(int, int)>& progress,
                   const std::function<bool()>& cancelled, bool wait_all);
  std::vector<int> RunningIndices() const;
  NodeExit Describe(int index, pid_t pid, int status) const;

  LaunchOptions options_;
  std::string secret_;
  std::string secret_path_;  // <dir>/secret (0600): nodes read it, so it never shows in ps
  std::vector<LaunchedNode> nodes_;
  int lock_fd_ = -1;
  uint64_t choices_ = 0;  // bootstrap choices made, mixed into the seed
};

}  // namespace myco
