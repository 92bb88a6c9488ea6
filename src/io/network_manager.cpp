// myco::NetworkManager: a Daemon on a background thread, with blocking, thread-safe calls that
// hand their work to the daemon's event loop (boost::asio::post) and wait for the answer.
#include "myco/network_manager.hpp"

#include <atomic>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <utility>

#include "core/topology/membership.hpp"
#include "io/config.hpp"
#include "io/daemon.hpp"
#include "io/node_host.hpp"

namespace myco {

namespace {

// A call the loop does not answer within this time failed (the loop is wedged or stopping).
constexpr auto kCallTimeout = std::chrono::seconds(30);

Result<NodeConfig> ToNodeConfig(const LocalConfig& local) {
  NodeConfig config;
  config.node_id = local.node_id;
  config.node_type = local.node_type;
  config.location.region = local.region;
  config.location.datacenter = local.datacenter;
  config.cpu_capacity = local.cpu_capacity;
  config.memory_capacity = local.memory_capacity;
  config.knowledge_capacity = local.knowledge_capacity;
  config.max_connections = local.max_connections;
  config.specializations = local.specializations;
  config.interests = local.interests;
  config.listen = local.listen;
  config.api = local.api;
  config.data_dir = local.data_dir;
  config.network_secret = local.network_secret;
  for (const std::string& hex : local.allowed_nodes) {
    auto id = NodeId::FromHex(hex);
    if (!id.ok()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "allowed_nodes: '" + hex + "' is not a NodeId: " + id.error().message);
    }
    config.allowed_nodes.push_back(*id);
  }
  if (Status s = ValidateNodeConfig(config); !s.ok()) return s.error();
  return config;
}

ReceivedInformation ToReceived(TimePoint at, const InformationDelivered& d) {
  ReceivedInformation r;
  r.packet_id = d.packet->id.ToString();
  r.type = d.packet->information_type;
  r.origin = d.packet->id.origin.Hex();
  r.payload_json = d.packet->payload;
  r.priority = d.packet->priority;
  r.hops = d.hops;
  r.created_at_ms = d.packet->created_at_ms;
  r.delivered_at_ns = at.ns;
  return r;
}

Error NotRunning() {
  return MakeError(ErrorCode::kUnavailable,
                   "the node is not running (call initialize(), or it was stopped)");
}

}  // namespace

struct NetworkManager::Impl {
  LocalConfig local;
  std::unique_ptr<Daemon> daemon;
  std::thread loop;
  std::thread::id loop_id;
  // Set by initialize, cleared by the loop thread when Run returns. Read without the lifecycle
  // lock: a callback on the loop thread must never wait for stop_network_operations.
  std::atomic<bool> running{false};
  std::mutex lifecycle;  // initialize / stop
  Status run_status;     // what Run returned (valid after join)

  std::mutex callbacks_mutex;
  std::function<void(const ReceivedInformation&)> on_information;
  std::function<void(const std::string&, bool)> on_peer_change;

  // Runs f() on the loop thread and returns its result.
  template <typename R, typename F>
  Result<R> Call(F&& f) {
    if (std::this_thread::get_id() == loop_id) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "a NetworkManager method was called from one of its own callbacks; post "
                       "the call to another thread");
    }
    if (!running) return NotRunning();
    auto promise = std::make_shared<std::promise<Result<R>>>();
    auto future = promise->get_future();
    boost::asio::post(daemon->io(),
                      [promise, fn = std::forward<F>(f)]() mutable { promise->set_value(fn()); });
    if (future.wait_for(kCallTimeout) != std::future_status::ready) {
      return MakeError(ErrorCode::kUnavailable, "the node did not answer within 30 s");
    }
    return future.get();
  }

  // Callbacks are copied out of the lock and called without it, so a callback may replace
  // itself or the other one.
  void OnEvent(TimePoint at, const AppEvent& event) {
    if (const auto* d = std::get_if<InformationDelivered>(&event)) {
      std::function<void(const ReceivedInformation&)> callback;
      {
        std::lock_guard lock(callbacks_mutex);
        callback = on_information;
      }
      if (callback) callback(ToReceived(at, *d));
      return;
    }
    const auto* up = std::get_if<PeerUp>(&event);
    const auto* down = std::get_if<PeerDown>(&event);
    if (up == nullptr && down == nullptr) return;
    std::function<void(const std::string&, bool)> callback;
    {
      std::lock_guard lock(callbacks_mutex);
      callback = on_peer_change;
    }
    if (callback) callback(up ? up->peer.Hex() : down->peer.Hex(), up != nullptr);
  }
};

NetworkManager::NetworkManager(LocalConfig config) : impl_(std::make_unique<Impl>()) {
  impl_->local = std::move(config);
}

NetworkManager::~NetworkManager() { (void)stop_network_operations(); }

Status NetworkManager::initialize() {
  std::lock_guard lock(impl_->lifecycle);
  if (impl_->running) return Status::Ok();
  if (impl_->daemon) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "this NetworkManager was stopped; create a new one to start again");
  }
  Result<NodeConfig> config = ToNodeConfig(impl_->local);
  if (!config.ok()) return config.error();
  DaemonOptions options;
  options.config = std::move(config).value();
  options.handle_signals = false;  // the embedding program owns its signals
  Result<std::unique_ptr<Daemon>> daemon = Daemon::Create(std::move(options));
  if (!daemon.ok()) return daemon.error();
  impl_->daemon = std::move(daemon).value();
  Impl* impl = impl_.get();
  // Subscribing before the loop runs: no event can be missed.
  impl->daemon->host().Subscribe(
      [impl](TimePoint at, const AppEvent& event) { impl->OnEvent(at, event); });
  std::promise<std::thread::id> started;
  auto started_future = started.get_future();
  impl->running = true;
  impl->loop = std::thread([impl, &started] {
    started.set_value(std::this_thread::get_id());
    impl->run_status = impl->daemon->Run();
    impl->running = false;
    // Answer calls posted while the loop was stopping (they see a stopped node) rather than
    // leaving their callers to time out.
    impl->daemon->io().restart();
    impl->daemon->io().poll();
  });
  impl->loop_id = started_future.get();
  return Status::Ok();
}

Status NetworkManager::connect_to_network(const std::vector<std::string>& peers,
                                          int64_t timeout_ms) {
  if (peers.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "connect_to_network: no peer addresses given");
  }
  for (const std::string& peer : peers) {
    if (auto hp = ParseHostPort(peer, /*allow_port_zero=*/false); !hp.ok()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "connect_to_network: '" + peer + "': " + hp.error().message);
    }
  }
  Daemon* daemon = impl_->daemon.get();
  auto joined = impl_->Call<bool>([daemon, peers]() -> Result<bool> {
    daemon->host().Connect(peers);
    return true;
  });
  if (!joined.ok()) return joined.error();
  // Wait for the first active neighbour: the join walk and the neighbour handshake take a few
  // round trips.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    auto active = impl_->Call<size_t>(
        [daemon]() -> Result<size_t> { return daemon->host().node().membership().ActiveCount(); });
    if (!active.ok()) return active.error();
    if (*active > 0) return Status::Ok();
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return MakeError(ErrorCode::kUnavailable, "connect_to_network: no neighbour within " +
                                                std::to_string(timeout_ms) +
                                                " ms (the node keeps trying in the background)");
}

Status NetworkManager::start_network_operations() {
  if (!impl_->running) return NotRunning();
  return Status::Ok();
}

Status NetworkManager::stop_network_operations() {
  if (std::this_thread::get_id() == impl_->loop_id) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "stop_network_operations was called from a callback; call it from another "
                     "thread");
  }
  std::lock_guard lock(impl_->lifecycle);
  if (!impl_->loop.joinable()) return Status::Ok();
  impl_->daemon->Stop();
  impl_->loop.join();
  return impl_->run_status;
}

Result<std::string> NetworkManager::share_knowledge_discovery(
    const std::string& discovery_type, const std::string& knowledge_json,
    const std::vector<std::string>& target_nodes) {
  std::vector<NodeId> targets;
  for (const std::string& hex : target_nodes) {
    auto id = NodeId::FromHex(hex);
    if (!id.ok()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "target_nodes: '" + hex + "': " + id.error().message);
    }
    targets.push_back(*id);
  }
  Daemon* daemon = impl_->daemon.get();
  return impl_->Call<std::string>([daemon, discovery_type, knowledge_json, targets] {
    return daemon->host().ShareKnowledge(discovery_type, knowledge_json, targets);
  });
}

Result<std::vector<std::string>> NetworkManager::propagate_information(
    const Information& information) {
  PublishRequest request;
  request.information_type = information.type;
  request.payload = information.payload_json;
  request.priority = information.priority;
  if (information.ttl != 0) request.ttl = information.ttl;
  for (const std::string& hex : information.destination_nodes) {
    auto id = NodeId::FromHex(hex);
    if (!id.ok()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "destination_nodes: '" + hex + "': " + id.error().message);
    }
    request.destinations.push_back(*id);
  }
  if (information.follow_gradient) {
    request.rules.follow_gradient = true;
    if (!information.gradient_resource.empty()) {
      auto resource = ParseResourceType(information.gradient_resource);
      if (!resource.ok()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "gradient_resource: " + resource.error().message);
      }
      request.rules.resource = *resource;
    }
  }
  Daemon* daemon = impl_->daemon.get();
  return impl_->Call<std::vector<std::string>>(
      [daemon, request = std::move(request)]() mutable -> Result<std::vector<std::string>> {
        auto ids = daemon->host().Publish(std::move(request));
        if (!ids.ok()) return ids.error();
        std::vector<std::string> out;
        for (const PacketId& id : *ids) out.push_back(id.ToString());
        return out;
      });
}

Result<NetworkStatus> NetworkManager::get_network_status() {
  Daemon* daemon = impl_->daemon.get();
  return impl_->Call<NetworkStatus>([daemon]() -> Result<NetworkStatus> {
    NodeHost& host = daemon->host();
    const TopologyStatus t = host.node().Status(host.Now());
    NetworkStatus s;
    s.local_node_id = t.local_node_id.Hex();
    s.local_name = t.local_name;
    s.network_size = t.network_size_estimate;
    s.active_connections = t.active_connections;
    s.passive_peers = t.passive_peers;
    s.connection_health_avg = t.connection_health_avg;
    s.listen_address = daemon->listen_address();
    s.api_address = daemon->api_address();
    return s;
  });
}

void NetworkManager::on_information(std::function<void(const ReceivedInformation&)> callback) {
  std::lock_guard lock(impl_->callbacks_mutex);
  impl_->on_information = std::move(callback);
}

void NetworkManager::on_peer_change(std::function<void(const std::string&, bool)> callback) {
  std::lock_guard lock(impl_->callbacks_mutex);
  impl_->on_peer_change = std::move(callback);
}

}  // namespace myco
