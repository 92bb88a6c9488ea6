// Real daemons on loopback, each running its event loop on its own thread, plus the `myco node`
// command as a user runs it (MYCO_BINARY).
#include "io/daemon.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/propagation/propagation.hpp"

#ifndef MYCO_BINARY
#error "MYCO_BINARY must name the myco executable (see CMakeLists.txt)"
#endif

namespace myco {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string Scratch(const std::string& name) {
  static int counter = 0;
  const std::string dir = ::testing::TempDir() + "myco_daemon_test_" + std::to_string(::getpid()) +
                          "_" + std::to_string(counter++) + "_" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

NodeConfig TestConfig(const std::string& name) {
  NodeConfig config;
  config.node_id = name;
  config.listen = "127.0.0.1:0";
  config.api = "127.0.0.1:0";
  config.data_dir = Scratch(name);
  return config;
}

// Waits (polling) until `done` holds or 10 s pass: a bound against hanging, not a timing check.
bool WaitFor(const std::function<bool()>& done) {
  const auto deadline = SteadyClock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (SteadyClock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// One daemon running on its own thread; what it delivers and logs is recorded.
class Running {
 public:
  static std::unique_ptr<Running> Start(NodeConfig config, DaemonOptions options = {}) {
    auto r = std::unique_ptr<Running>(new Running());
    Running* raw = r.get();
    options.config = std::move(config);
    options.handle_signals = false;
    if (options.handshake_timeout.ns == 0) options.handshake_timeout = Seconds(2);
    options.log = [raw](const std::string& line) {
      std::lock_guard<std::mutex> lock(raw->mu_);
      raw->log_.push_back(line);
    };
    Result<std::unique_ptr<Daemon>> daemon = Daemon::Create(std::move(options));
    EXPECT_TRUE(daemon.ok()) << daemon.error().message;
    if (!daemon.ok()) return nullptr;
    r->daemon_ = std::move(daemon).value();
    r->daemon_->host().Subscribe([raw](TimePoint, const AppEvent& event) {
      std::lock_guard<std::mutex> lock(raw->mu_);
      if (std::holds_alternative<PeerUp>(event)) ++raw->peer_up_;
      if (const auto* down = std::get_if<PeerDown>(&event)) raw->peer_down_.push_back(down->why);
      if (std::holds_alternative<InformationDelivered>(event)) ++raw->delivered_;
    });
    r->thread_ = std::thread([raw] {
      Status status = raw->daemon_->Run();
      std::lock_guard<std::mutex> lock(raw->mu_);
      raw->status_ = status;
      raw->done_ = true;
    });
    return r;
  }

  ~Running() { static_cast<void>(StopAndJoin()); }

  Status StopAndJoin() {
    if (thread_.joinable()) {
      daemon_->Stop();
      thread_.join();
    }
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }

  // Runs `f` on the daemon's loop thread and returns its result.
  template <typename F>
  auto OnLoop(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto future = task.get_future();
    boost::asio::post(daemon_->io(), [&task] { task(); });
    EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return future.get();
  }

  uint64_t Refused(const std::string& reason) {
    return OnLoop([this, reason] {
      const auto& refused = daemon_->transport().counters().refused;
      auto it = refused.find(reason);
      return it == refused.end() ? uint64_t{0} : it->second;
    });
  }
  size_t Links() {
    return OnLoop([this] { return daemon_->transport().link_count(); });
  }

  int peer_up() {
    std::lock_guard<std::mutex> lock(mu_);
    return peer_up_;
  }
  int delivered() {
    std::lock_guard<std::mutex> lock(mu_);
    return delivered_;
  }
  std::vector<std::string> peer_down() {
    std::lock_guard<std::mutex> lock(mu_);
    return peer_down_;
  }
  bool done() {
    std::lock_guard<std::mutex> lock(mu_);
    return done_;
  }
  bool Logged(const std::string& needle) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& line : log_) {
      if (line.find(needle) != std::string::npos) return true;
    }
    return false;
  }
  std::string LogText() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string text;
    for (const std::string& line : log_) text += line + "\n";
    return text;
  }

  Daemon& daemon() { return *daemon_; }

 private:
  Running() = default;
  std::unique_ptr<Daemon> daemon_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> log_;
  std::vector<std::string> peer_down_;
  int peer_up_ = 0;
  int delivered_ = 0;
  bool done_ = false;
  Status status_;
};

constexpr char kSecret[] = "a fleet secret of some length";

TEST(DaemonTest, ThreeNodesConnectOverTlsAndBroadcast) {
  NodeConfig a_config = TestConfig("a");
  a_config.network_secret = kSecret;
  auto a = Running::Start(a_config);
  ASSERT_NE(a, nullptr);

  NodeConfig b_config = TestConfig("b");
  b_config.network_secret = kSecret;
  b_config.bootstrap = {a->daemon().listen_address()};
  const auto started = SteadyClock::now();
  auto b = Running::Start(b_config);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(WaitFor([&] { return a->peer_up() >= 1 && b->peer_up() >= 1; }))
      << a->LogText() << b->LogText();
  const double connect_ms =
      std::chrono::duration<double, std::milli>(SteadyClock::now() - started).count();
  std::printf("two nodes: start of b to PeerUp on both ends in %.1f ms\n", connect_ms);

  NodeConfig c_config = TestConfig("c");
  c_config.network_secret = kSecret;
  c_config.bootstrap = {a->daemon().listen_address()};
  auto c = Running::Start(c_config);
  ASSERT_NE(c, nullptr);
  // Wait until every link c has is up at its other end too: the acceptor of a neighbour request
  // sees the link up one message before the requester, and a broadcast published in between
  // would not be forwarded to c (Plumtree has no anti-entropy for packets sent before a link).
  ASSERT_TRUE(WaitFor([&] {
    return c->peer_up() >= 1 && a->peer_up() + b->peer_up() >= 2 + c->peer_up();
  })) << c->LogText();

  Result<std::vector<PacketId>> published = a->OnLoop([&] {
    PublishRequest request;
    request.information_type = "test_news";
    request.payload = R"({"hello":"world"})";
    return a->daemon().host().Publish(std::move(request));
  });
  ASSERT_TRUE(published.ok()) << published.error().message;
  ASSERT_TRUE(WaitFor([&] { return b->delivered() == 1 && c->delivered() == 1; }))
      << "b " << b->delivered() << " c " << c->delivered();
  EXPECT_EQ(a->Refused("network_secret"), 0u);

  EXPECT_TRUE(c->StopAndJoin().ok());
  EXPECT_TRUE(b->StopAndJoin().ok());
  EXPECT_TRUE(a->StopAndJoin().ok());
}

// Many packets at once: the core's per-link window fills, and only the transport's Written
// reports reopen it, so every packet arriving shows the reports flow.
TEST(DaemonTest, ABurstOfBroadcastsIsDeliveredEverywhere) {
  auto a = Running::Start(TestConfig("a"));
  ASSERT_NE(a, nullptr);
  NodeConfig b_config = TestConfig("b");
  b_config.bootstrap = {a->daemon().listen_address()};
  auto b = Running::Start(b_config);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(WaitFor([&] { return a->peer_up() >= 1 && b->peer_up() >= 1; }));
  constexpr int kPackets = 300;
  const int published = a->OnLoop([&] {
    int ok = 0;
    for (int i = 0; i < kPackets; ++i) {
      PublishRequest request;
      request.information_type = "burst";
      request.payload = R"({"i":)" + std::to_string(i) + "}";
      ok += a->daemon().host().Publish(std::move(request)).ok() ? 1 : 0;
    }
    return ok;
  });
  ASSERT_EQ(published, kPackets);
  ASSERT_TRUE(WaitFor([&] { return b->delivered() == kPackets; })) << b->delivered();
  const uint64_t written_reports_needed =
      a->OnLoop([&] { return a->daemon().transport().counters().frames_out; });
  EXPECT_GE(written_reports_needed, static_cast<uint64_t>(kPackets));
}

TEST(DaemonTest, WrongSecretIsRefusedOnBothSidesWithoutPeerUp) {
  NodeConfig a_config = TestConfig("a");
  a_config.network_secret = kSecret;
  auto a = Running::Start(a_config);
  ASSERT_NE(a, nullptr);
  NodeConfig b_config = TestConfig("b");
  b_config.network_secret = "not the fleet secret at all";
  b_config.bootstrap = {a->daemon().listen_address()};
  auto b = Running::Start(b_config);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(WaitFor(
      [&] { return a->Refused("network_secret") >= 1 && b->Refused("network_secret") >= 1; }));
  EXPECT_TRUE(a->Logged("network secret mismatch")) << a->LogText();
  EXPECT_TRUE(b->Logged("refused " + a->daemon().listen_address())) << b->LogText();
  EXPECT_EQ(a->peer_up(), 0);
  EXPECT_EQ(b->peer_up(), 0);
  EXPECT_EQ(a->Links() + b->Links(), 0u);
}

TEST(DaemonTest, AllowlistAdmitsFriendsAndRefusesAStranger) {
  NodeConfig b_config = TestConfig("b");
  Result<Identity> b_identity = LoadOrCreateIdentity((
      std::filesystem::create_directories(b_config.data_dir), b_config.data_dir + "/identity.key"));
  ASSERT_TRUE(b_identity.ok());
  NodeConfig a_config = TestConfig("a");
  a_config.allowed_nodes = {b_identity->id()};
  auto a = Running::Start(a_config);
  ASSERT_NE(a, nullptr);
  b_config.bootstrap = {a->daemon().listen_address()};
  auto b = Running::Start(b_config);
  NodeConfig c_config = TestConfig("stranger");
  c_config.bootstrap = {a->daemon().listen_address()};
  auto c = Running::Start(c_config);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(WaitFor([&] { return b->peer_up() >= 1 && a->Refused("allowlist") >= 1; }))
      << a->LogText();
  EXPECT_TRUE(a->Logged("not in allowed_nodes"));
  // a counts the refusal before the stranger has read the refuse frame: wait for its line.
  EXPECT_TRUE(WaitFor([&] { return c->Logged("refused by " + a->daemon().listen_address()); }))
      << c->LogText();
  EXPECT_EQ(c->peer_up(), 0);
}

TEST(DaemonTest, PeerWhoseHelloLiesAboutItsIdIsRefused) {
  auto a = Running::Start(TestConfig("a"));
  ASSERT_NE(a, nullptr);
  NodeConfig b_config = TestConfig("liar");
  b_config.bootstrap = {a->daemon().listen_address()};
  DaemonOptions liar;
  liar.test_hello_id.bytes.fill(0x42);
  auto b = Running::Start(b_config, liar);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(WaitFor([&] { return a->Refused("hello_id_mismatch") >= 1; })) << a->LogText();
  EXPECT_TRUE(a->Logged("its Hello claims id 42424242"));
  EXPECT_EQ(a->peer_up(), 0);
}

TEST(DaemonTest, StopSaysGoodbyeAndRunReturnsOk) {
  auto a = Running::Start(TestConfig("a"));
  ASSERT_NE(a, nullptr);
  NodeConfig b_config = TestConfig("b");
  b_config.bootstrap = {a->daemon().listen_address()};
  auto b = Running::Start(b_config);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(WaitFor([&] { return a->peer_up() >= 1 && b->peer_up() >= 1; }));
  EXPECT_TRUE(a->StopAndJoin().ok());
  ASSERT_TRUE(WaitFor([&] { return !b->peer_down().empty(); }));
  EXPECT_EQ(b->peer_down().front(), "shutdown");
  EXPECT_TRUE(a->Logged("leaving the network"));
}

TEST(DaemonTest, IdentityKeyIsPrivateAndReusedAndAWorldReadableOneIsRefused) {
  NodeConfig config = TestConfig("keys");
  NodeId first;
  {
    DaemonOptions options;
    options.config = config;
    options.log = [](const std::string&) {};
    Result<std::unique_ptr<Daemon>> d = Daemon::Create(options);
    ASSERT_TRUE(d.ok()) << d.error().message;
    first = (*d)->id();
    EXPECT_EQ((*d)->api_token().size(), 64u);
  }
  const std::string key = config.data_dir + "/identity.key";
  struct stat info {};
  ASSERT_EQ(::stat(key.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((config.data_dir + "/api.token").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  {
    DaemonOptions options;
    options.config = config;
    options.log = [](const std::string&) {};
    Result<std::unique_ptr<Daemon>> d = Daemon::Create(options);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ((*d)->id(), first);
  }
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  {
    DaemonOptions options;
    options.config = config;
    Result<std::unique_ptr<Daemon>> d = Daemon::Create(options);
    ASSERT_FALSE(d.ok());
    EXPECT_NE(d.error().message.find("identity.key has mode 0644"), std::string::npos)
        << d.error().message;
  }
  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
  {
    std::ofstream(key, std::ios::trunc) << "not hex\n";
    DaemonOptions options;
    options.config = config;
    Result<std::unique_ptr<Daemon>> d = Daemon::Create(options);
    ASSERT_FALSE(d.ok());
    EXPECT_NE(d.error().message.find("malformed"), std::string::npos) << d.error().message;
  }
}

TEST(DaemonTest, AllowedNodesConfigKeyIsValidated) {
  const std::string id(64, 'a');
  Result<NodeConfig> ok = ParseNodeConfig("allowed_nodes = [\"" + id + "\"]", "node.toml");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  ASSERT_EQ(ok->allowed_nodes.size(), 1u);
  EXPECT_EQ(ok->allowed_nodes[0].Hex(), id);
  Result<NodeConfig> again = ParseNodeConfig(FormatNodeConfig(*ok), "formatted");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->allowed_nodes, ok->allowed_nodes);

  Result<NodeConfig> short_id = ParseNodeConfig("allowed_nodes = [\"abcd\"]", "node.toml");
  ASSERT_FALSE(short_id.ok());
  EXPECT_NE(short_id.error().message.find("allowed_nodes[0]: expected a node id"),
            std::string::npos)
      << short_id.error().message;
  Result<NodeConfig> twice =
      ParseNodeConfig("allowed_nodes = [\"" + id + "\", \"" + id + "\"]", "node.toml");
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().message.find("duplicate"), std::string::npos);

  NodeConfig flags;
  flags.listen = "nonsense";
  Status s = ValidateNodeConfig(flags);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "listen: expected host:port, got 'nonsense'");
}

// ---- the command ----

struct CommandRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

CommandRun Myco(const std::string& args) {
  const std::string out = Scratch("out");
  const std::string err = Scratch("err");
  const std::string command =
      std::string("'") + MYCO_BINARY + "' " + args + " > '" + out + "' 2> '" + err + "'";
  const int status = std::system(command.c_str());
  CommandRun run;
  run.exit_code = (status != -1 && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  run.out = ReadAll(out);
  run.err = ReadAll(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
  return run;
}

TEST(NodeCommandTest, BadFlagValuesAreOneLineErrorsWithExitCode2) {
  const std::string dir = Scratch("cli");
  const std::vector<std::string> cases = {
      "node --listen abc --data-dir " + dir,
      "node --api 127.0.0.1:99999 --data-dir " + dir,
      "node --bootstrap nowhere --data-dir " + dir,
      "node --secret short --data-dir " + dir,
      "node --name 'has space' --data-dir " + dir,
      "node --config /nonexistent/node.toml",
      "node --test-drop 2 --data-dir " + dir,
      "node --test-delay-ms -5 --data-dir " + dir,
      "node --no-such-flag",
  };
  for (const std::string& args : cases) {
    SCOPED_TRACE(args);
    const CommandRun run = Myco(args);
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
    EXPECT_EQ(run.err.rfind("myco: error: ", 0), 0u) << run.err;
  }
  EXPECT_NE(Myco("node --listen abc --data-dir " + dir).err.find("--listen: expected host:port"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir));  // nothing was created for a bad command line
}

// Starts `myco node` as a process, reads its ready line, stops it with SIGTERM: exit code 0.
TEST(NodeCommandTest, PrintsReadyLineAndExitsZeroOnSigterm) {
  const std::string dir = Scratch("proc");
  const std::string out = Scratch("proc_out");
  const std::string err = Scratch("proc_err");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (std::freopen(out.c_str(), "w", stdout) == nullptr) ::_exit(126);
    if (std::freopen(err.c_str(), "w", stderr) == nullptr) ::_exit(126);
    ::execl(MYCO_BINARY, MYCO_BINARY, "node", "--name", "p1", "--listen", "127.0.0.1:0", "--api",
            "127.0.0.1:0", "--data-dir", dir.c_str(), "--secret", kSecret,
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::string text;
  const bool ready = WaitFor([&] {
    text = ReadAll(out);
    return text.find("myco: ready ") != std::string::npos;
  });
  ::kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(ready) << text << ReadAll(err);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << ReadAll(err);
  EXPECT_NE(text.find("myco: ready name=p1 id="), std::string::npos) << text;
  EXPECT_NE(text.find(" listen=127.0.0.1:"), std::string::npos) << text;
  EXPECT_EQ(text.find("listen=127.0.0.1:0 "), std::string::npos) << "the bound port, not 0";
  EXPECT_NE(ReadAll(err).find("SIGTERM: leaving the network"), std::string::npos);
  struct stat info {};
  ASSERT_EQ(::stat((dir + "/identity.key").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace myco
