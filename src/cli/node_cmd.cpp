// `myco node`: runs one node (the daemon) in the foreground until SIGINT/SIGTERM.
//
//   myco node --config node.toml
//   myco node --name n1 --listen 127.0.0.1:7401 --api 127.0.0.1:7402
//             --bootstrap 127.0.0.1:7400 --data-dir DIR --secret S (or --secret-file F)
//
// Flags override the file; the result is validated again as a whole, and a bad value is one
// "myco: error:" line with exit code 2. On start the node prints its name, NodeId, listen and API
// addresses, then the machine-readable line the `myco up` launcher waits for:
//   myco: ready name=n1 id=<64 hex> listen=127.0.0.1:7401 api=127.0.0.1:7402
// Logs (peer up/down, refusals, stop) go to stderr, one line per event.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "io/config.hpp"
#include "io/daemon.hpp"

namespace myco::cli {
namespace {

struct NodeFlags {
  std::string config;
  std::string name;
  std::string listen;
  std::string api;
  std::vector<std::string> bootstrap;
  std::string data_dir;
  std::string secret;
  std::string secret_file;
  // Test-only fault injection (hidden from --help; docs/ARCHITECTURE.md "The io driver").
  std::string test_delay_ms;
  std::string test_drop;
  std::string test_fault_seed;
  // Which of the flags that override the file were given. Recorded while parsing, because the
  // CLI11 tree (about 150 KB of heap) is freed before the node runs (main.cpp).
  bool name_given = false;
  bool listen_given = false;
  bool api_given = false;
  bool bootstrap_given = false;
  bool data_dir_given = false;
  bool secret_given = false;
  bool secret_file_given = false;
};

// "listen: expected host:port ..." names the config key; on the command line the flag is what
// the user typed, so the message says that instead when the flag was given.
std::string NameTheFlag(const NodeFlags& f, const std::string& message) {
  struct Key {
    const char* prefix;
    const char* flag;
    bool given;
  };
  const Key keys[] = {{"node_id: ", "--name", f.name_given},
                      {"listen: ", "--listen", f.listen_given},
                      {"api: ", "--api", f.api_given},
                      {"bootstrap: ", "--bootstrap", f.bootstrap_given},
                      {"data_dir: ", "--data-dir", f.data_dir_given},
                      {"network_secret: ", "--secret", f.secret_given},
                      {"network_secret: ", "--secret-file", f.secret_file_given}};
  for (const Key& key : keys) {
    const std::string prefix = key.prefix;
    if (key.given && message.rfind(prefix, 0) == 0) {
      return std::string(key.flag) + ": " + message.substr(prefix.size());
    }
  }
  return message;
}

int RunNode(const NodeFlags& f) {
  NodeConfig config;
  if (!f.config.empty()) {
    Result<NodeConfig> loaded = LoadNodeConfig(f.config);
    if (!loaded.ok()) return PrintError(kExitUsage, loaded.error().message);
    config = std::move(loaded).value();
  }
  if (f.name_given) config.node_id = f.name;
  if (f.listen_given) config.listen = f.listen;
  if (f.api_given) config.api = f.api;
  if (f.bootstrap_given) config.bootstrap = f.bootstrap;
  if (f.data_dir_given) config.data_dir = f.data_dir;
  if (f.secret_given) config.network_secret = f.secret;
  if (f.secret_file_given) {
    // The secret from a private file, so it never shows in `ps`; one trailing newline (what
    // `echo` and editors leave) is not part of it.
    Result<std::string> text = ReadPrivateFile(f.secret_file);
    if (!text.ok()) return PrintError(kExitUsage, "--secret-file: " + text.error().message);
    std::string secret = std::move(text).value();
    if (!secret.empty() && secret.back() == '\n') secret.pop_back();
    if (!secret.empty() && secret.back() == '\r') secret.pop_back();
    config.network_secret = std::move(secret);
  }
  if (Status s = ValidateNodeConfig(config); !s.ok()) {
    return PrintError(kExitUsage, NameTheFlag(f, s.error().message));
  }

  DaemonOptions options;
  options.config = config;
  options.handle_signals = true;
  options.trim_heap = true;
  if (!f.test_delay_ms.empty()) {
    Result<int64_t> ms = ParseIntegerFlag("--test-delay-ms", f.test_delay_ms, 0, 60'000);
    if (!ms.ok()) return PrintError(kExitUsage, ms.error().message);
    options.faults.delay = Milliseconds(*ms);
  }
  if (!f.test_drop.empty()) {
    Result<double> p = ParseNumberFlag("--test-drop", f.test_drop);
    if (!p.ok()) return PrintError(kExitUsage, p.error().message);
    if (!(*p >= 0 && *p <= 1)) {
      return PrintError(kExitUsage, "--test-drop must be between 0 and 1, got " + f.test_drop);
    }
    options.faults.drop_probability = *p;
  }
  if (!f.test_fault_seed.empty()) {
    Result<int64_t> seed = ParseIntegerFlag("--test-fault-seed", f.test_fault_seed, 0,
                                            std::numeric_limits<int64_t>::max());
    if (!seed.ok()) return PrintError(kExitUsage, seed.error().message);
    options.faults.seed = static_cast<uint64_t>(*seed);
  }

  Result<std::unique_ptr<Daemon>> daemon = Daemon::Create(std::move(options));
  if (!daemon.ok()) return PrintError(kExitRuntime, daemon.error().message);
  Daemon& d = **daemon;
  const std::string id = d.id().Hex();
  std::printf("node name:   %s\nnode id:     %s\nlisten:      %s\napi:         %s\n",
              config.node_id.c_str(), id.c_str(), d.listen_address().c_str(),
              d.api_address().c_str());
  std::printf("myco: ready name=%s id=%s listen=%s api=%s\n", config.node_id.c_str(), id.c_str(),
              d.listen_address().c_str(), d.api_address().c_str());
  std::fflush(stdout);
  if (Status s = d.Run(); !s.ok()) return PrintError(kExitRuntime, s.error().message);
  return kExitOk;
}

}  // namespace

void AddNodeCommand(CLI::App& app, CommandAction& action) {
  CLI::App* node = app.add_subcommand(
      "node", "Run a node in the foreground until SIGINT/SIGTERM (docs/CONFIG.md)");
  auto f = std::make_shared<NodeFlags>();
  node->add_option("--config", f->config, "TOML config file; the flags below override it");
  CLI::Option* name = node->add_option("--name", f->name, "Human node name (config node_id)");
  CLI::Option* listen =
      node->add_option("--listen", f->listen, "Peer-to-peer listen address host:port");
  CLI::Option* api = node->add_option("--api", f->api, "HTTP API address host:port");
  CLI::Option* bootstrap = node->add_option("--bootstrap", f->bootstrap,
                                            "Address of a node to join through (repeatable)");
  CLI::Option* data_dir =
      node->add_option("--data-dir", f->data_dir, "Where identity.key and api.token live");
  CLI::Option* secret =
      node->add_option("--secret", f->secret, "Network secret (16-1024 characters)");
  CLI::Option* secret_file =
      node->add_option("--secret-file", f->secret_file,
                       "File holding the network secret (mode 0600; keeps it out of ps)")
          ->excludes(secret);
  // Test-only fault layer: no group, so --help does not list them.
  node->add_option("--test-delay-ms", f->test_delay_ms, "TEST ONLY: added one-way delay")
      ->group("");
  node->add_option("--test-drop", f->test_drop, "TEST ONLY: outgoing frame loss probability")
      ->group("");
  node->add_option("--test-fault-seed", f->test_fault_seed, "TEST ONLY: fault Rng seed")->group("");
  node->callback([=, &action] {
    f->name_given = name->count() > 0;
    f->listen_given = listen->count() > 0;
    f->api_given = api->count() > 0;
    f->bootstrap_given = bootstrap->count() > 0;
    f->data_dir_given = data_dir->count() > 0;
    f->secret_given = secret->count() > 0;
    f->secret_file_given = secret_file->count() > 0;
    action = [f] { return RunNode(*f); };
  });
}

}  // namespace myco::cli
