#include "io/daemon.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <optional>
#include <utility>

#include "core/propagation/propagation.hpp"

// The HTTP API is written alongside; until its header exists the daemon runs without it.
#if __has_include("io/api/server.hpp")
#include "io/api/server.hpp"
#define MYCO_DAEMON_HAS_API 1
#else
#define MYCO_DAEMON_HAS_API 0
#endif

namespace myco {

namespace asio = boost::asio;

namespace {

constexpr size_t kKeyFileBytesMax = 4096;
// glibc returns free memory at the top of the heap on its own, but not the free pages in the
// middle that a burst of connections leaves behind; malloc_trim does, in well under a
// millisecond for a node's few-MB heap.
constexpr std::chrono::seconds kTrimInterval(10);

std::string ErrnoText() { return std::strerror(errno); }

std::string ToHex(const uint8_t* data, size_t size) {
  std::string hex(size * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), data, size);
  hex.pop_back();
  return hex;
}

// Creates `path` with `content`, mode 0600, atomically: written to a temporary file, then linked
// into place, so a crash never leaves a half-written key and an existing file is never replaced.
Status CreatePrivateFile(const std::string& path, const std::string& content) {
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return MakeError(ErrorCode::kUnavailable, "cannot create " + temp + ": " + ErrnoText());
  }
  size_t done = 0;
  bool ok = ::fchmod(fd, 0600) == 0;
  while (ok && done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const std::string why = ok ? std::string() : ErrnoText();
  ::close(fd);
  if (!ok) {
    ::unlink(temp.c_str());
    return MakeError(ErrorCode::kUnavailable, "cannot write " + temp + ": " + why);
  }
  const int linked = ::link(temp.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(temp.c_str());
  if (linked != 0) {
    return MakeError(link_errno == EEXIST ? ErrorCode::kInternal : ErrorCode::kUnavailable,
                     "cannot create " + path + ": " + std::strerror(link_errno));
  }
  return Status::Ok();
}

// The 32 bytes of a file holding 64 hex characters and an optional newline.
Result<std::array<uint8_t, 32>> ParseHexFile(const std::string& path, std::string text) {
  if (!text.empty() && text.back() == '\n') text.pop_back();
  std::array<uint8_t, 32> bytes{};
  size_t length = 0;
  if (text.size() != 64 ||
      sodium_hex2bin(bytes.data(), bytes.size(), text.data(), text.size(), nullptr, &length,
                     nullptr) != 0 ||
      length != bytes.size()) {
    sodium_memzero(text.data(), text.size());
    return MakeError(ErrorCode::kParse,
                     path + " is malformed: expected 64 hex characters and a newline");
  }
  sodium_memzero(text.data(), text.size());
  return bytes;
}

// Loads the 32 secret bytes of `path`, creating them at random when the file does not exist.
Result<std::array<uint8_t, 32>> LoadOrCreateSecretBytes(const std::string& path) {
  if (Status s = InitCrypto(); !s.ok()) return s.error();
  for (int attempt = 0; attempt < 2; ++attempt) {
    Result<std::string> text = ReadPrivateFile(path);
    if (text.ok()) return ParseHexFile(path, std::move(text).value());
    if (text.error().code != ErrorCode::kNotFound) return text.error();
    std::array<uint8_t, 32> bytes{};
    randombytes_buf(bytes.data(), bytes.size());
    std::string hex = ToHex(bytes.data(), bytes.size()) + "\n";
    Status created = CreatePrivateFile(path, hex);
    sodium_memzero(hex.data(), hex.size());
    if (created.ok()) return bytes;
    // Another process created it first (EEXIST): read theirs.
    if (created.error().code != ErrorCode::kInternal) return created.error();
  }
  return MakeError(ErrorCode::kUnavailable, "cannot create " + path);
}

std::string Timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(ms));
  return buffer;
}

}  // namespace

Result<std::string> ReadPrivateFile(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return MakeError(ErrorCode::kNotFound, path + " does not exist");
    return MakeError(ErrorCode::kUnavailable, "cannot read " + path + ": " + ErrnoText());
  }
  if (!S_ISREG(info.st_mode)) {
    return MakeError(ErrorCode::kInvalidArgument, path + " is not a regular file");
  }
  if ((info.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    return MakeError(ErrorCode::kInvalidArgument,
                     path + " has mode " + mode +
                         ": a secret must be readable by its owner only (chmod 600 " + path + ")");
  }
  if (info.st_size > static_cast<off_t>(kKeyFileBytesMax)) {
    return MakeError(ErrorCode::kInvalidArgument, path + " is too large to be a key file");
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return MakeError(ErrorCode::kUnavailable, "cannot read " + path + ": " + ErrnoText());
  std::string text(kKeyFileBytesMax + 1, '\0');
  size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  text.resize(got);
  return text;
}

Result<Identity> LoadOrCreateIdentity(const std::string& path) {
  Result<std::array<uint8_t, 32>> seed = LoadOrCreateSecretBytes(path);
  if (!seed.ok()) return seed.error();
  Result<Identity> identity = Identity::FromSeed(*seed);
  sodium_memzero(seed->data(), seed->size());
  return identity;
}

Result<std::string> LoadOrCreateToken(const std::string& path) {
  Result<std::array<uint8_t, 32>> bytes = LoadOrCreateSecretBytes(path);
  if (!bytes.ok()) return bytes.error();
  return ToHex(bytes->data(), bytes->size());
}

struct Daemon::Impl {
  explicit Impl(asio::io_context& io) : tick_timer(io), stop_timer(io), trim_timer(io) {}
  asio::steady_timer tick_timer;
  asio::steady_timer stop_timer;
  asio::steady_timer trim_timer;
  std::optional<asio::signal_set> signals;
#if MYCO_DAEMON_HAS_API
  std::unique_ptr<ApiServer> api;
#endif
};

Daemon::Daemon(DaemonOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(io_)) {}

Daemon::~Daemon() {
  // Sockets and timers go before the loop; no handler runs after this (the loop is not run
  // again), and NodeHost never calls a detached driver.
  if (host_) {
    host_->SetLinkDriver(nullptr);
    host_->SetAfterEffects(nullptr);
  }
#if MYCO_DAEMON_HAS_API
  if (impl_->api) impl_->api->Stop();
  impl_->api.reset();
#endif
  if (transport_) transport_->Abort();
  transport_.reset();
}

Result<std::unique_ptr<Daemon>> Daemon::Create(DaemonOptions options) {
  std::unique_ptr<Daemon> daemon(new Daemon(std::move(options)));
  try {
    if (Status s = daemon->Init(); !s.ok()) return s.error();
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInternal, std::string("cannot start: ") + e.what());
  }
  return daemon;
}

Status Daemon::Init() {
  NodeConfig& config = options_.config;
  if (Status s = ValidateNodeConfig(config); !s.ok()) return s;

  std::error_code fs_error;
  std::filesystem::create_directories(config.data_dir, fs_error);
  if (fs_error) {
    return MakeError(ErrorCode::kUnavailable,
                     "cannot create data_dir '" + config.data_dir + "': " + fs_error.message());
  }
  Result<Identity> identity = LoadOrCreateIdentity(config.data_dir + "/identity.key");
  if (!identity.ok()) return identity.error();
  identity_ = std::make_shared<const Identity>(std::move(identity).value());
  Result<std::string> token = LoadOrCreateToken(config.data_dir + "/api.token");
  if (!token.ok()) return token.error();
  api_token_ = std::move(token).value();

  TransportOptions transport;
  transport.listen = config.listen;
  transport.network_secret = config.network_secret;
  transport.allowed_nodes = config.allowed_nodes;
  transport.handshake_timeout = options_.handshake_timeout.ns > 0
                                    ? options_.handshake_timeout
                                    : config.topology.handshake_timeout;
  transport.connections_max = config.max_connections * 2 + 64;
  transport.handshakes_max = 64;
  transport.frame_bytes_max = options_.frame_bytes_max;
  transport.log = [this](const std::string& line) { Log(line); };
  transport.faults = options_.faults;
  transport.test_hello_id = options_.test_hello_id;
  transport_ = std::make_unique<Transport>(io_, identity_, std::move(transport), [this](Input in) {
    if (host_ && !finished_) host_->Feed(std::move(in));
  });
  Result<std::string> bound = transport_->Start();
  if (!bound.ok()) return bound.error();
  listen_address_ = *bound;

  NodeInfo info;
  info.id = identity_->id();
  info.name = config.node_id;
  info.node_type = config.node_type;
  info.location = config.location;
  info.cpu_capacity = config.cpu_capacity;
  info.memory_capacity = config.memory_capacity;
  info.knowledge_capacity = config.knowledge_capacity;
  info.max_connections = config.max_connections;
  info.specializations = config.specializations;
  info.interests = config.interests;
  info.listen_addresses = {listen_address_};
  NodeOptions node_options;
  node_options.topology = config.topology;
  uint64_t seed = 0;
  randombytes_buf(&seed, sizeof seed);
  host_ = std::make_unique<NodeHost>(Node(identity_, std::move(info), node_options, Rng(seed)),
                                     SystemClock);
  host_->SetLinkDriver(transport_.get());
  host_->SetAfterEffects([this] { ArmTick(); });
  host_->Subscribe([this](TimePoint, const AppEvent& event) {
    if (const auto* up = std::get_if<PeerUp>(&event)) {
      Log("peer up " + up->peer.Short());
    } else if (const auto* down = std::get_if<PeerDown>(&event)) {
      Log("peer down " + down->peer.Short() + ": " + down->why);
    }
  });

#if MYCO_DAEMON_HAS_API
  ApiOptions api;
  api.listen = config.api;
  api.token = api_token_;
  api.extra_metrics = [this](std::string& out) {
    if (transport_) transport_->AppendMetrics(out);
  };
  impl_->api = std::make_unique<ApiServer>(io_, *host_, std::move(api));
  Result<std::string> api_bound = impl_->api->Start();
  if (!api_bound.ok()) return api_bound.error();
  api_address_ = *api_bound;
#else
  // TODO(io/api): the HTTP API is not in the tree yet; the daemon runs without one.
  api_address_ = "none";
#endif

  if (config.network_secret.empty() && config.allowed_nodes.empty()) {
    Log("warning: no network_secret and no allowed_nodes: any node that reaches " +
        listen_address_ + " may join");
  }
  return Status::Ok();
}

void Daemon::Log(const std::string& line) {
  if (options_.log) {
    options_.log(line);
    return;
  }
  std::fprintf(stderr, "%s myco[%s]: %s\n", Timestamp().c_str(), options_.config.node_id.c_str(),
               line.c_str());
}

NodeHost& Daemon::host() { return *host_; }
Transport& Daemon::transport() { return *transport_; }
NodeId Daemon::id() const { return identity_->id(); }

Status Daemon::Run() {
  if (ran_) return MakeError(ErrorCode::kInternal, "Daemon::Run called twice");
  ran_ = true;
  if (options_.handle_signals) {
    impl_->signals.emplace(io_, SIGINT, SIGTERM);
    WaitSignal();
  }
  if (options_.trim_heap) ArmTrim();
  asio::post(io_, [this] {
    if (stopping_) return;
    host_->Tick();  // lets the core arm its timers
    if (!options_.config.bootstrap.empty()) host_->Connect(options_.config.bootstrap);
  });
  try {
    io_.run();
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInternal, std::string("event loop: ") + e.what());
  }
  FinishStop();
  return Status::Ok();
}

void Daemon::ArmTrim() {
  impl_->trim_timer.expires_after(kTrimInterval);
  impl_->trim_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    ::malloc_trim(0);
    ArmTrim();
  });
}

void Daemon::WaitSignal() {
  impl_->signals->async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    if (stopping_) {
      Log("second signal: stopping now");
      FinishStop();
      return;
    }
    BeginStop(signal == SIGINT ? "SIGINT" : "SIGTERM");
    WaitSignal();
  });
}

void Daemon::Stop() {
  asio::post(io_, [this] { BeginStop("stop requested"); });
}

void Daemon::BeginStop(const std::string& why) {
  if (stopping_) return;
  stopping_ = true;
  Log(why + ": leaving the network (" + std::to_string(transport_->link_count()) + " links)");
  impl_->tick_timer.cancel();
  impl_->trim_timer.cancel();
  // Goodbyes first (the core sends Disconnect kShutdown and closes every link), then the
  // transport flushes them; the stop timer bounds the wait for peers that do not read.
  host_->Leave();
  impl_->stop_timer.expires_after(std::chrono::nanoseconds(options_.stop_timeout.ns));
  impl_->stop_timer.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) FinishStop();
  });
#if MYCO_DAEMON_HAS_API
  if (impl_->api) impl_->api->Stop();
#endif
  transport_->Shutdown([this] { FinishStop(); });
}

void Daemon::FinishStop() {
  if (finished_) return;
  finished_ = true;
  stopping_ = true;
  impl_->tick_timer.cancel();
  impl_->stop_timer.cancel();
  impl_->trim_timer.cancel();
  if (impl_->signals) {
    boost::system::error_code ignored;
    impl_->signals->cancel(ignored);
  }
#if MYCO_DAEMON_HAS_API
  if (impl_->api) impl_->api->Stop();
#endif
  transport_->Abort();
  io_.stop();
}

void Daemon::ArmTick() {
  if (stopping_ || !host_) return;
  const TimePoint deadline = host_->NextDeadline();
  if (deadline == TimePoint::Max()) return;
  // An earlier wake-up is already armed: it re-arms from the then-current deadline.
  if (tick_armed_ && tick_deadline_ <= deadline) return;
  tick_armed_ = true;
  tick_deadline_ = deadline;
  const Duration wait = deadline - host_->Now();
  impl_->tick_timer.expires_after(std::chrono::nanoseconds(std::max<int64_t>(0, wait.ns)));
  impl_->tick_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    tick_armed_ = false;
    host_->Tick();  // its effects end with ArmTick (SetAfterEffects)
  });
}

}  // namespace myco
