// NodeHost: the one place where the real daemon runs the sans-IO core. It owns the `Node`, reads
// the clock, feeds inputs, and carries out the core's effects: Send/Dial/Close go to a LinkDriver
// (the TLS transport; null in API tests, where they are counted and dropped), Deliver goes to
// every subscriber (the HTTP API's event stream, NetworkManager callbacks, metrics).
//
// Threading: everything runs on the daemon's single asio event loop, so NodeHost needs no locks.
// REQUIRES: external synchronization (call it from one thread only).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/node.hpp"
#include "core/propagation/propagation.hpp"
#include "myco/result.hpp"
#include "myco/time.hpp"

namespace myco {

// What the transport offers the host. Calls never block; a Send to a peer without a connection
// is dropped (the core hears of it by LinkDown).
class LinkDriver {
 public:
  virtual ~LinkDriver() = default;
  virtual void Send(const NodeId& peer, const Message& message, bool report_written) = 0;
  virtual void Dial(const std::string& address, const NodeId& expected) = 0;
  virtual void Close(const NodeId& peer) = 0;
};

// The daemon's clock: Unix time in ns (system clock), so delivery timestamps of different
// processes on one machine can be compared. Tests inject a manual clock.
using Clock = std::function<TimePoint()>;
TimePoint SystemClock();

// Counters the host keeps for /metrics and get_network_status. Monotonic.
struct HostCounters {
  uint64_t published = 0;        // packets this node originated
  uint64_t delivered = 0;        // InformationDelivered events
  uint64_t acked = 0;            // DeliveryAcked
  uint64_t delivery_failed = 0;  // DeliveryFailed
  uint64_t discoveries = 0;      // DiscoveryAnswered
  uint64_t peer_up = 0;
  uint64_t peer_down = 0;
  uint64_t sends = 0;            // Send effects handed to the driver
  uint64_t sends_no_driver = 0;  // Send effects dropped because no driver is attached
  uint64_t dials = 0;
  uint64_t closes = 0;
};

class NodeHost {
 public:
  NodeHost(Node node, Clock clock);
  NodeHost(const NodeHost&) = delete;
  NodeHost& operator=(const NodeHost&) = delete;

  // The driver may be attached after construction and detached (null) before it is destroyed.
  void SetLinkDriver(LinkDriver* driver) { driver_ = driver; }
  // Called whenever a call into the core (Feed, Tick, Publish, ShareKnowledge, Connect, Leave)
  // has run its effects, so the daemon re-arms its tick timer from NextDeadline() even when the
  // call came from the API rather than from the daemon itself.
  void SetAfterEffects(std::function<void()> hook) { after_effects_ = std::move(hook); }

  // Feeds one input at Now() and carries out the effects.
  void Feed(Input input);
  // Tick at Now(); the daemon's timer calls this at NextDeadline().
  void Tick() { Feed(myco::Tick{}); }

  // propagate_information / share_knowledge_discovery / connect_to_network / stop.
  Result<std::vector<PacketId>> Publish(PublishRequest request);
  Result<std::string> ShareKnowledge(const std::string& discovery_type,
                                     const std::string& knowledge_json,
                                     const std::vector<NodeId>& targets);
  void Connect(std::vector<std::string> addresses);
  void Leave();

  TimePoint Now() const { return clock_(); }
  TimePoint NextDeadline() const { return node_.NextDeadline(); }
  const Node& node() const { return node_; }
  const HostCounters& counters() const { return counters_; }

  // Subscribers see every AppEvent with the local time it happened. A listener may not call
  // Subscribe/Unsubscribe or feed the host from inside the callback; it may post work to do so.
  using Listener = std::function<void(TimePoint at, const AppEvent& event)>;
  uint64_t Subscribe(Listener listener);
  void Unsubscribe(uint64_t token);

 private:
  void RunEffects();

  Node node_;
  Clock clock_;
  LinkDriver* driver_ = nullptr;
  std::function<void()> after_effects_;
  HostCounters counters_;
  std::map<uint64_t, Listener> listeners_;
  uint64_t next_token_ = 1;
  bool running_effects_ = false;
};

}  // namespace myco
