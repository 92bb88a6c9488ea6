#include "io/launcher.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "myco/rng.hpp"

namespace myco {
namespace {

using SteadyClock = std::chrono::steady_clock;

Error Fail(ErrorCode code, std::string message) { return MakeError(code, std::move(message)); }

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Status WriteFileAtomically(const std::string& path, const std::string& text, mode_t mode) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Fail(ErrorCode::kUnavailable, Errno("cannot write " + tmp));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = Errno("cannot write " + tmp);
      ::close(fd);
      return Fail(ErrorCode::kUnavailable, why);
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return Fail(ErrorCode::kUnavailable, Errno("cannot rename " + tmp));
  }
  return Status::Ok();
}

Status MakeDirectory(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) {
    struct stat info {};
    if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) return Status::Ok();
    return Fail(ErrorCode::kUnavailable, "'" + path + "' exists and is not a directory");
  }
  return Fail(ErrorCode::kUnavailable, Errno("cannot create directory '" + path + "'"));
}

// True when nothing listens on 127.0.0.1:port. SO_REUSEADDR as the daemon's acceptor sets it, so
// ports in TIME_WAIT after a previous run count as free.
bool PortFree(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

std::string GenerateSecret() {
  if (sodium_init() < 0) return {};
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  char hex[2 * sizeof bytes + 1];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  return hex;
}

std::string Trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

}  // namespace

// ---- network.json ----

std::string FormatNetworkJson(const NetworkFile& network) {
  nlohmann::json nodes = nlohmann::json::array();
  for (const LaunchedNode& node : network.nodes) {
    nodes.push_back({{"name", node.name},
                     {"id", node.id},
                     {"listen", node.listen},
                     {"api", node.api},
                     {"data_dir", node.data_dir},
                     {"token_path", node.token_path},
                     {"log", node.log_path},
                     {"pid", node.pid}});
  }
  const nlohmann::json json = {{"version", 1},
                               {"dir", network.dir},
                               {"secret_path", network.secret_path},
                               {"launcher_pid", network.launcher_pid},
                               {"nodes", nodes}};
  return json.dump(2) + "\n";
}

Result<NetworkFile> ParseNetworkJson(std::string_view text) {
  try {
    const nlohmann::json json = nlohmann::json::parse(text);
    if (json.value("version", 0) != 1) {
      return Fail(ErrorCode::kParse, "network.json: unsupported version");
    }
    NetworkFile network;
    network.dir = json.at("dir").get<std::string>();
    network.secret_path = json.value("secret_path", "");
    network.launcher_pid = json.value("launcher_pid", 0);
    const auto& nodes = json.at("nodes");
    if (!nodes.is_array() || nodes.size() > static_cast<size_t>(kLaunchNodesMax)) {
      return Fail(ErrorCode::kParse, "network.json: nodes must be a list of at most 1000");
    }
    for (const auto& entry : nodes) {
      LaunchedNode node;
      node.name = entry.at("name").get<std::string>();
      node.id = entry.value("id", "");
      node.listen = entry.at("listen").get<std::string>();
      node.api = entry.at("api").get<std::string>();
      node.data_dir = entry.value("data_dir", "");
      node.token_path = entry.value("token_path", "");
      node.log_path = entry.value("log", "");
      node.pid = entry.value("pid", 0);
      network.nodes.push_back(std::move(node));
    }
    return network;
  } catch (const nlohmann::json::exception& e) {
    return Fail(ErrorCode::kParse, std::string("network.json: ") + e.what());
  }
}

Result<NetworkFile> LoadNetworkJson(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return Fail(ErrorCode::kNotFound, Errno("cannot read '" + path + "'"));
  }
  if (info.st_size > (1 << 22)) return Fail(ErrorCode::kTooLarge, "'" + path + "' is over 4 MiB");
  Result<NetworkFile> network = ParseNetworkJson(ReadWholeFile(path));
  if (!network.ok()) return Fail(network.error().code, path + ": " + network.error().message);
  return network;
}

std::optional<ReadyLine> ParseReadyLine(std::string_view line) {
  constexpr std::string_view kPrefix = "myco: ready ";
  const size_t at = line.find(kPrefix);
  if (at == std::string_view::npos) return std::nullopt;
  line.remove_prefix(at + kPrefix.size());
  ReadyLine ready;
  while (!line.empty()) {
    const size_t end = std::min(line.find(' '), line.size());
    const std::string_view field = line.substr(0, end);
    line.remove_prefix(std::min(end + 1, line.size()));
    const size_t eq = field.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = field.substr(0, eq);
    const std::string value = Trim(std::string(field.substr(eq + 1)));
    if (key == "name") ready.name = value;
    if (key == "id") ready.id = value;
    if (key == "listen") ready.listen = value;
    if (key == "api") ready.api = value;
  }
  if (ready.id.empty() || ready.api.empty()) return std::nullopt;
  return ready;
}

std::string LogTail(const std::string& path, int lines) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "(no log at " + path + ")";
  const off_t size = ::lseek(fd, 0, SEEK_END);
  const off_t from = std::max<off_t>(0, size - 4096);
  std::string text(static_cast<size_t>(size - from), '\0');
  const ssize_t n = ::pread(fd, text.data(), text.size(), from);
  ::close(fd);
  text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  text = Trim(text);
  size_t start = text.size();
  for (int i = 0; i < lines && start > 0; ++i) {
    const size_t nl = text.rfind('\n', start - 1);
    start = nl == std::string::npos ? 0 : nl + 1;
    if (nl == std::string::npos) break;
    if (i + 1 < lines) start = nl;
  }
  if (start < text.size() && text[start] == '\n') ++start;
  return text.empty() ? "(empty log " + path + ")" : text.substr(start);
}

std::vector<int> ChooseDistinct(const std::vector<int>& candidates, int count, uint64_t seed) {
  std::vector<int> pool = candidates;
  Rng rng(seed);
  const size_t take = std::min(pool.size(), static_cast<size_t>(std::max(count, 0)));
  for (size_t i = 0; i < take; ++i) {  // partial Fisher-Yates
    const size_t j = i + rng.Uniform(pool.size() - i);
    std::swap(pool[i], pool[j]);
  }
  pool.resize(take);
  return pool;
}

// ---- Launcher ----

struct Launcher::Pending {
  int index = 0;
  off_t offset = 0;     // how far node.log has been read
  std::string partial;  // an unfinished last line
  SteadyClock::time_point deadline;
};

Launcher::Launcher(LaunchOptions options) : options_(std::move(options)) {
  if (options_.binary.empty()) options_.binary = "/proc/self/exe";
  if (options_.seed == 0) {
    options_.seed = static_cast<uint64_t>(SteadyClock::now().time_since_epoch().count()) ^
                    static_cast<uint64_t>(::getpid());
  }
  while (options_.dir.size() > 1 && options_.dir.back() == '/') options_.dir.pop_back();
}

Launcher::~Launcher() {
  Stop();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Status Launcher::PrepareDirectory() {
  if (options_.nodes < 1 || options_.nodes > kLaunchNodesMax) {
    return Fail(ErrorCode::kInvalidArgument, "--nodes must be between 1 and " +
                                                 std::to_string(kLaunchNodesMax) + ", got " +
                                                 std::to_string(options_.nodes));
  }
  const int last_port = options_.base_port + 2 * options_.nodes - 1;
  if (options_.base_port == 0 || last_port > 65535) {
    return Fail(ErrorCode::kInvalidArgument,
                "--base-port " + std::to_string(options_.base_port) + " leaves no room for " +
                    std::to_string(options_.nodes) + " nodes (2 ports each, up to 65535)");
  }
  if (Status s = MakeDirectory(options_.dir, 0700); !s.ok()) return s;
  lock_fd_ = ::open((options_.dir + "/up.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) return Fail(ErrorCode::kUnavailable, Errno("cannot open " + options_.dir));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Fail(ErrorCode::kUnavailable,
                "another 'myco up' is running on '" + options_.dir + "' (stop it first)");
  }

  const std::string secret_path = options_.dir + "/secret";
  secret_path_ = secret_path;
  secret_ = options_.secret;
  if (secret_.empty()) secret_ = Trim(ReadWholeFile(secret_path));
  if (secret_.empty()) secret_ = GenerateSecret();
  if (secret_.empty()) return Fail(ErrorCode::kInternal, "cannot generate a network secret");
  if (Status s = WriteFileAtomically(secret_path, secret_ + "\n", 0600); !s.ok()) return s;
  // A network.json of an earlier run would name processes that are gone.
  ::unlink((options_.dir + "/network.json").c_str());

  nodes_.clear();
  for (int k = 1; k <= options_.nodes; ++k) {
    LaunchedNode node;
    node.name = "n" + std::to_string(k);
    const int port = options_.base_port + 2 * (k - 1);
    node.listen = "127.0.0.1:" + std::to_string(port);
    node.api = "127.0.0.1:" + std::to_string(port + 1);
    node.data_dir = options_.dir + "/" + node.name;
    node.token_path = node.data_dir + "/api.token";
    node.log_path = node.data_dir + "/node.log";
    if (Status s = MakeDirectory(node.data_dir, 0700); !s.ok()) return s;
    for (const int p : {port, port + 1}) {
      if (!PortFree(static_cast<uint16_t>(p))) {
        return Fail(ErrorCode::kUnavailable, "port " + std::to_string(p) + " (" + node.name +
                                                 ") is in use; choose another --base-port");
      }
    }
    nodes_.push_back(std::move(node));
  }
  return Status::Ok();
}

Result<pid_t> Launcher::Spawn(int index, const std::vector<int>& bootstrap, bool truncate_log) {
  LaunchedNode& node = nodes_.at(index);
  std::vector<std::string> args = {options_.binary, "node",        "--name",        node.name,
                                   "--listen",      node.listen,   "--api",         node.api,
                                   "--data-dir",    node.data_dir, "--secret-file", secret_path_};
  for (const int b : bootstrap) {
    args.push_back("--bootstrap");
    args.push_back(nodes_.at(b).listen);
  }
  for (const std::string& extra : options_.node_args) args.push_back(extra);
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (truncate_log ? O_TRUNC : O_APPEND);
  const int log_fd = ::open(node.log_path.c_str(), flags, 0600);
  if (log_fd < 0) return Fail(ErrorCode::kUnavailable, Errno("cannot open " + node.log_path));
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    return Fail(ErrorCode::kUnavailable, Errno("fork"));
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the launcher died before prctl
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (const int sig : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGHUP})
      ::sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(argv[0], argv.data());
    constexpr char kMessage[] = "myco up: exec of the myco binary failed\n";
    [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    ::_exit(127);
  }
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  node.pid = pid;
  return pid;
}

NodeExit Launcher::Describe(int index, pid_t pid, int status) const {
  NodeExit exit;
  exit.index = index;
  exit.name = nodes_.at(index).name;
  exit.pid = pid;
  if (WIFEXITED(status)) {
    exit.how = "exit " + std::to_string(WEXITSTATUS(status));
    exit.clean = WEXITSTATUS(status) == 0;
  } else if (WIFSIGNALED(status)) {
    exit.how = "killed by signal " + std::to_string(WTERMSIG(status));
  } else {
    exit.how = "status " + std::to_string(status);
  }
  return exit;
}

std::vector<int> Launcher::RunningIndices() const {
  std::vector<int> running;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].pid > 0 && !nodes_[i].id.empty()) running.push_back(static_cast<int>(i));
  }
  return running;
}

// Reads new lines of each pending node's log until its ready line appears. With wait_all it
// returns when every pending node is ready; otherwise as soon as at least one became ready.
Status Launcher::WaitReady(std::vector<Pending>& pending, int& ready, int total,
                           const std::function<void(int, int)>& progress,
                           const std::function<bool()>& cancelled, bool wait_all) {
  while (!pending.empty()) {
    bool any = false;
    for (size_t i = 0; i < pending.size();) {
      Pending& p = pending[i];
      LaunchedNode& node = nodes_.at(p.index);
      bool done = false;
      const int fd = ::open(node.log_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        char buffer[4096];
        ssize_t n = 0;
        while (!done && (n = ::pread(fd, buffer, sizeof buffer, p.offset)) > 0) {
          p.offset += n;
          p.partial.append(buffer, static_cast<size_t>(n));
          size_t nl = 0;
          while ((nl = p.partial.find('\n')) != std::string::npos) {
            const std::string line = p.partial.substr(0, nl);
            p.partial.erase(0, nl + 1);
            if (const auto line_ready = ParseReadyLine(line)) {
              node.id = line_ready->id;
              done = true;
              break;
            }
          }
          if (p.partial.size() > 65536) p.partial.clear();  // no ready line is that long
        }
        ::close(fd);
      }
      if (!done) {
        int status = 0;
        if (::waitpid(node.pid, &status, WNOHANG) == node.pid) {
          const NodeExit exit = Describe(p.index, node.pid, status);
          node.pid = 0;
          return Fail(ErrorCode::kUnavailable, node.name + " exited before it was ready (" +
                                                   exit.how + "); last lines of " + node.log_path +
                                                   ":\n" + LogTail(node.log_path, 8));
        }
        if (SteadyClock::now() > p.deadline) {
          return Fail(ErrorCode::kUnavailable,
                      node.name + " printed no ready line within " +
                          std::to_string(options_.ready_timeout.ns / 1'000'000'000) +
                          " s; last lines of " + node.log_path + ":\n" + LogTail(node.log_path, 8));
        }
        ++i;
        continue;
      }
      ++ready;
      any = true;
      if (progress) progress(ready, total);
      pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
    }
    if (cancelled && cancelled()) return Fail(ErrorCode::kUnavailable, "interrupted");
    if (any && !wait_all) return Status::Ok();
    if (!pending.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Status::Ok();
}

Status Launcher::Start(const std::function<void(int, int)>& progress,
                       const std::function<bool()>& cancelled) {
  if (Status s = PrepareDirectory(); !s.ok()) return s;
  const int total = static_cast<int>(nodes_.size());
  const auto timeout = std::chrono::nanoseconds(options_.ready_timeout.ns);
  int ready = 0;
  std::vector<Pending> pending;
  int next = 0;
  while (next < total || !pending.empty()) {
    // Node 1 alone first: everyone else needs a running node to join through.
    const size_t batch = next == 0 ? 1 : static_cast<size_t>(std::max(options_.spawn_batch, 1));
    while (next < total && pending.size() < batch && (next == 0 || ready > 0)) {
      const std::vector<int> bootstrap =
          ChooseDistinct(RunningIndices(), options_.bootstrap_peers, options_.seed + ++choices_);
      Result<pid_t> pid = Spawn(next, bootstrap, /*truncate_log=*/true);
      if (!pid.ok()) return pid.error();
      Pending p;
      p.index = next;
      p.deadline = SteadyClock::now() + timeout;
      pending.push_back(std::move(p));
      ++next;
    }
    if (Status s = WaitReady(pending, ready, total, progress, cancelled, /*wait_all=*/false);
        !s.ok()) {
      return s;
    }
  }
  return Status::Ok();
}

std::vector<NodeExit> Launcher::Reap() {
  std::vector<NodeExit> exits;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    LaunchedNode& node = nodes_[i];
    int status = 0;
    if (node.pid > 0 && ::waitpid(node.pid, &status, WNOHANG) == node.pid) {
      exits.push_back(Describe(static_cast<int>(i), node.pid, status));
      node.pid = 0;
    }
  }
  return exits;
}

std::vector<NodeExit> Launcher::Stop(Duration grace) {
  std::vector<NodeExit> exits;
  for (const LaunchedNode& node : nodes_) {
    if (node.pid > 0) ::kill(node.pid, SIGTERM);
  }
  const auto deadline = SteadyClock::now() + std::chrono::nanoseconds(grace.ns);
  while (true) {
    for (NodeExit& exit : Reap()) exits.push_back(std::move(exit));
    const bool any_left =
        std::any_of(nodes_.begin(), nodes_.end(), [](const LaunchedNode& n) { return n.pid > 0; });
    if (!any_left) break;
    if (SteadyClock::now() > deadline) {
      for (size_t i = 0; i < nodes_.size(); ++i) {
        LaunchedNode& node = nodes_[i];
        if (node.pid <= 0) continue;
        ::kill(node.pid, SIGKILL);
        int status = 0;
        ::waitpid(node.pid, &status, 0);
        NodeExit exit = Describe(static_cast<int>(i), node.pid, status);
        exit.how = "did not stop within the grace period, killed";
        exits.push_back(std::move(exit));
        node.pid = 0;
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exits;
}

Status Launcher::Kill(int index, int signal) {
  if (index < 0 || index >= static_cast<int>(nodes_.size()) || nodes_[index].pid <= 0) {
    return Fail(ErrorCode::kInvalidArgument, "no running node " + std::to_string(index + 1));
  }
  LaunchedNode& node = nodes_[index];
  if (::kill(node.pid, signal) != 0) return Fail(ErrorCode::kUnavailable, Errno("kill"));
  if (signal == SIGKILL) {
    int status = 0;
    ::waitpid(node.pid, &status, 0);
    node.pid = 0;
  }
  return Status::Ok();
}

Status Launcher::Restart(int index) {
  if (index < 0 || index >= static_cast<int>(nodes_.size()) || nodes_[index].pid > 0) {
    return Fail(ErrorCode::kInvalidArgument, "node " + std::to_string(index + 1) + " is running");
  }
  // The log is appended to: the new ready line comes after what the earlier run wrote.
  Pending p;
  p.index = index;
  struct stat info {};
  if (::stat(nodes_[index].log_path.c_str(), &info) == 0) p.offset = info.st_size;
  const std::vector<int> bootstrap =
      ChooseDistinct(RunningIndices(), options_.bootstrap_peers, options_.seed + ++choices_);
  Result<pid_t> pid = Spawn(index, bootstrap, /*truncate_log=*/false);
  if (!pid.ok()) return pid.error();
  p.deadline = SteadyClock::now() + std::chrono::nanoseconds(options_.ready_timeout.ns);
  std::vector<Pending> pending = {std::move(p)};
  int ready = 0;
  const std::string old_id = nodes_[index].id;
  nodes_[index].id.clear();
  Status s = WaitReady(pending, ready, 1, {}, {}, /*wait_all=*/true);
  if (!s.ok()) nodes_[index].id = old_id;
  return s;
}

Status Launcher::WriteNetworkFile() const {
  NetworkFile network;
  network.dir = options_.dir;
  network.secret_path = options_.dir + "/secret";
  network.launcher_pid = ::getpid();
  network.nodes = nodes_;
  return WriteFileAtomically(options_.dir + "/network.json", FormatNetworkJson(network), 0600);
}

}  // namespace myco
