// A tiny instant-delivery driver for exact tests of the core on a handful of nodes: every message
// is delivered at the current time, in send order; time advances only through Advance(). It is
// the simulator without latency, bandwidth or randomness, so tests can assert exact events.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/node.hpp"
#include "core/propagation/propagation.hpp"
#include "core/topology/membership.hpp"
#include "myco/identity.hpp"

namespace myco::testing {

class Harness {
 public:
  explicit Harness(uint64_t seed) : rng_(seed) {}

  size_t Add(const std::string& name, TopologyConfig config = {}) {
    NodeOptions options;
    options.topology = config;
    return Add(name, options, NodeInfo{});
  }

  // `info` supplies the node's type, capacities, specializations and interests; its id, name
  // and address are set here.
  size_t Add(const std::string& name, NodeOptions options, NodeInfo info) {
    std::array<uint8_t, 32> seed{};
    for (auto& b : seed) b = static_cast<uint8_t>(rng_.Next());
    auto identity = Identity::FromSeed(seed);
    EXPECT_TRUE(identity.ok());
    auto shared = std::make_shared<const Identity>(std::move(identity).value());
    info.id = shared->id();
    info.name = name;
    info.listen_addresses = {name};
    nodes_.emplace_back(shared, std::move(info), options, rng_.Fork());
    const size_t index = nodes_.size() - 1;
    by_address_[name] = index;
    by_id_[nodes_.back().id()] = index;
    events_.emplace_back();
    nodes_.back().Handle(now_, Tick{});
    Pump(index);
    return index;
  }

  Node& node(size_t i) { return nodes_[i]; }
  const std::vector<std::string>& events(size_t i) { return events_[i]; }
  std::vector<Message>& sent(size_t i) { return sent_[i]; }
  void Silence(size_t i) { silent_.insert(i); }

  Result<std::vector<PacketId>> Publish(size_t i, PublishRequest request) {
    auto result = nodes_[i].Publish(now_, std::move(request));
    Pump(i);
    Run();
    return result;
  }
  Result<std::string> Share(size_t i, const std::string& type, const std::string& json,
                            const std::vector<NodeId>& targets = {}) {
    auto result = nodes_[i].ShareKnowledge(now_, type, json, targets);
    Pump(i);
    Run();
    return result;
  }
  // Every app event but peer changes, per node, in order.
  const std::vector<AppEvent>& deliveries(size_t i) { return deliveries_[i]; }
  size_t DeliveredCount(size_t i, const PacketId& id) {
    size_t n = 0;
    for (const AppEvent& e : deliveries_[i]) {
      if (auto* d = std::get_if<InformationDelivered>(&e); d && d->packet->id == id) ++n;
    }
    return n;
  }
  // Rewrites messages from node `from` before delivery (to forge, tamper, replay).
  void SetTamper(std::function<void(size_t from, size_t to, Message&)> tamper) {
    tamper_ = std::move(tamper);
  }
  // Delivers `message` to `to` as if `from` had sent it now.
  void Inject(size_t from, size_t to, Message message) {
    queue_.push_back({to, Received{nodes_[from].id(), std::move(message)}});
    Run();
  }
  size_t size() const { return nodes_.size(); }
  TimePoint now() const { return now_; }

  void Command(size_t i, myco::Command cmd) {
    nodes_[i].Handle(now_, Input{cmd});
    Pump(i);
    Run();
  }

  // Advances time in steps of `step`, ticking every node whose deadline passed.
  void Advance(Duration total, Duration step = Milliseconds(100)) {
    const TimePoint end = now_ + total;
    while (now_ < end) {
      now_ += step;
      for (size_t i = 0; i < nodes_.size(); ++i) {
        if (silent_.count(i) == 0 && nodes_[i].NextDeadline() <= now_) {
          nodes_[i].Handle(now_, Tick{});
          Pump(i);
        }
      }
      Run();
    }
  }

  bool Active(size_t a, size_t b) {
    const Link* l = nodes_[a].membership().FindLink(nodes_[b].id());
    return l != nullptr && l->state == LinkState::kActive;
  }

 private:
  // Turns a node's effects into queued inputs for others.
  void Pump(size_t from) {
    auto& effects = nodes_[from].effects();
    for (Effect& e : effects) {
      if (auto* s = std::get_if<Send>(&e)) {
        sent_[from].push_back(s->message);
        const size_t to = by_id_.at(s->peer);
        if (s->report_written) {
          // Instant links write at once: report everything sent on this connection so far.
          queue_.push_back({from, Written{s->peer, ++written_[{from, to}]}});
        } else {
          ++written_[{from, to}];
        }
        if (silent_.count(from) || silent_.count(to) || !connected_.count(Key(from, to))) continue;
        if (tamper_) tamper_(from, to, s->message);
        queue_.push_back({to, Received{nodes_[from].id(), std::move(s->message)}});
      } else if (auto* d = std::get_if<Dial>(&e)) {
        auto it = by_address_.find(d->address);
        if (it == by_address_.end() || silent_.count(it->second) ||
            connected_.count(Key(from, it->second))) {
          queue_.push_back({from, DialFailed{d->address, "unreachable"}});
          continue;
        }
        connected_.insert(Key(from, it->second));
        written_[{from, it->second}] = 0;
        written_[{it->second, from}] = 0;
        queue_.push_back({from, LinkUp{nodes_[it->second].id(), d->address, true}});
        queue_.push_back({it->second, LinkUp{nodes_[from].id(), "ephemeral", false}});
      } else if (auto* c = std::get_if<Close>(&e)) {
        const size_t to = by_id_.at(c->peer);
        if (connected_.erase(Key(from, to)) && !silent_.count(to)) {
          queue_.push_back({to, LinkDown{nodes_[from].id(), "closed"}});
        }
      } else if (auto* v = std::get_if<Deliver>(&e)) {
        if (auto* up = std::get_if<PeerUp>(&v->event)) {
          events_[from].push_back("up " + Name(up->peer));
        } else if (auto* down = std::get_if<PeerDown>(&v->event)) {
          events_[from].push_back("down " + Name(down->peer));
        } else {
          deliveries_[from].push_back(v->event);
        }
      }
    }
    nodes_[from].ClearEffects();
  }

  void Run() {
    for (int guard = 0; !queue_.empty() && guard < 100000; ++guard) {
      auto [to, input] = std::move(queue_.front());
      queue_.pop_front();
      if (silent_.count(to)) continue;
      nodes_[to].Handle(now_, std::move(input));
      Pump(to);
    }
    ASSERT_TRUE(queue_.empty()) << "message storm";
  }

  std::string Name(const NodeId& id) { return nodes_[by_id_.at(id)].info().name; }
  static std::pair<size_t, size_t> Key(size_t a, size_t b) {
    return {std::min(a, b), std::max(a, b)};
  }

  Rng rng_;
  TimePoint now_{Seconds(1).ns};
  std::vector<Node> nodes_;
  std::map<std::string, size_t> by_address_;
  std::map<NodeId, size_t> by_id_;
  std::vector<std::vector<std::string>> events_;
  std::map<size_t, std::vector<Message>> sent_;
  std::set<size_t> silent_;
  std::set<std::pair<size_t, size_t>> connected_;
  std::map<std::pair<size_t, size_t>, uint64_t> written_;  // messages sent per direction
  std::map<size_t, std::vector<AppEvent>> deliveries_;
  std::function<void(size_t, size_t, Message&)> tamper_;
  std::deque<std::pair<size_t, Input>> queue_;
};

}  // namespace myco::testing
