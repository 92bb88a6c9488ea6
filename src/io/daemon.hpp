// Daemon: one running myco node. It owns the event loop (one io_context, run on the thread that
// calls Run), the node's identity, the core (through NodeHost), the TLS transport and the HTTP
// API, and wires them together:
//
//   transport --inputs--> NodeHost --effects--> transport (Send/Dial/Close), API/log (Deliver)
//   tick timer: armed at NodeHost::NextDeadline() after every batch of effects
//
// Identity: <data_dir>/identity.key holds the Ed25519 seed (64 hex characters), created on first
// start with mode 0600. A key file that others may read (any group/other permission bit) or that
// is malformed stops the start with a clear error rather than being used or replaced. The API
// bearer token lives beside it in <data_dir>/api.token (32 random bytes as hex, mode 0600).
//
// Stop (Stop(), SIGINT or SIGTERM): the core says goodbye to every peer (Disconnect kShutdown),
// the transport flushes and closes every link, and the loop ends within stop_timeout even if a
// peer does not cooperate; Run then returns OK. A second signal ends the loop at once.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "io/config.hpp"
#include "io/node_host.hpp"
#include "io/transport.hpp"
#include "myco/identity.hpp"
#include "myco/result.hpp"
#include "myco/time.hpp"
#include "wire/frame.hpp"

namespace myco {

struct DaemonOptions {
  NodeConfig config;           // validated
  bool handle_signals = true;  // SIGINT/SIGTERM -> graceful stop (false when embedded)
  // Every kTrimInterval, hand the heap's free pages back to the kernel (malloc_trim). For the
  // `myco node` process, whose heap peaks while the network forms (dozens of handshakes at
  // once, ~100 KB each) and then idles far below that peak; off when embedded, as it acts on
  // the whole process.
  bool trim_heap = false;
  // From accept/dial to the peer's first Hello; zero: config.topology.handshake_timeout.
  Duration handshake_timeout;
  // How long a stop may spend flushing goodbyes before the loop ends regardless.
  Duration stop_timeout = Seconds(1);
  // One line per event of interest (peer up/down, refusals, stop); null: stderr.
  std::function<void(const std::string&)> log;

  // ---- test only (not reachable from the config file) ----
  TransportFaults faults;
  NodeId test_hello_id;  // non-zero: this node lies about its id in every Hello
  uint32_t frame_bytes_max = kFrameBytesMax;
};

class ApiServer;

class Daemon {
 public:
  // Loads or creates the identity and API token, builds the core, binds the listener and the
  // API. Nothing runs until Run.
  static Result<std::unique_ptr<Daemon>> Create(DaemonOptions options);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Runs the event loop on the calling thread until stopped; joins the network through the
  // configured bootstrap addresses first. Call once.
  Status Run();
  // Thread-safe: say goodbye to every peer, flush (bounded by stop_timeout), stop the loop.
  void Stop();

  boost::asio::io_context& io() { return io_; }
  NodeHost& host();        // use only on the loop thread
  Transport& transport();  // use only on the loop thread
  NodeId id() const;
  std::string listen_address() const { return listen_address_; }
  std::string api_address() const { return api_address_; }
  std::string api_token() const { return api_token_; }

 private:
  explicit Daemon(DaemonOptions options);
  Status Init();
  void Log(const std::string& line);
  void ArmTick();
  void WaitSignal();
  void ArmTrim();  // DaemonOptions::trim_heap
  void BeginStop(const std::string& why);
  void FinishStop();

  struct Impl;
  DaemonOptions options_;
  boost::asio::io_context io_;
  std::shared_ptr<const Identity> identity_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<NodeHost> host_;
  std::unique_ptr<Impl> impl_;  // timers, signals, API server
  std::string listen_address_;
  std::string api_address_;
  std::string api_token_;
  bool ran_ = false;
  bool stopping_ = false;
  bool finished_ = false;
  bool tick_armed_ = false;
  TimePoint tick_deadline_;
};

// Reads a file that must be private to its owner: a regular file, no group/other permission
// bits, at most 4096 bytes. kNotFound when it does not exist; every error names the path (and,
// for a loose mode, the chmod that fixes it).
Result<std::string> ReadPrivateFile(const std::string& path);
// <data_dir>/identity.key: the seed as 64 hex characters and a newline. Created (mode 0600,
// atomically) when missing; refused when readable by group/other or malformed.
Result<Identity> LoadOrCreateIdentity(const std::string& path);
// <data_dir>/api.token: 32 random bytes as 64 hex characters, same rules.
Result<std::string> LoadOrCreateToken(const std::string& path);

}  // namespace myco
