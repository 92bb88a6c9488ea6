// `myco bench net latency|throughput`: measurements on a real local network of daemons (started
// with the launcher, or attached to one that `myco up` runs), through the nodes' HTTP APIs only:
// POST /v1/messages to publish, one GET /v1/events stream per node to see every delivery.
//
// Latency of one delivery = the receiver's at_ns (its clock when the core delivered) minus the
// publisher's published_at_ns (its clock when it accepted the POST). All nodes run on this machine
// and read the same system clock, so the difference is meaningful to the microsecond.
//
// These are measurement tools, not tests: they report, they never fail on a slow figure. They
// fail (exit 1) only when the network cannot be started or reached.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cli/cli.hpp"
#include "io/config.hpp"
#include "io/launcher.hpp"
#include "myco/rng.hpp"

namespace myco::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

int64_t UnixNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ReadToken(const std::string& path) {
  std::ifstream in(path);
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  return token;
}

Result<tcp::endpoint> Endpoint(const std::string& address) {
  Result<HostPort> hp = ParseHostPort(address, /*allow_port_zero=*/false);
  if (!hp.ok()) return hp.error();
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(hp.value().host, ec);
  if (ec) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "API address '" + address + "' is not a numeric IP address");
  }
  return tcp::endpoint(ip, hp.value().port);
}

// ---- what the streams and the publishers record ----

struct Delivery {
  int node = 0;
  int64_t at_ns = 0;
};

struct Published {
  int node = 0;
  int64_t at_ns = 0;
};

struct Records {
  std::unordered_map<std::string, std::vector<Delivery>> deliveries;  // by packet id
  std::unordered_map<std::string, Published> published;
  uint64_t events = 0;
  uint64_t overflows = 0;
  int64_t last_event_ns = 0;
  uint64_t publish_errors = 0;
  std::string first_publish_error;
  // Throughput only: ids delivered at `receivers` nodes other than `publisher`, counted as the
  // events arrive, so the publisher can keep a bounded window of unfinished messages.
  int publisher = -1;
  size_t receivers = 0;
  std::unordered_map<std::string, size_t> counts;
  uint64_t complete = 0;
};

// ---- one GET /v1/events stream ----

class EventStream : public std::enable_shared_from_this<EventStream> {
 public:
  EventStream(asio::io_context& io, tcp::endpoint endpoint, std::string token, int node,
              Records& records)
      : socket_(io),
        endpoint_(endpoint),
        token_(std::move(token)),
        node_(node),
        records_(records) {}

  void Start() {
    socket_.async_connect(endpoint_, [self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return self->Fail("connect: " + ec.message());
      self->request_ = "GET /v1/events HTTP/1.1\r\nHost: myco\r\nAccept: text/event-stream\r\n";
      if (!self->token_.empty()) self->request_ += "Authorization: Bearer " + self->token_ + "\r\n";
      self->request_ += "\r\n";
      asio::async_write(self->socket_, asio::buffer(self->request_),
                        [self](boost::system::error_code ec2, size_t) {
                          if (ec2) return self->Fail("write: " + ec2.message());
                          self->Read();
                        });
    });
  }

  void Close() {
    boost::system::error_code ignored;
    closed_ = true;
    socket_.close(ignored);
  }

  bool ready() const { return ready_; }
  const std::string& error() const { return error_; }

 private:
  void Fail(std::string why) {
    if (!closed_ && error_.empty()) error_ = std::move(why);
  }

  void Read() {
    socket_.async_read_some(asio::buffer(chunk_),
                            [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                              if (ec) return self->Fail("stream ended: " + ec.message());
                              self->buffer_.append(self->chunk_.data(), n);
                              self->Parse();
                              if (self->error_.empty()) self->Read();
                            });
  }

  void Parse() {
    if (!header_done_) {
      const size_t end = buffer_.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (buffer_.size() > 16384) Fail("response header too long");
        return;
      }
      const std::string status_line = buffer_.substr(0, buffer_.find("\r\n"));
      if (status_line.find(" 200 ") == std::string::npos) {
        return Fail("GET /v1/events answered '" + status_line + "'");
      }
      buffer_.erase(0, end + 4);
      header_done_ = true;
      ready_ = true;
    }
    size_t start = 0;
    while (true) {
      const size_t end = buffer_.find("\n\n", start);
      if (end == std::string::npos) break;
      HandleFrame(std::string_view(buffer_).substr(start, end - start));
      start = end + 2;
    }
    buffer_.erase(0, start);
  }

  void HandleFrame(std::string_view frame) {
    // Comments (":keepalive") and other fields are skipped; only "data:" lines carry events.
    while (!frame.empty()) {
      const size_t nl = std::min(frame.find('\n'), frame.size());
      std::string_view line = frame.substr(0, nl);
      frame.remove_prefix(std::min(nl + 1, frame.size()));
      if (line.rfind("data:", 0) != 0) continue;
      line.remove_prefix(5);
      if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      ++records_.events;
      if (line.find("\"kind\":\"overflow\"") != std::string_view::npos) {
        ++records_.overflows;
        continue;
      }
      if (line.find("\"kind\":\"delivery\"") == std::string_view::npos) continue;
      // The server writes compact JSON with sorted keys, so "at_ns" and "id" come before the
      // payload: a scan for them costs far less than parsing every event (tens of thousands a
      // second in the throughput run, on the same two cores as the nodes).
      const std::optional<int64_t> at_ns = IntField(line, "at_ns");
      const std::optional<std::string_view> id = StringField(line, "id");
      if (!at_ns || !id) continue;
      records_.last_event_ns = UnixNowNs();
      std::vector<Delivery>& copies = records_.deliveries[std::string(*id)];
      copies.push_back({node_, *at_ns});
      if (node_ != records_.publisher && records_.receivers > 0 &&
          ++records_.counts[std::string(*id)] == records_.receivers) {
        ++records_.complete;
      }
    }
  }

  static std::optional<int64_t> IntField(std::string_view line, std::string_view key) {
    const std::string needle = "\"" + std::string(key) + "\":";
    const size_t at = line.find(needle);
    if (at == std::string_view::npos) return std::nullopt;
    int64_t value = 0;
    const char* begin = line.data() + at + needle.size();
    const auto [end, ec] = std::from_chars(begin, line.data() + line.size(), value);
    if (ec != std::errc() || end == begin) return std::nullopt;
    return value;
  }

  static std::optional<std::string_view> StringField(std::string_view line, std::string_view key) {
    const std::string needle = "\"" + std::string(key) + "\":\"";
    const size_t at = line.find(needle);
    if (at == std::string_view::npos) return std::nullopt;
    const size_t begin = at + needle.size();
    const size_t end = line.find('"', begin);
    if (end == std::string_view::npos) return std::nullopt;
    return line.substr(begin, end - begin);
  }

  tcp::socket socket_;
  tcp::endpoint endpoint_;
  std::string token_;
  int node_;
  Records& records_;
  std::string request_;
  std::array<char, 65536> chunk_{};
  std::string buffer_;
  bool header_done_ = false;
  bool ready_ = false;
  bool closed_ = false;
  std::string error_;
};

// ---- one keep-alive connection for POSTs, one request in flight ----

class ApiConnection : public std::enable_shared_from_this<ApiConnection> {
 public:
  using Done = std::function<void(Result<json>)>;

  ApiConnection(asio::io_context& io, tcp::endpoint endpoint, std::string token)
      : socket_(io), endpoint_(endpoint), token_(std::move(token)) {}

  void Post(std::string target, std::string body, Done done) {
    queue_.push_back({std::move(target), std::move(body), std::move(done), 0});
    if (!busy_) Next();
  }
  size_t queued() const { return queue_.size() + (busy_ ? 1 : 0); }
  void Close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  struct Job {
    std::string target, body;
    Done done;
    int attempts = 0;
  };

  void Next() {
    if (queue_.empty()) {
      busy_ = false;
      return;
    }
    busy_ = true;
    if (!socket_.is_open()) {
      socket_.async_connect(endpoint_, [self = shared_from_this()](boost::system::error_code ec) {
        if (ec) return self->Finish(MakeError(ErrorCode::kUnavailable, "connect: " + ec.message()));
        self->Send();
      });
      return;
    }
    Send();
  }

  void Send() {
    const Job& job = queue_.front();
    request_ = {};
    request_.method(http::verb::post);
    request_.target(job.target);
    request_.version(11);
    request_.set(http::field::host, "myco");
    request_.set(http::field::content_type, "application/json");
    request_.set(http::field::authorization, "Bearer " + token_);
    request_.keep_alive(true);
    request_.body() = job.body;
    request_.prepare_payload();
    http::async_write(socket_, request_,
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        if (ec) return self->Retry("write: " + ec.message());
                        self->response_ = {};
                        http::async_read(self->socket_, self->buffer_, self->response_,
                                         [self](boost::system::error_code ec2, size_t) {
                                           if (ec2) return self->Retry("read: " + ec2.message());
                                           self->OnResponse();
                                         });
                      });
  }

  // A keep-alive connection the server closed (idle timeout) fails on first use: one retry on a
  // fresh connection.
  void Retry(const std::string& why) {
    Close();
    buffer_.clear();
    if (++queue_.front().attempts <= 1) return Next();
    Finish(MakeError(ErrorCode::kUnavailable, why));
  }

  void OnResponse() {
    const unsigned status = response_.result_int();
    const json body = json::parse(response_.body(), nullptr, /*allow_exceptions=*/false);
    if (!response_.keep_alive()) Close();
    if (status / 100 != 2) {
      std::string message = body.is_object() ? body.value("error", "") : "";
      if (message.empty()) message = response_.body().substr(0, 200);
      return Finish(
          MakeError(ErrorCode::kUnavailable, "HTTP " + std::to_string(status) + ": " + message));
    }
    Finish(body);
  }

  void Finish(Result<json> result) {
    Job job = std::move(queue_.front());
    queue_.pop_front();
    job.done(std::move(result));
    Next();
  }

  tcp::socket socket_;
  tcp::endpoint endpoint_;
  std::string token_;
  std::deque<Job> queue_;
  bool busy_ = false;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

// ---- the network under test ----

struct BenchFlags {
  std::string nodes = "10";
  std::string attach;
  std::string dir;
  std::string base_port = "7600";
  std::string settle = "3";
  std::string size = "256";
  std::string seed = "1";
  std::string priority = "0.5";
  bool json = false;
  // latency
  std::string broadcasts = "200";
  std::string rate = "50";
  // throughput
  std::string seconds = "10";
  std::string concurrency = "8";
  std::string window = "1000";
};

struct NodeRef {
  std::string name;
  std::string api;
  std::string token;
  pid_t pid = 0;
};

struct Network {
  std::unique_ptr<Launcher> launcher;  // null when attached
  std::string temp_dir;                // removed at the end
  std::vector<NodeRef> nodes;
  ~Network() {
    if (launcher) launcher->Stop(Seconds(10));
    launcher.reset();
    std::error_code ignored;
    if (!temp_dir.empty()) std::filesystem::remove_all(temp_dir, ignored);
  }
};

Status OpenNetwork(const BenchFlags& flags, int nodes, Network& network) {
  if (!flags.attach.empty()) {
    Result<NetworkFile> file = LoadNetworkJson(flags.attach + "/network.json");
    if (!file.ok()) return file.error();
    for (const LaunchedNode& node : file.value().nodes) {
      network.nodes.push_back({node.name, node.api, ReadToken(node.token_path), node.pid});
    }
    if (network.nodes.size() < 2) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "the network in " + flags.attach + " has fewer than 2 nodes");
    }
    return Status::Ok();
  }
  Result<int64_t> base_port = ParseIntegerFlag("--base-port", flags.base_port, 1, 65535);
  if (!base_port.ok()) return base_port.error();
  LaunchOptions options;
  options.nodes = nodes;
  options.base_port = static_cast<uint16_t>(base_port.value());
  if (flags.dir.empty()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "myco-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return MakeError(ErrorCode::kUnavailable, "cannot create a temporary directory");
    }
    network.temp_dir = pattern;
    options.dir = pattern;
  } else {
    options.dir = flags.dir;
  }
  network.launcher = std::make_unique<Launcher>(options);
  if (!flags.json)
    std::fprintf(stderr, "bench: starting %d nodes in %s\n", nodes, options.dir.c_str());
  if (Status s = network.launcher->Start(); !s.ok()) return s;
  for (const LaunchedNode& node : network.launcher->nodes()) {
    network.nodes.push_back({node.name, node.api, ReadToken(node.token_path), node.pid});
  }
  return Status::Ok();
}

// utime + stime of a process in µs, from /proc/PID/stat (0 when it is gone).
uint64_t ProcessCpuUs(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(in, text);
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(text.substr(paren + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return (utime + stime) * 1'000'000 / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
}

uint64_t NetworkCpuUs(const Network& network) {
  uint64_t total = 0;
  for (const NodeRef& node : network.nodes) {
    if (node.pid > 0) total += ProcessCpuUs(node.pid);
  }
  return total;
}

uint64_t SelfCpuUs() {
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1'000'000 +
         static_cast<uint64_t>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

std::string Payload(size_t size, uint64_t seq) {
  std::string head = "{\"seq\":" + std::to_string(seq) + ",\"pad\":\"";
  const size_t overhead = head.size() + 2;
  head.append(size > overhead ? size - overhead : 0, 'x');
  return head + "\"}";
}

std::string PublishBody(const std::string& payload, double priority) {
  return "{\"type\":\"bench\",\"payload\":" + payload +
         ",\"priority\":" + std::to_string(priority) + "}";
}

// Runs the io_context in slices until `done` or the deadline.
void RunUntil(asio::io_context& io, const std::function<bool()>& done, SteadyClock::duration max) {
  const auto deadline = SteadyClock::now() + max;
  while (!done() && SteadyClock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(5));
    if (io.stopped()) {  // no pending work at all: do not spin
      io.restart();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

// Opens one event stream per node and waits until each has its 200 header.
Status OpenStreams(asio::io_context& io, const Network& network, Records& records,
                   std::vector<std::shared_ptr<EventStream>>& streams) {
  for (size_t i = 0; i < network.nodes.size(); ++i) {
    Result<tcp::endpoint> endpoint = Endpoint(network.nodes[i].api);
    if (!endpoint.ok()) return endpoint.error();
    auto stream = std::make_shared<EventStream>(io, endpoint.value(), network.nodes[i].token,
                                                static_cast<int>(i), records);
    stream->Start();
    streams.push_back(stream);
  }
  auto all_ready = [&] {
    return std::all_of(streams.begin(), streams.end(),
                       [](const auto& s) { return s->ready() || !s->error().empty(); });
  };
  RunUntil(io, all_ready, std::chrono::seconds(10));
  for (size_t i = 0; i < streams.size(); ++i) {
    if (!streams[i]->ready()) {
      const std::string why =
          streams[i]->error().empty() ? "no answer in 10 s" : streams[i]->error();
      return MakeError(ErrorCode::kUnavailable,
                       network.nodes[i].name + " (" + network.nodes[i].api + ") events: " + why);
    }
  }
  return Status::Ok();
}

// Waits until every published id reached `receivers` nodes, nothing new arrived for `quiet`, or
// `max` passed.
void Drain(asio::io_context& io, const Records& records, size_t receivers,
           std::chrono::milliseconds quiet, SteadyClock::duration max) {
  auto complete = [&] {
    for (const auto& [id, published] : records.published) {
      const auto it = records.deliveries.find(id);
      if (it == records.deliveries.end() || it->second.size() < receivers) {
        return records.last_event_ns != 0 &&
               UnixNowNs() - std::max(records.last_event_ns, int64_t{0}) >
                   std::chrono::nanoseconds(quiet).count();
      }
    }
    return true;
  };
  RunUntil(io, complete, max);
}

double Percentile(std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return static_cast<double>(sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)]);
}

// Deliveries of published ids at nodes other than the publisher; the publisher's own delivery
// (if the daemon reports one) is not a network hop.
struct Tally {
  uint64_t copies = 0;
  uint64_t expected = 0;
  uint64_t complete = 0;
  std::vector<int64_t> latencies_ns;
  int64_t last_complete_ns = 0;
};

Tally Count(const Records& records, size_t nodes) {
  Tally tally;
  for (const auto& [id, published] : records.published) {
    tally.expected += nodes - 1;
    const auto it = records.deliveries.find(id);
    if (it == records.deliveries.end()) continue;
    std::vector<bool> seen(nodes);
    int64_t last = 0;
    size_t distinct = 0;
    for (const Delivery& d : it->second) {
      if (d.node == published.node || seen[static_cast<size_t>(d.node)]) continue;
      seen[static_cast<size_t>(d.node)] = true;
      ++distinct;
      tally.latencies_ns.push_back(d.at_ns - published.at_ns);
      last = std::max(last, d.at_ns);
    }
    tally.copies += distinct;
    if (distinct == nodes - 1) {
      ++tally.complete;
      tally.last_complete_ns = std::max(tally.last_complete_ns, last);
    }
  }
  std::sort(tally.latencies_ns.begin(), tally.latencies_ns.end());
  return tally;
}

void RecordPublish(Records& records, int node, const Result<json>& result) {
  if (!result.ok()) {
    if (records.publish_errors++ == 0) records.first_publish_error = result.error().message;
    return;
  }
  const json& body = result.value();
  if (!body.is_object() || !body.contains("ids") || !body["ids"].is_array()) {
    if (records.publish_errors++ == 0) records.first_publish_error = "no ids in the response";
    return;
  }
  const int64_t at = body.value("published_at_ns", int64_t{0});
  for (const auto& id : body["ids"]) {
    if (id.is_string()) records.published[id.get<std::string>()] = {node, at};
  }
}

struct Common {
  int nodes = 0;
  size_t size = 0;
  double priority = 0.5;
  uint64_t seed = 1;
  std::chrono::milliseconds settle{0};
};

Result<Common> ParseCommon(const BenchFlags& flags) {
  Common common;
  Result<int64_t> nodes = ParseIntegerFlag("--nodes", flags.nodes, 2, kLaunchNodesMax);
  if (!nodes.ok()) return nodes.error();
  Result<int64_t> size = ParseIntegerFlag("--size", flags.size, 16, 60000);
  if (!size.ok()) return size.error();
  Result<int64_t> seed = ParseIntegerFlag("--seed", flags.seed, 0, INT64_MAX);
  if (!seed.ok()) return seed.error();
  Result<double> settle = ParseNumberFlag("--settle", flags.settle);
  if (!settle.ok()) return settle.error();
  if (!(settle.value() >= 0 && settle.value() <= 600)) {
    return MakeError(ErrorCode::kInvalidArgument, "--settle must be between 0 and 600 seconds");
  }
  Result<double> priority = ParseNumberFlag("--priority", flags.priority);
  if (!priority.ok()) return priority.error();
  if (!(priority.value() >= 0 && priority.value() <= 1)) {
    return MakeError(ErrorCode::kInvalidArgument, "--priority must be between 0 and 1");
  }
  common.nodes = static_cast<int>(nodes.value());
  common.size = static_cast<size_t>(size.value());
  common.seed = static_cast<uint64_t>(seed.value());
  common.priority = priority.value();
  common.settle = std::chrono::milliseconds(static_cast<int64_t>(settle.value() * 1000));
  return common;
}

// Starts or attaches, opens the event streams and lets the overlay settle.
Status Prepare(const BenchFlags& flags, const Common& common, asio::io_context& io,
               Network& network, Records& records,
               std::vector<std::shared_ptr<EventStream>>& streams) {
  if (Status s = OpenNetwork(flags, common.nodes, network); !s.ok()) return s;
  if (Status s = OpenStreams(io, network, records, streams); !s.ok()) return s;
  if (flags.attach.empty()) {
    // Fresh nodes are still walking to their neighbours; a broadcast now would measure joins.
    RunUntil(
        io, [] { return false; }, common.settle);
  }
  records.deliveries.clear();
  return Status::Ok();
}

std::string Ms(double ns) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f ms", ns / 1e6);
  return text;
}

// ---- latency ----

int RunLatency(const BenchFlags& flags) {
  Result<Common> common = ParseCommon(flags);
  if (!common.ok()) return PrintError(kExitUsage, common.error().message);
  Result<int64_t> broadcasts = ParseIntegerFlag("--broadcasts", flags.broadcasts, 1, 1'000'000);
  if (!broadcasts.ok()) return PrintError(kExitUsage, broadcasts.error().message);
  Result<double> rate = ParseNumberFlag("--rate", flags.rate);
  if (!rate.ok()) return PrintError(kExitUsage, rate.error().message);
  if (!(rate.value() > 0 && rate.value() <= 100000)) {
    return PrintError(kExitUsage, "--rate must be above 0 and at most 100000 per second");
  }

  asio::io_context io;
  Network network;
  Records records;
  std::vector<std::shared_ptr<EventStream>> streams;
  if (Status s = Prepare(flags, common.value(), io, network, records, streams); !s.ok()) {
    return PrintError(kExitRuntime, s.error().message);
  }
  const size_t n = network.nodes.size();
  std::vector<std::shared_ptr<ApiConnection>> clients;
  for (const NodeRef& node : network.nodes) {
    clients.push_back(std::make_shared<ApiConnection>(io, Endpoint(node.api).value(), node.token));
  }

  Rng rng(common.value().seed);
  const auto period = std::chrono::nanoseconds(static_cast<int64_t>(1e9 / rate.value()));
  const auto start = SteadyClock::now();
  int64_t sent = 0, answered = 0;
  while (sent < broadcasts.value()) {
    const auto due = start + period * sent;
    RunUntil(
        io, [&] { return SteadyClock::now() >= due; }, std::chrono::seconds(3600));
    const int node = static_cast<int>(rng.Uniform(n));
    clients[static_cast<size_t>(node)]->Post(
        "/v1/messages",
        PublishBody(Payload(common.value().size, static_cast<uint64_t>(sent)),
                    common.value().priority),
        [&records, &answered, node](Result<json> result) {
          ++answered;
          RecordPublish(records, node, result);
        });
    ++sent;
  }
  RunUntil(
      io, [&] { return answered == sent; }, std::chrono::seconds(30));
  Drain(io, records, n - 1, std::chrono::milliseconds(2000), std::chrono::seconds(20));
  for (auto& s : streams) s->Close();
  for (auto& c : clients) c->Close();

  const Tally tally = Count(records, n);
  std::vector<int64_t> lat = tally.latencies_ns;
  const double p50 = Percentile(lat, 0.50), p99 = Percentile(lat, 0.99);
  const double max = lat.empty() ? 0 : static_cast<double>(lat.back());
  const double complete =
      records.published.empty()
          ? 0
          : static_cast<double>(tally.complete) / static_cast<double>(records.published.size());
  const double delivered =
      tally.expected == 0 ? 0
                          : static_cast<double>(tally.copies) / static_cast<double>(tally.expected);
  if (flags.json) {
    const json out = {{"mode", "latency"},
                      {"nodes", n},
                      {"broadcasts", sent},
                      {"published", records.published.size()},
                      {"publish_errors", records.publish_errors},
                      {"rate_per_s", rate.value()},
                      {"size_bytes", common.value().size},
                      {"deliveries", tally.copies},
                      {"deliveries_expected", tally.expected},
                      {"delivered_fraction", delivered},
                      {"complete_fraction", complete},
                      {"event_overflows", records.overflows},
                      {"latency_ms", {{"p50", p50 / 1e6}, {"p99", p99 / 1e6}, {"max", max / 1e6}}}};
    std::cout << out.dump() << "\n";
  } else {
    std::printf("latency: %zu nodes, %lld broadcasts of %zu B at %.0f/s from random nodes\n", n,
                static_cast<long long>(sent), common.value().size, rate.value());
    std::printf("  published        %zu (%llu errors%s%s)\n", records.published.size(),
                static_cast<unsigned long long>(records.publish_errors),
                records.first_publish_error.empty() ? "" : ", first: ",
                records.first_publish_error.c_str());
    std::printf("  deliveries       %llu of %llu expected (%.2f%%)\n",
                static_cast<unsigned long long>(tally.copies),
                static_cast<unsigned long long>(tally.expected), 100 * delivered);
    std::printf("  reached all      %llu of %zu broadcasts (%.2f%%)\n",
                static_cast<unsigned long long>(tally.complete), records.published.size(),
                100 * complete);
    std::printf("  latency p50      %s\n  latency p99      %s\n  latency max      %s\n",
                Ms(p50).c_str(), Ms(p99).c_str(), Ms(max).c_str());
    if (records.overflows > 0) {
      std::printf("  WARNING: %llu event streams overflowed (the bench fell behind)\n",
                  static_cast<unsigned long long>(records.overflows));
    }
  }
  return records.published.empty()
             ? PrintError(kExitRuntime, "no broadcast was accepted: " + records.first_publish_error)
             : kExitOk;
}

// ---- throughput ----

int RunThroughput(const BenchFlags& flags) {
  Result<Common> common = ParseCommon(flags);
  if (!common.ok()) return PrintError(kExitUsage, common.error().message);
  Result<double> seconds = ParseNumberFlag("--seconds", flags.seconds);
  if (!seconds.ok()) return PrintError(kExitUsage, seconds.error().message);
  if (!(seconds.value() > 0 && seconds.value() <= 3600)) {
    return PrintError(kExitUsage, "--seconds must be above 0 and at most 3600");
  }
  Result<int64_t> concurrency = ParseIntegerFlag("--concurrency", flags.concurrency, 1, 48);
  if (!concurrency.ok()) return PrintError(kExitUsage, concurrency.error().message);
  Result<int64_t> window = ParseIntegerFlag("--window", flags.window, 1, 1'000'000);
  if (!window.ok()) return PrintError(kExitUsage, window.error().message);

  asio::io_context io;
  Network network;
  Records records;
  std::vector<std::shared_ptr<EventStream>> streams;
  if (Status s = Prepare(flags, common.value(), io, network, records, streams); !s.ok()) {
    return PrintError(kExitRuntime, s.error().message);
  }
  const size_t n = network.nodes.size();
  const tcp::endpoint publisher = Endpoint(network.nodes[0].api).value();
  std::vector<std::shared_ptr<ApiConnection>> clients;
  for (int64_t i = 0; i < concurrency.value(); ++i) {
    clients.push_back(std::make_shared<ApiConnection>(io, publisher, network.nodes[0].token));
  }

  const uint64_t cpu_before = NetworkCpuUs(network);
  const uint64_t self_before = SelfCpuUs();
  const int64_t start_ns = UnixNowNs();
  const auto start = SteadyClock::now();
  const auto stop_at =
      start + std::chrono::nanoseconds(static_cast<int64_t>(seconds.value() * 1e9));
  records.publisher = 0;
  records.receivers = n - 1;
  uint64_t seq = 0;
  int64_t in_flight = 0;
  // Closed loop: a connection publishes only while fewer than `window` messages are on their way
  // (accepted or in flight, not yet at every node). Open loop would measure how fast the API
  // accepts, then how the nodes drop what their bounded queues cannot hold.
  std::vector<size_t> parked;
  std::function<void(size_t)> post = [&](size_t c) {
    if (SteadyClock::now() >= stop_at) return;
    if (static_cast<int64_t>(seq - records.complete) >= window.value()) {
      parked.push_back(c);
      return;
    }
    ++in_flight;
    clients[c]->Post("/v1/messages",
                     PublishBody(Payload(common.value().size, seq++), common.value().priority),
                     [&, c](Result<json> result) {
                       --in_flight;
                       const bool failed = !result.ok();
                       RecordPublish(records, 0, result);
                       if (!failed) post(c);
                     });
  };
  for (size_t c = 0; c < clients.size(); ++c) post(c);
  RunUntil(
      io,
      [&] {
        if (!parked.empty() && static_cast<int64_t>(seq - records.complete) < window.value()) {
          std::vector<size_t> resume;
          resume.swap(parked);
          for (const size_t c : resume) post(c);
        }
        return SteadyClock::now() >= stop_at && in_flight == 0;
      },
      std::chrono::nanoseconds(static_cast<int64_t>(seconds.value() * 1e9)) +
          std::chrono::seconds(30));
  const double publish_s = std::chrono::duration<double>(SteadyClock::now() - start).count();
  Drain(io, records, n - 1, std::chrono::milliseconds(2000), std::chrono::seconds(60));
  const uint64_t cpu_us = NetworkCpuUs(network) - cpu_before;
  const uint64_t self_us = SelfCpuUs() - self_before;
  for (auto& s : streams) s->Close();
  for (auto& c : clients) c->Close();

  const Tally tally = Count(records, n);
  const double window_s = tally.last_complete_ns > start_ns
                              ? static_cast<double>(tally.last_complete_ns - start_ns) / 1e9
                              : publish_s;
  const double accepted_per_s = static_cast<double>(records.published.size()) / publish_s;
  const double complete_per_s = static_cast<double>(tally.complete) / window_s;
  const double copies_per_s = static_cast<double>(tally.copies) / window_s;
  const double us_per_copy =
      tally.copies == 0 ? 0 : static_cast<double>(cpu_us) / static_cast<double>(tally.copies);
  const bool pids_known = network.nodes.front().pid > 0;
  std::vector<int64_t> lat = tally.latencies_ns;
  const double p50 = Percentile(lat, 0.5), p99 = Percentile(lat, 0.99);
  if (flags.json) {
    const json out = {{"mode", "throughput"},
                      {"nodes", n},
                      {"seconds", seconds.value()},
                      {"concurrency", concurrency.value()},
                      {"window", window.value()},
                      {"size_bytes", common.value().size},
                      {"published", records.published.size()},
                      {"publish_errors", records.publish_errors},
                      {"accepted_per_s", accepted_per_s},
                      {"complete", tally.complete},
                      {"complete_per_s", complete_per_s},
                      {"copies", tally.copies},
                      {"copies_expected", tally.expected},
                      {"copies_per_s", copies_per_s},
                      {"node_cpu_s", static_cast<double>(cpu_us) / 1e6},
                      {"node_cpu_us_per_copy", pids_known ? json(us_per_copy) : json(nullptr)},
                      {"bench_cpu_s", static_cast<double>(self_us) / 1e6},
                      {"event_overflows", records.overflows},
                      {"latency_ms", {{"p50", p50 / 1e6}, {"p99", p99 / 1e6}}}};
    std::cout << out.dump() << "\n";
  } else {
    std::printf("throughput: %zu nodes, one publisher (%s), %lld connections, %zu B, %.0f s\n", n,
                network.nodes[0].name.c_str(), static_cast<long long>(concurrency.value()),
                common.value().size, seconds.value());
    std::printf("  accepted by the API   %zu (%.0f/s, %llu errors%s%s)\n", records.published.size(),
                accepted_per_s, static_cast<unsigned long long>(records.publish_errors),
                records.first_publish_error.empty() ? "" : ", first: ",
                records.first_publish_error.c_str());
    std::printf("  reached every node    %llu (%.0f msg/s over %.2f s)\n",
                static_cast<unsigned long long>(tally.complete), complete_per_s, window_s);
    std::printf("  copies delivered      %llu of %llu (%.0f/s)\n",
                static_cast<unsigned long long>(tally.copies),
                static_cast<unsigned long long>(tally.expected), copies_per_s);
    if (pids_known) {
      std::printf("  node CPU              %.2f s total, %.1f us per delivered copy\n",
                  static_cast<double>(cpu_us) / 1e6, us_per_copy);
    }
    std::printf("  bench client CPU      %.2f s (shares the machine with the nodes)\n",
                static_cast<double>(self_us) / 1e6);
    std::printf("  latency p50 / p99     %s / %s\n", Ms(p50).c_str(), Ms(p99).c_str());
    if (records.overflows > 0) {
      std::printf("  WARNING: %llu event streams overflowed (the bench fell behind)\n",
                  static_cast<unsigned long long>(records.overflows));
    }
  }
  return records.published.empty()
             ? PrintError(kExitRuntime, "no message was accepted: " + records.first_publish_error)
             : kExitOk;
}

void AddCommonFlags(CLI::App& command, BenchFlags& flags, const std::string& nodes_default) {
  flags.nodes = nodes_default;
  command.add_option("--nodes", flags.nodes,
                     "Nodes to start on loopback, 2 to 1000 (default " + nodes_default + ")");
  command.add_option("--attach", flags.attach,
                     "Use the running network of this `myco up` directory (its network.json) "
                     "instead of starting one");
  command.add_option("--dir", flags.dir,
                     "Directory for the started network (default: a fresh "
                     "temporary one, removed afterwards)");
  command.add_option("--base-port", flags.base_port, "First port of the started network (7600)");
  command.add_option("--settle", flags.settle,
                     "Seconds to let a started network form before measuring (default 3)");
  command.add_option("--size", flags.size, "Payload bytes per message (default 256)");
  command.add_option("--priority", flags.priority, "Priority of the messages (default 0.5)");
  command.add_option("--seed", flags.seed, "Seed of the publishers' random choices (default 1)");
  command.add_flag("--json", flags.json, "Print one JSON object instead of the table");
}

}  // namespace

void AddBenchNetCommand(CLI::App& app, CommandAction& action) {
  CLI::App* bench = app.add_subcommand("bench", "Measure a real network of daemons");
  bench->require_subcommand(1);
  CLI::App* net = bench->add_subcommand("net", "Latency and throughput through the nodes' APIs");
  net->require_subcommand(1);

  CLI::App* latency = net->add_subcommand(
      "latency", "Broadcast latency (receiver's delivery time - publisher's accept time)");
  auto latency_flags = std::make_shared<BenchFlags>();
  AddCommonFlags(*latency, *latency_flags, "20");
  latency->add_option("--broadcasts", latency_flags->broadcasts,
                      "Broadcasts to publish, each from a random node (default 200)");
  latency->add_option("--rate", latency_flags->rate, "Broadcasts per second (default 50)");
  latency->callback([latency_flags, &action] {
    action = [latency_flags] { return RunLatency(*latency_flags); };
  });

  CLI::App* throughput = net->add_subcommand(
      "throughput", "Messages per second delivered to every node from one publisher, and CPU");
  auto throughput_flags = std::make_shared<BenchFlags>();
  AddCommonFlags(*throughput, *throughput_flags, "10");
  throughput->add_option("--seconds", throughput_flags->seconds,
                         "How long to publish (default 10)");
  throughput->add_option("--concurrency", throughput_flags->concurrency,
                         "Connections publishing at once, each one request at a time (default 8)");
  throughput->add_option("--window", throughput_flags->window,
                         "Messages allowed on their way (published, not yet at every node) before "
                         "the publisher waits (default 1000)");
  throughput->callback([throughput_flags, &action] {
    action = [throughput_flags] { return RunThroughput(*throughput_flags); };
  });
}

}  // namespace myco::cli
